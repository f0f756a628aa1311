"""PubMed/MEDLINE XML as NLM ships it: baseline and update files, and efetch output.

A file is a ``PubmedArticleSet`` of ``PubmedArticle`` (and ``PubmedBookArticle``)
records, plus, in update files, ``DeleteCitation`` elements listing retracted
PMIDs. Each record becomes a :class:`Document`: PMID (and ``Version``), title,
abstract (structured abstracts keep each ``AbstractText``'s ``Label`` and
``NlmCategory`` as a :class:`Section`), MeSH descriptor names and UIs, and publication
year. Records are parsed one by one (see :mod:`ctk.kg.sources.xml_records`), so a
malformed record is skipped and reported with its file and line, and the rest is read.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from lxml import etree

from ctk.kg.sources.base import SourceFormat
from ctk.kg.sources.document import Deletion, Document, Section
from ctk.kg.sources.xml_records import RawRecord, XmlRecordSplitter
from ctk.report import ProblemReport

__all__ = ["PubMedFormat", "parse_pubmed_record"]

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_SPACES = re.compile(r"\s+")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, recover=False)


_PARSER = _parser()


def _text(el: etree._Element | None) -> str:
    """All text inside an element (inline markup such as <i> or <sup> flattened)."""
    if el is None:
        return ""
    text = (el.text or "") if len(el) == 0 else "".join(el.itertext())
    if "  " in text or "\n" in text or "\t" in text:
        text = _SPACES.sub(" ", text)
    return text.strip()


_JOURNAL_YEAR = etree.XPath("MedlineCitation/Article/Journal/JournalIssue/PubDate/Year/text()")
# compiled XPath: about twice as fast as ``iterfind`` with the same path (same order)
_DESCRIPTORS = etree.XPath("MedlineCitation/MeshHeadingList/MeshHeading/DescriptorName")


def _child(el: etree._Element, *tags: str) -> etree._Element | None:
    """``el.find("A/B/C")`` for plain tag names, walked in C (``iterchildren``).

    The first match in document order, as ``find`` gives it, without the cost of
    lxml's Python-level path engine (a hot path: several lookups per record).
    """
    if not tags:
        return el
    for child in el.iterchildren(tags[0]):
        found = _child(child, *tags[1:])
        if found is not None:
            return found
    return None


def _year(root: etree._Element) -> int | None:
    found = _JOURNAL_YEAR(root)
    if isinstance(found, list) and found and str(found[0]).strip().isdigit():
        return int(str(found[0]).strip())
    for path in (
        "MedlineCitation/Article/Journal/JournalIssue/PubDate/Year",
        "MedlineCitation/Article/Journal/JournalIssue/PubDate/MedlineDate",
        ".//Book/PubDate/Year",
        ".//Article/ArticleDate/Year",
        ".//DateCompleted/Year",
        ".//PubmedData/History/PubMedPubDate[@PubStatus='pubmed']/Year",
    ):
        el = root.find(path)
        if el is not None and el.text:
            m = _YEAR.search(el.text)
            if m:
                return int(m.group(1))
    return None


def _descriptors(root: etree._Element) -> list[etree._Element]:
    """The ``MedlineCitation/MeshHeadingList/MeshHeading/DescriptorName`` elements, in order."""
    found = _DESCRIPTORS(root)
    assert isinstance(found, list)
    return [d for d in found if isinstance(d, etree._Element)]


def parse_pubmed_record(record: RawRecord, report: ProblemReport) -> list[Document | Deletion]:
    """Read one ``PubmedArticle``, ``PubmedBookArticle`` or ``DeleteCitation``.

    Args:
        record: The record's bytes and position.
        report: Where a malformed record is reported (and then skipped).

    Returns:
        One document, the deletions of a ``DeleteCitation``, or nothing when malformed.
    """
    try:
        root = etree.fromstring(record.data, _PARSER)
    except etree.XMLSyntaxError as e:
        report.add("malformed PubMed record", record.path, record.position, str(e))
        return []
    tag = root.tag
    if tag == "DeleteCitation":
        return [
            Deletion(source="pubmed", doc_id=el.text.strip(), position=record.position)
            for el in root.iter("PMID")
            if el.text and el.text.strip()
        ]
    pmid_el = _child(root, "MedlineCitation", "PMID")
    if pmid_el is None:
        pmid_el = root.find(".//PMID")
    pmid = (pmid_el.text or "").strip() if pmid_el is not None else ""
    if not pmid.isdigit():
        report.add("PubMed record without a PMID", record.path, record.position)
        return []
    version_attr = pmid_el.get("Version") if pmid_el is not None else None
    version = int(version_attr) if version_attr and version_attr.isdigit() else None
    article = _child(root, "MedlineCitation", "Article")
    if article is None:
        article = root
    title_el = _child(article, "ArticleTitle")
    if title_el is None:
        title_el = article.find(".//ArticleTitle")
    title = _text(title_el) or _text(article.find(".//BookTitle"))
    sections: list[Section] = []
    abstract = _child(article, "Abstract")
    if abstract is None:
        abstract = article.find(".//Abstract")
    if abstract is not None:
        for part in abstract.iter("AbstractText"):
            body = _text(part)
            if body:
                # model_construct: the fields are built here from str values, so the
                # validation pydantic would repeat is skipped (a hot path)
                sections.append(
                    Section.model_construct(
                        label=part.get("Label") or "",
                        category=part.get("NlmCategory"),
                        text=body,
                    )
                )
    mesh: list[str] = []
    mesh_ids: list[str] = []
    for d in _descriptors(root):
        heading = (d.text or "").strip()
        if heading:
            mesh.append(heading)
            mesh_ids.append(d.get("UI") or "")
    return [
        Document.model_construct(
            source="pubmed",
            doc_id=pmid,
            title=title,
            text=" ".join(s.text for s in sections),
            sections=sections if any(s.label for s in sections) or len(sections) > 1 else [],
            year=_year(root),
            mesh_terms=mesh,
            mesh_ids=mesh_ids if any(mesh_ids) else [],
            version=version,
            position=record.position,
        )
    ]


class PubMedFormat(SourceFormat):
    """``pubmed:PATH``: NLM PubMed XML (baseline, update or efetch), plain, .gz or .bz2."""

    name: ClassVar[str] = "pubmed"
    suffixes: ClassVar[tuple[str, ...]] = (".xml",)

    def records(self, path: Path, report: ProblemReport) -> Iterator[RawRecord]:
        """Yield the raw ``PubmedArticle``/``DeleteCitation`` records of one file."""
        return iter(XmlRecordSplitter(path, _RECORD_TAGS, report))

    def parse(
        self, record: RawRecord, report: ProblemReport, skipped: Counter[str]
    ) -> list[Document | Deletion]:
        """Read one record (see :func:`parse_pubmed_record`)."""
        docs = parse_pubmed_record(record, report)
        for d in docs:
            if isinstance(d, Document) and not d.text and not d.title:
                skipped["pubmed: no title or abstract"] += 1
        return [d for d in docs if isinstance(d, Deletion) or d.text or d.title]
