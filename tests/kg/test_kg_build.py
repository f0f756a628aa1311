"""The build pipeline: resume, idempotence, parallelism, faults, stores and the CLI."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ctk.errors import ConfigError
from ctk.graph import GraphStats, Neighbour, NeighbourQuery
from ctk.kg.build import BuildProgress, build_graph
from ctk.kg.delta import ChunkApplied, GraphDelta, without_duplicates
from ctk.kg.extraction.weights import association_weight
from ctk.kg.stores.base import GraphStore
from ctk.plugins.extractors import DictionaryExtractor
from ctk.records import Concept, Relation

REPO = Path(__file__).resolve().parents[2]
CORPORA = REPO / "samples" / "corpora"
SOURCES = [
    f"pubmed:{CORPORA / 'pubmed_baseline_sample.xml.gz'}",
    f"pubmed:{CORPORA / 'pubmed_efetch_sample.xml'}",
    f"wikipedia:{CORPORA / 'enwiki_medical_sample.xml.bz2'}",
]


class MemoryStore(GraphStore):
    """A small in-memory GraphStore, enough to test the pipeline against the ABC."""

    def __init__(self, max_evidence_per_edge: int = 5) -> None:
        self.max_evidence_per_edge = max_evidence_per_edge
        self.clear()

    def clear(self) -> None:
        self.concepts: dict[str, Concept] = {}
        self.relations: dict[str, Relation] = {}
        self.chunks: list[str] = []
        self.sentences = 0
        self.documents = 0
        self.content_keys: set[str] = set()

    def apply_chunk(self, chunk_id: str, delta: GraphDelta) -> ChunkApplied:
        if chunk_id in self.chunks:
            return ChunkApplied(applied=False)
        delta, dropped = without_duplicates(delta, self.content_keys)
        self.content_keys.update(d.key for d in delta.counted)
        for c in delta.concepts:
            old = self.concepts.get(c.id)
            if old is None:
                self.concepts[c.id] = c.model_copy(deep=True)
            else:
                old.mentions += c.mentions
                old.synonyms = sorted(set(old.synonyms) | set(c.synonyms))
        for r in delta.relations:
            fid = Relation.make_id(r.source_id, r.type, r.target_id)
            rel = self.relations.setdefault(
                fid,
                Relation(
                    id=fid, source_id=r.source_id, target_id=r.target_id, type=r.type, count=0
                ),
            )
            rel.count += r.count
            room = self.max_evidence_per_edge - len(rel.evidence)
            rel.evidence.extend(r.evidence[: max(0, room)])
        gone = set(delta.deleted_documents)
        for rel in self.relations.values():
            rel.evidence = [e for e in rel.evidence if e.document_id not in gone]
        self.sentences += delta.sentences
        self.documents += delta.documents
        self.chunks.append(chunk_id)
        return ChunkApplied(applied=True, duplicates=tuple(dropped))

    def done_chunks(self) -> set[str]:
        return set(self.chunks)

    def prune(self, min_count: int) -> int:
        rare = [k for k, r in self.relations.items() if r.count < min_count]
        for k in rare:
            del self.relations[k]
        return len(rare)

    def finalize(self) -> None:
        for rel in self.relations.values():
            rel.weight = association_weight(
                rel.count,
                self.concepts[rel.source_id].mentions,
                self.concepts[rel.target_id].mentions,
                self.documents or self.sentences,
            )

    def upsert_concepts(self, concepts: Iterable[Concept]) -> int:
        items = list(concepts)
        self.concepts.update({c.id: c for c in items})
        return len(items)

    def upsert_relations(self, relations: Iterable[Relation]) -> int:
        items = list(relations)
        self.relations.update({r.id: r for r in items})
        return len(items)

    def get_concept(self, concept_id: str) -> Concept | None:
        return self.concepts.get(concept_id)

    def find_concepts(self, name: str, *, limit: int = 10) -> list[Concept]:
        key = name.lower()
        hits = [
            c
            for c in self.concepts.values()
            if key in {c.name.lower(), *map(str.lower, c.synonyms)}
        ]
        return hits[:limit]

    def get_relation(self, fact_id: str) -> Relation | None:
        return self.relations.get(fact_id)

    def _stored_neighbours(self, concept_id: str, query: NeighbourQuery) -> list[Neighbour]:
        out = []
        for r in self.relations.values():
            if concept_id in (r.source_id, r.target_id) and r.count >= query.min_count:
                other = r.target_id if r.source_id == concept_id else r.source_id
                out.append(
                    Neighbour(
                        relation=r,
                        concept=self.concepts[other],
                        direction="out" if r.source_id == concept_id else "in",
                    )
                )
        return sorted(out, key=lambda n: -n.relation.weight)[: query.limit]

    def iter_concepts(self) -> Iterator[Concept]:
        return iter(sorted(self.concepts.values(), key=lambda c: c.id))

    def iter_relations(self, *, with_evidence: bool = True) -> Iterator[Relation]:
        return iter(sorted(self.relations.values(), key=lambda r: r.id))

    def stats(self) -> GraphStats:
        return GraphStats(
            concepts=len(self.concepts),
            relations=len(self.relations),
            sentences=self.sentences,
            documents=self.documents,
            chunks=len(self.chunks),
        )

    def close(self) -> None:
        pass


def snapshot(store: GraphStore) -> tuple[Any, ...]:
    """Everything a build writes, in a comparable form."""
    concepts = [
        (c.id, c.name, c.type, c.mentions, tuple(sorted(c.synonyms))) for c in store.iter_concepts()
    ]
    relations = [
        (
            r.id,
            r.count,
            round(r.weight, 9),
            tuple(sorted((e.source, e.document_id, e.sentence, e.year) for e in r.evidence)),
        )
        for r in store.iter_relations()
    ]
    s = store.stats()
    return sorted(concepts), sorted(relations), (s.concepts, s.relations, s.sentences, s.documents)


@pytest.fixture(scope="module")
def extractor() -> DictionaryExtractor:
    return DictionaryExtractor()


@pytest.fixture(scope="module")
def reference(extractor: DictionaryExtractor) -> tuple[Any, ...]:
    store = MemoryStore()
    build_graph(SOURCES, store, extractor=extractor, workers=1, chunk_docs=7)
    return snapshot(store)


def test_build_summary_and_idempotent_rerun(extractor: DictionaryExtractor, reference: Any) -> None:
    store = MemoryStore()
    first = build_graph(SOURCES, store, extractor=extractor, workers=1, chunk_docs=7)
    assert first.documents == 39 + 10 + 13  # 16 wiki pages less 2 non-article, 1 redirect
    assert first.deleted == 2
    assert first.files == 3 and first.chunks_skipped == 0
    assert first.problems.counts["malformed PubMed record"] == 1
    assert first.skipped["wikipedia: redirect"] == 1
    assert first.concepts == len(store.concepts) > 100
    assert first.relations == len(store.relations) > 300
    assert snapshot(store) == reference
    second = build_graph(SOURCES, store, extractor=extractor, workers=1, chunk_docs=7)
    assert second.chunks_applied == 0 and second.chunks_skipped == first.chunks_applied
    assert second.documents == 0
    assert snapshot(store) == reference  # building twice: identical counts


def test_interrupted_build_resumes_to_the_same_graph(
    extractor: DictionaryExtractor, reference: Any
) -> None:
    store = MemoryStore()

    def stop_after_three(p: BuildProgress) -> None:
        if p.chunks_applied == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_graph(
            SOURCES, store, extractor=extractor, workers=1, chunk_docs=7, progress=stop_after_three
        )
    assert len(store.chunks) == 3
    resumed = build_graph(SOURCES, store, extractor=extractor, workers=1, chunk_docs=7)
    assert resumed.chunks_skipped == 3 and resumed.chunks_applied > 0
    assert snapshot(store) == reference


def test_mesh_headings_option_counts_headings_in_chunks_of_its_own(
    extractor: DictionaryExtractor,
) -> None:
    """With the option, headings add evidence; its chunks are not the default build's."""
    pubmed = SOURCES[:2]
    store = MemoryStore()
    plain = build_graph(pubmed, store, extractor=extractor, workers=1, chunk_docs=7)
    before = snapshot(store)
    mesh = DictionaryExtractor({"mesh_headings": True})
    again = build_graph(pubmed, store, extractor=mesh, workers=1, chunk_docs=7)
    assert again.chunks_skipped == 0 and again.chunks_applied == plain.chunks_applied
    # the same store already counted these articles: each is a duplicate, counted once
    assert again.documents == 0
    assert sum(n for k, n in again.skipped.items() if "duplicate article" in k) >= plain.documents
    assert snapshot(store) == before
    fresh = MemoryStore()
    build_graph(pubmed, fresh, extractor=mesh, workers=1, chunk_docs=7)
    headed = [e for r in fresh.relations.values() for e in r.evidence if "[MeSH: " in e.sentence]
    assert headed and snapshot(fresh) != before
    rerun = build_graph(pubmed, fresh, extractor=mesh, workers=1, chunk_docs=7)
    assert rerun.chunks_applied == 0  # resumable like any build


def test_process_pool_gives_the_same_graph(extractor: DictionaryExtractor, reference: Any) -> None:
    store = MemoryStore()
    seen: list[int] = []
    summary = build_graph(
        SOURCES,
        store,
        extractor=extractor,
        workers=2,
        chunk_docs=7,
        progress=lambda p: seen.append(p.chunks_applied),
    )
    assert summary.workers == 2
    assert seen == sorted(seen) and seen[-1] == summary.chunks_applied
    assert snapshot(store) == reference


def test_truncated_input_keeps_what_was_read(
    extractor: DictionaryExtractor, tmp_path: Path
) -> None:
    data = (CORPORA / "pubmed_baseline_sample.xml.gz").read_bytes()
    cut = tmp_path / "cut.xml.gz"
    cut.write_bytes(data[: len(data) // 2])
    summary = build_graph([f"pubmed:{cut}"], MemoryStore(), extractor=extractor, workers=1)
    assert 5 < summary.documents < 39
    [where] = summary.truncated_files
    assert where.startswith(str(cut)) and "stopped at line" in where


def test_options_are_checked(extractor: DictionaryExtractor) -> None:
    with pytest.raises(ConfigError, match="min_count"):
        build_graph(SOURCES, MemoryStore(), extractor=extractor, workers=1, min_count=0)
    with pytest.raises(ConfigError, match="chunk_docs"):
        build_graph(SOURCES, MemoryStore(), extractor=extractor, chunk_docs=0)


def test_min_count_prunes_the_built_graph(extractor: DictionaryExtractor) -> None:
    full, pruned = MemoryStore(), MemoryStore()
    build_graph(SOURCES, full, extractor=extractor, workers=1)
    build_graph(SOURCES, pruned, extractor=extractor, workers=1, min_count=2)
    counts = {k: r.count for k, r in full.relations.items()}
    assert any(c < 2 for c in counts.values()) and any(c >= 2 for c in counts.values())
    assert {k: r.count for k, r in pruned.relations.items()} == {
        k: c for k, c in counts.items() if c >= 2
    }


def test_names_with_quotes_and_backticks_are_data(tmp_path: Path) -> None:
    vocab = tmp_path / "v.tsv.gz"
    vocab.write_bytes(
        gzip.compress(
            b"id\tname\ttype\tsynonyms\txrefs\torigin\n"
            b'x:q\tO\'Brien "fever"\tdisease\t\t\tt\n'
            b"x:b\t`drop` MATCH (n) DETACH DELETE n\tdrug\t\t\tt\n"
        )
    )
    doc = tmp_path / "d.jsonl"
    doc.write_text(
        '{"id": "q\'1`", "text": "O\'Brien \\"fever\\" is treated with '
        '`drop` MATCH (n) DETACH DELETE n."}\n',
        encoding="utf-8",
    )
    store = _embedded_or_memory(tmp_path)
    with store:
        build_graph(
            [f"text:{doc}"], store, extractor=DictionaryExtractor({"vocabulary": vocab}), workers=1
        )
        concept = store.get_concept("x:q")
        assert concept is not None and concept.name == 'O\'Brien "fever"'
        rel = store.get_relation(Relation.make_id("x:b", "treats", "x:q"))
        assert rel is not None and rel.evidence[0].document_id == "q'1`"
        assert store.get_concept("x:b").name == "`drop` MATCH (n) DETACH DELETE n"  # type: ignore[union-attr]


def _embedded_or_memory(tmp_path: Path) -> GraphStore:
    try:
        from ctk.kg.stores import open_store
    except ImportError:
        return MemoryStore()
    return open_store(str(tmp_path / "kg.db"))


def _query_heart_failure(store: GraphStore) -> list[Neighbour]:
    [hf] = store.find_concepts("heart failure", limit=1)
    assert hf.id == "ctk:congestive_heart_failure"
    return store.neighbours(hf.id, limit=50)


def test_embedded_store_build_and_query(extractor: DictionaryExtractor, tmp_path: Path) -> None:
    pytest.importorskip("ctk.kg.stores.embedded")
    from ctk.kg.stores import open_store

    with open_store(str(tmp_path / "kg.db")) as store:
        summary = build_graph(SOURCES, store, extractor=extractor, workers=1, chunk_docs=7)
        neighbours = _query_heart_failure(store)
        stats = store.stats()
        assert (stats.concepts, stats.relations) == (summary.concepts, summary.relations)
    by_target = {(n.relation.type, n.concept.id): n for n in neighbours}
    treat = by_target[("treats", "ctk:furosemide")].relation
    assert -1.0 <= treat.weight <= 1.0 and treat.count >= 2
    docs = {e.document_id for e in treat.evidence}
    assert "39000002" in docs and "Heart failure" in docs  # a PMID and a Wikipedia page
    assert ("diagnosed_by", "ctk:brain_natriuretic_peptide") in by_target
    with open_store(str(tmp_path / "kg.db")) as store:
        again = build_graph(SOURCES, store, extractor=extractor, workers=1, chunk_docs=7)
        assert again.chunks_applied == 0
        assert (again.concepts, again.relations) == (summary.concepts, summary.relations)


@pytest.mark.neo4j
def test_neo4j_store_matches_embedded(
    extractor: DictionaryExtractor, neo4j_uri: str, tmp_path: Path
) -> None:
    from ctk.kg.stores import open_store

    with open_store(str(tmp_path / "kg.db")) as embedded:
        build_graph(SOURCES, embedded, extractor=extractor, workers=1, chunk_docs=1000)
        expected = embedded.stats()
    with open_store(neo4j_uri) as neo:
        neo.clear()
        build_graph(SOURCES, neo, extractor=extractor, workers=1, chunk_docs=1000)
        got = neo.stats()
        assert (got.concepts, got.relations, got.sentences) == (
            expected.concepts,
            expected.relations,
            expected.sentences,
        )
        assert {n.concept.id for n in _query_heart_failure(neo)} >= {
            "ctk:furosemide",
            "ctk:dyspnea",
        }
        neo.clear()


def test_cli_build(tmp_path: Path) -> None:
    pytest.importorskip("ctk.kg.stores.embedded")
    from ctk.cli.kg import app

    store = tmp_path / "kg.db"
    args = [
        "build",
        *[arg for s in SOURCES for arg in ("--source", s)],
        "--store",
        str(store),
        "--workers",
        "1",
        "--chunk-docs",
        "20",
        "--wiki-category",
        "medical",
        "--summary-json",
        str(tmp_path / "s.json"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "relations in store" in result.output and "malformed PubMed record" in result.output
    first = (tmp_path / "s.json").read_text(encoding="utf-8")
    assert '"documents": 61' in first  # 39 + 10 + 12 medical pages
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "0 / 5" in again.output
