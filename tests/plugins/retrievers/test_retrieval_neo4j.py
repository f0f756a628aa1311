"""The graph retriever, generation and the check on the real Neo4j store."""

from __future__ import annotations

from pathlib import Path

import pytest
from rationale_fixtures import CONCEPTS, HF, RELATIONS, make_admissions

from ctk.kg.stores.neo4j import Neo4jStore
from ctk.plugins.llm.template import TemplateBackend
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.retrieval import RetrievalQuery
from ctk.teacher import generate_rationales, read_rationales
from ctk.teacher.check import check_rationales

pytestmark = pytest.mark.neo4j


def test_graph_retrieval_generation_and_check_on_neo4j(neo4j_uri: str, tmp_path: Path) -> None:
    store = Neo4jStore(neo4j_uri)
    try:
        store.clear()
        store.upsert_concepts(CONCEPTS)
        store.upsert_relations(RELATIONS)
        retriever = GraphRetriever(store=store)
        query = RetrievalQuery(note_text="Worsening shortness of breath and edema.", diagnoses=[HF])
        records = retriever.retrieve(query, k=2)
        assert [r.id for r in records] == [
            "ctk:dyspnea|symptom_of|ctk:heart_failure",
            "ctk:edema|symptom_of|ctk:heart_failure",
        ]
        assert records[0].document_id == "11111"
        out = tmp_path / "r.jsonl"
        summary = generate_rationales(
            make_admissions(3), retriever=retriever, backend=TemplateBackend(), out=out
        )
        assert summary.generated == 3
        report = check_rationales(read_rationales(out), store)
        assert report.citation_rate == 1.0 and report.cited > 0
    finally:
        store.clear()
        store.close()
