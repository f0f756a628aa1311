"""Wikipedia XML dumps (MediaWiki export, ``pages-articles``) as plain-text documents.

Each ``page`` record is read on its own: pages outside the article namespace
(``ns`` other than 0: Talk, User, Wikipedia, File, Template, Category...) and
redirects are skipped (counted, not reported as problems). The wikitext becomes
plain text with ``mwparserfromhell``: templates, references, comments, tables'
markup and file/category links removed, links replaced by their text. Headings
split the page into sections; reference-like sections (References, External links,
See also...) are dropped.

An optional filter keeps medical pages only: a page is kept when one of its
categories contains one of ``categories`` (case-insensitive substrings; the word
``medical`` stands for :data:`MEDICAL_CATEGORY_WORDS`) or its title matches
``title_pattern``.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

import mwparserfromhell
from lxml import etree

from ctk.kg.sources.base import SourceFormat
from ctk.kg.sources.document import Deletion, Document, Section
from ctk.kg.sources.xml_records import RawRecord, XmlRecordSplitter
from ctk.report import ProblemReport

__all__ = ["MEDICAL_CATEGORY_WORDS", "WikipediaFormat", "categories_of", "wikitext_to_text"]

#: Category-name fragments that mark a medical page (the ``medical`` preset).
MEDICAL_CATEGORY_WORDS: tuple[str, ...] = (
    "disease",
    "disorder",
    "syndrome",
    "medical",
    "medicine",
    "symptom",
    "sign",
    "infection",
    "cardiology",
    "pulmonology",
    "nephrology",
    "hepatology",
    "gastroenterology",
    "endocrinology",
    "neurology",
    "oncology",
    "intensive care",
    "emergency medicine",
    "clinical",
    "drug",
    "pharmac",
    "diuretic",
    "antibiotic",
    "blood test",
    "laboratory",
    "pathology",
    "injur",
    "electrolyte",
    "arrhythmia",
    "cardiac",
    "cardiovascular",
    "heart",
    "respiratory",
    "pulmonary",
    "lung",
    "kidney",
    "renal",
    "liver",
    "hepat",
    "diabetes",
    "sepsis",
    "emergenc",
    "essential medicines",
)

_DROP_SECTIONS = {
    "references",
    "external links",
    "see also",
    "further reading",
    "notes",
    "sources",
    "bibliography",
    "footnotes",
    "citations",
}
_HEADING = re.compile(r"^(={2,6})\s*(.+?)\s*\1\s*$", re.MULTILINE)
_REF = re.compile(r"<ref\b[^>/]*/>|<ref\b[^>]*>.*?</ref\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CATEGORY = re.compile(r"\[\[\s*Category\s*:\s*([^|\]]+)", re.IGNORECASE)
_NON_TEXT_LINK = re.compile(r"^\s*(file|image|category|media)\s*:", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n\s*\n+")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def categories_of(wikitext: str) -> list[str]:
    """Category names of a page (``[[Category:Heart diseases]]`` -> ``Heart diseases``)."""
    return [c.strip() for c in _CATEGORY.findall(wikitext)]


def wikitext_to_text(wikitext: str) -> str:
    """Plain text of a piece of wikitext.

    Args:
        wikitext: MediaWiki markup.

    Returns:
        The readable text: templates, references, comments, file and category links
        and markup removed; ``[[a|b]]`` becomes ``b``.
    """
    cleaned = _COMMENT.sub("", _REF.sub("", wikitext))
    code = mwparserfromhell.parse(cleaned)
    for link in code.filter_wikilinks(recursive=False):
        if _NON_TEXT_LINK.match(str(link.title)):
            with contextlib.suppress(ValueError):  # already removed with a parent
                code.remove(link)
    for tag in code.filter_tags(recursive=False):
        if str(tag.tag).strip().lower() in {"table", "gallery", "math", "timeline", "score"}:
            with contextlib.suppress(ValueError):
                code.remove(tag)
    text = code.strip_code(normalize=True, collapse=True)
    text = re.sub(r"\{\|.*?\|\}", " ", text, flags=re.DOTALL)  # tables left as markup
    lines = [_SPACES.sub(" ", ln).strip() for ln in text.splitlines()]
    lines = [ln.lstrip("*#:; ") for ln in lines]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _sections(wikitext: str) -> list[Section]:
    parts: list[Section] = []
    label = ""
    pos = 0
    skip = False
    for m in _HEADING.finditer(wikitext):
        if not skip:
            body = wikitext_to_text(wikitext[pos : m.start()])
            if body:
                parts.append(Section(label=label, text=body))
        label = wikitext_to_text(m.group(2)) or m.group(2)
        skip = label.strip().lower() in _DROP_SECTIONS
        pos = m.end()
    if not skip:
        body = wikitext_to_text(wikitext[pos:])
        if body:
            parts.append(Section(label=label, text=body))
    return parts


def _local(tag: object) -> str:
    name = str(tag)
    return name.rsplit("}", 1)[-1]


class WikipediaFormat(SourceFormat):
    """``wikipedia:PATH``: a MediaWiki XML export (``pages-articles``), plain, .gz or .bz2.

    Args:
        categories: Keep pages with a category containing one of these (case-insensitive);
            ``"medical"`` expands to :data:`MEDICAL_CATEGORY_WORDS`. None: no category filter.
        title_pattern: Keep pages whose title matches this regular expression.
    """

    name: ClassVar[str] = "wikipedia"
    suffixes: ClassVar[tuple[str, ...]] = (".xml",)

    def __init__(
        self, categories: Sequence[str] | None = None, title_pattern: str | None = None
    ) -> None:
        words: list[str] = []
        for c in categories or ():
            if c.lower() == "medical":
                words.extend(MEDICAL_CATEGORY_WORDS)
            else:
                words.append(c.lower())
        self.category_words = tuple(words)
        self.title_pattern = title_pattern
        self._title_re = re.compile(title_pattern, re.IGNORECASE) if title_pattern else None

    def __getstate__(self) -> dict[str, object]:
        return {"category_words": self.category_words, "title_pattern": self.title_pattern}

    def __setstate__(self, state: dict[str, object]) -> None:
        words = state["category_words"]
        self.category_words = tuple(str(w) for w in words) if isinstance(words, tuple) else ()
        pattern = state["title_pattern"]
        self.title_pattern = pattern if isinstance(pattern, str) else None
        self._title_re = (
            re.compile(self.title_pattern, re.IGNORECASE) if self.title_pattern else None
        )

    @property
    def filtering(self) -> bool:
        """Whether a category or title filter is set."""
        return bool(self.category_words) or self._title_re is not None

    def keeps(self, title: str, categories: Sequence[str]) -> bool:
        """Whether the filter keeps a page with this title and these categories."""
        if not self.filtering:
            return True
        if self._title_re is not None and self._title_re.search(title):
            return True
        lowered = [c.lower() for c in categories]
        return any(w in c for c in lowered for w in self.category_words)

    def records(self, path: Path, report: ProblemReport) -> Iterator[RawRecord]:
        """Yield the raw ``page`` records of one dump file."""
        return iter(XmlRecordSplitter(path, ("page",), report))

    def parse(
        self, record: RawRecord, report: ProblemReport, skipped: Counter[str]
    ) -> list[Document | Deletion]:
        """Read one page: skipped when not an article, a redirect, or filtered out."""
        try:
            page = etree.fromstring(record.data, _PARSER)
        except etree.XMLSyntaxError as e:
            report.add("malformed Wikipedia page", record.path, record.position, str(e))
            return []
        fields: dict[str, etree._Element] = {}
        for el in page.iter():
            name = _local(el.tag)
            if name not in fields:
                fields[name] = el
        title_el = fields.get("title")
        title = (title_el.text or "").strip() if title_el is not None else ""
        if not title:
            report.add("Wikipedia page without a title", record.path, record.position)
            return []
        ns_el = fields.get("ns")
        ns = (ns_el.text or "").strip() if ns_el is not None else ""
        if ns not in ("", "0") or (not ns and ":" in title.split(" ", 1)[0]):
            skipped["wikipedia: non-article namespace"] += 1
            return []
        if "redirect" in fields:
            skipped["wikipedia: redirect"] += 1
            return []
        text_el = fields.get("text")
        wikitext = (text_el.text or "") if text_el is not None else ""
        if re.match(r"\s*#redirect", wikitext, re.IGNORECASE):
            skipped["wikipedia: redirect"] += 1
            return []
        if not self.keeps(title, categories_of(wikitext)):
            skipped["wikipedia: filtered out"] += 1
            return []
        try:
            sections = _sections(wikitext)
        except Exception as e:  # mwparserfromhell may fail on pathological markup
            report.add("unreadable wikitext", record.path, record.position, repr(e)[:200])
            return []
        year = None
        ts = fields.get("timestamp")
        if ts is not None and ts.text and ts.text[:4].isdigit():
            year = int(ts.text[:4])
        page_id = fields.get("id")
        position = record.position
        if page_id is not None and page_id.text:
            position += f", page id {page_id.text.strip()}"
        return [
            Document(
                source="wikipedia",
                doc_id=title,
                title=title,
                text="\n\n".join(s.text for s in sections),
                sections=sections,
                year=year,
                position=position,
            )
        ]
