"""Duplicate articles count once across chunks, files and resumed builds, on both stores.

The fixtures (``tests/fixtures/kg/pubmed_duplicates_*.xml``, written for these
tests) hold seven PubMed records in two files:

* 91000001 (file a) and 91000011 (file b): the same title and abstract under two
  PMIDs (case and spacing differ): one article;
* 91000001 again in file b, as a revised record (``Version="2"``): the same article;
* 91000002 (a) and 91000012 (b): the same title, no abstract: two articles;
* 91000013 (b): 91000001's title with another abstract: another article;
* 91000003 (a): an unrelated article.

So five articles: the sepsis / acute kidney injury pair is seen in two
(91000001 and 91000013), heart failure / dyspnea in two (the title-only records).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctk.errors import StoreWriteError
from ctk.kg.build import BuildProgress, BuildSummary, build_graph
from ctk.kg.extraction import CooccurrenceCounter
from ctk.kg.extraction.cooccurrence import DUPLICATE_NOTE
from ctk.kg.sources.document import Document
from ctk.kg.stores import GraphStore, open_store
from ctk.kg.stores.base import ChunkApplied, CountedDocument, GraphDelta, without_duplicates
from ctk.plugins.extractors import DictionaryExtractor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kg"
SOURCES = [
    f"pubmed:{FIXTURES / 'pubmed_duplicates_a.xml'}",
    f"pubmed:{FIXTURES / 'pubmed_duplicates_b.xml'}",
]
SEPSIS, AKI, HF, DYSP = (
    "ctk:sepsis",
    "ctk:acute_renal_failure",
    "ctk:congestive_heart_failure",
    "ctk:dyspnea",
)
NOTE = f"pubmed: {DUPLICATE_NOTE}"


@pytest.fixture(scope="module")
def ex() -> DictionaryExtractor:
    return DictionaryExtractor()


# --------------------------------------------------------------------------- the delta


def _doc(pmid: str, title: str, abstract: str = "") -> Document:
    return Document(source="pubmed", doc_id=pmid, title=title, text=abstract)


AKI_TEXT = "Sepsis causes acute kidney injury in the elderly. Hypotension predicted dialysis."
DOCS = [
    _doc("1", "Acute kidney injury in sepsis.", AKI_TEXT),
    _doc("2", "Heart failure with dyspnea."),
    _doc("3", "Acute kidney injury in sepsis.", "Sepsis was followed by acute kidney injury."),
    _doc("4", "Pneumonia in adults.", "Pneumonia presents with fever and cough."),
]


def _delta(ex: DictionaryExtractor, docs: list[Document], max_evidence: int = 5) -> GraphDelta:
    counter = CooccurrenceCounter(ex, max_evidence=max_evidence)
    counter.add(docs)
    return counter.delta()


def _comparable(delta: GraphDelta) -> dict[str, Any]:
    out = delta.model_dump()
    out["counted"] = [{**d, "evidence": [tuple(e) for e in d["evidence"]]} for d in out["counted"]]
    return out


def test_the_delta_lists_what_each_keyed_document_added(ex: DictionaryExtractor) -> None:
    delta = _delta(ex, DOCS)
    # the title-only record has no content key, so it is not listed
    assert [d.doc_id for d in delta.counted] == ["1", "3", "4"]
    assert len({d.key for d in delta.counted}) == 3
    one = delta.counted[0]
    assert {delta.concepts[i].id for i in one.concepts} >= {SEPSIS, AKI}
    assert one.sentences == 3  # the title and two abstract sentences
    pair = next(
        i
        for i, r in enumerate(delta.relations)
        if (r.source_id, r.type, r.target_id) == (AKI, "associated_with", SEPSIS)
    )
    assert pair in one.relations
    assert (pair, 0) in one.evidence and delta.relations[pair].evidence[0].document_id == "1"


def test_without_duplicates_equals_a_delta_that_never_saw_the_copy(
    ex: DictionaryExtractor,
) -> None:
    full = _delta(ex, DOCS)
    first = full.counted[0]
    reduced, dropped = without_duplicates(full, {first.key})
    assert [d.doc_id for d in dropped] == ["1"]
    # exactly the delta of the chunk without document 1 (indexes included)
    assert _comparable(reduced) == _comparable(_delta(ex, [DOCS[1], DOCS[2], DOCS[3]]))
    # nothing stored: the same object back
    assert without_duplicates(full, set()) == (full, [])


def test_a_key_repeated_within_one_delta_is_dropped_too(ex: DictionaryExtractor) -> None:
    delta = _delta(ex, [DOCS[0]])
    # a delta that counted document 1 twice (its evidence sentence after the first's)
    first = delta.counted[0]
    copy = first.model_copy(
        update={"doc_id": "1b", "evidence": [(r, e + 1) for r, e in first.evidence]}
    )
    doubled = delta.model_copy(
        update={
            "concepts": [c.model_copy(update={"mentions": 2 * c.mentions}) for c in delta.concepts],
            "relations": [
                r.model_copy(update={"count": 2 * r.count, "evidence": 2 * r.evidence})
                for r in delta.relations
            ],
            "documents": 2,
            "sentences": 2 * delta.sentences,
            "counted": [delta.counted[0], copy],
        }
    )
    reduced, dropped = without_duplicates(doubled, set())
    assert [d.doc_id for d in dropped] == ["1b"]
    assert _comparable(reduced) == _comparable(delta)


def test_a_counted_document_that_names_too_much_is_refused(ex: DictionaryExtractor) -> None:
    delta = _delta(ex, [DOCS[0]])
    bad = delta.counted[0].model_copy(update={"relations": [len(delta.relations) + 3]})
    with pytest.raises(ValueError, match="not in the delta"):
        without_duplicates(delta.model_copy(update={"counted": [bad]}), {bad.key})
    twice = delta.counted[0].model_copy(update={"concepts": delta.counted[0].concepts * 2})
    with pytest.raises(ValueError, match="more than the delta holds"):
        without_duplicates(delta.model_copy(update={"counted": [twice]}), {twice.key})


# --------------------------------------------------------------------------- the stores


@pytest.fixture
def fresh(request: pytest.FixtureRequest, store: GraphStore, tmp_path: Path) -> Iterator[Any]:
    """Makes a second empty store of the same kind (Neo4j: the same database, cleared)."""

    def make() -> GraphStore:
        if store.__class__.__name__ == "EmbeddedStore":
            return open_store(str(tmp_path / f"other-{len(list(tmp_path.iterdir()))}.db"))
        store.clear()
        return store

    yield make


def _build(store: GraphStore, ex: DictionaryExtractor, **kw: Any) -> BuildSummary:
    return build_graph(SOURCES, store, extractor=ex, workers=1, chunk_docs=1, **kw)


def _snapshot(store: GraphStore) -> tuple[Any, ...]:
    concepts = sorted((c.id, c.mentions) for c in store.iter_concepts())
    relations = sorted(
        (
            r.id,
            r.count,
            round(r.weight, 9),
            tuple(sorted((e.document_id, e.sentence) for e in r.evidence)),
        )
        for r in store.iter_relations()
    )
    s = store.stats()
    return concepts, relations, s.documents, s.sentences


def _edge(store: GraphStore, a: str, b: str) -> Any:
    return next(
        r
        for r in store.iter_relations()
        if r.type == "associated_with" and {r.source_id, r.target_id} == {a, b}
    )


def test_the_same_article_in_two_chunks_counts_once(
    store: GraphStore, ex: DictionaryExtractor
) -> None:
    summary = _build(store, ex)
    assert summary.chunks_applied == 7
    assert summary.skipped[NOTE] == 2  # 91000011 and the revised 91000001
    assert summary.documents == 5
    assert store.stats().documents == 5
    mentions = {c.id: c.mentions for c in store.iter_concepts()}
    assert mentions[SEPSIS] == 2 and mentions[AKI] == 2  # 91000001 and 91000013
    aki = _edge(store, SEPSIS, AKI)
    assert aki.count == 2
    # the first copy applied wins: its PMID is the evidence, the copies' are not
    assert sorted({e.document_id for e in aki.evidence}) == ["91000001", "91000013"]
    # two title-only records with the same title are two articles
    assert mentions[HF] == 2 and _edge(store, HF, DYSP).count == 2


def test_one_chunk_per_file_counts_the_same(
    store: GraphStore, ex: DictionaryExtractor, fresh: Any
) -> None:
    small = _build(store, ex)
    expected = _snapshot(store)
    other = fresh()
    try:
        big = build_graph(SOURCES, other, extractor=ex, workers=1, chunk_docs=1000)
        assert big.skipped[NOTE] == small.skipped[NOTE] == 2
        assert big.documents == 5
        assert _snapshot(other) == expected
    finally:
        if other is not store:
            other.close()


def test_an_interrupted_build_resumes_without_double_counting_or_dropping(
    store: GraphStore, ex: DictionaryExtractor, fresh: Any
) -> None:
    whole = fresh()
    try:
        _build(whole, ex)
        expected = _snapshot(whole)
    finally:
        if whole is not store:
            whole.close()
    store.clear()

    def stop_in_file_b(p: BuildProgress) -> None:
        if p.chunks_applied == 5:  # 91000011 and the revised 91000001 are applied
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _build(store, ex, progress=stop_in_file_b)
    resumed = _build(store, ex)
    assert resumed.chunks_skipped == 5 and resumed.chunks_applied == 2
    assert _snapshot(store) == expected
    again = _build(store, ex)  # re-applies nothing, changes nothing
    assert again.chunks_applied == 0 and again.documents == 0 and not again.skipped
    assert _snapshot(store) == expected


def test_a_later_build_of_another_file_counts_stored_articles_once(
    store: GraphStore, ex: DictionaryExtractor, fresh: Any
) -> None:
    build_graph(SOURCES[:1], store, extractor=ex, workers=1, chunk_docs=1)
    later = build_graph(SOURCES, store, extractor=ex, workers=1, chunk_docs=1)
    assert later.chunks_skipped == 3 and later.skipped[NOTE] == 2
    got = _snapshot(store)
    whole = fresh()
    try:
        _build(whole, ex)
        assert _snapshot(whole) == got
    finally:
        if whole is not store:
            whole.close()


def test_a_bad_counted_list_writes_nothing(store: GraphStore, ex: DictionaryExtractor) -> None:
    delta = _delta(ex, [DOCS[0]])
    assert store.apply_chunk("c1", delta).applied is True
    bad = delta.counted[0].model_copy(update={"relations": [99]})
    with pytest.raises(StoreWriteError, match="not in the delta"):
        store.apply_chunk("c2", delta.model_copy(update={"counted": [bad]}))
    assert store.done_chunks() == {"c1"}
    assert store.stats().documents == 1


def test_the_embedded_store_keeps_one_key_per_counted_article(
    ex: DictionaryExtractor, tmp_path: Path
) -> None:
    path = tmp_path / "kg.db"
    with open_store(str(path)) as store:
        summary = _build(store, ex)
        # the copies were taken out: documents counts each article once
        assert summary.documents == store.stats().documents
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT document_id FROM counted_documents ORDER BY document_id"
        ).fetchall()
    # three articles with an abstract; the title-only records have no key
    assert [r[0] for r in rows] == ["91000001", "91000003", "91000013"]
    with open_store(str(path)) as store:
        store.clear()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM counted_documents").fetchone()[0] == 0


def test_apply_chunk_names_the_copies(store: GraphStore, ex: DictionaryExtractor) -> None:
    first = _delta(ex, [DOCS[0]])
    copy = _delta(ex, [_doc("9", DOCS[0].title.upper(), "  " + AKI_TEXT)])
    assert store.apply_chunk("a", first) == ChunkApplied(applied=True, duplicates=())
    done = store.apply_chunk("b", copy)
    assert done.applied is True
    assert [(d.source, d.doc_id) for d in done.duplicates] == [("pubmed", "9")]
    assert isinstance(done.duplicates[0], CountedDocument)
    assert store.apply_chunk("b", copy) == ChunkApplied(applied=False, duplicates=())
    assert store.stats().documents == 1


def test_the_stores_list_their_counted_articles_and_exports_carry_them(
    store: GraphStore, ex: DictionaryExtractor, tmp_path: Path
) -> None:
    from ctk.kg.export.neo4j_import import export_neo4j_import

    _build(store, ex)
    counted = list(store.iter_counted_documents())
    # three articles with an abstract, by key; the title-only records have none
    assert sorted(d for _, _, d in counted) == ["91000001", "91000003", "91000013"]
    assert [k for k, _, _ in counted] == sorted(k for k, _, _ in counted)
    assert {s for _, s, _ in counted} == {"pubmed"}
    manifest = export_neo4j_import(store, tmp_path / "import")
    assert manifest.counted_documents == 3
    with (tmp_path / "import" / "counted_documents.csv").open(encoding="utf-8") as f:
        assert len(f.read().splitlines()) == 1 + 3
