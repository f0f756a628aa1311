"""``ConceptSeeder``: the supported note-to-concept building block, on a real store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rationale_fixtures import HF, build_store

from ctk.kg.stores.embedded import EmbeddedStore
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.plugins.retrievers.seeds import ConceptSeeder
from ctk.retrieval import RetrievalQuery


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = build_store(tmp_path / "kg.db")
    yield s
    s.close()


def test_seeds_in_documented_order(store: EmbeddedStore) -> None:
    seeder = ConceptSeeder(store)
    query = RetrievalQuery(
        note_text="Fever and cough. Diuresed with lasix for leg edema.",
        anomaly_captions=["Heart rate is higher than normal 2 times (max 145)"],
        diagnoses=[HF],
        concept_ids=["ctk:insulin"],
    )
    seeds = seeder.seeds(query)
    # given ids, then the diagnosis, then the caption's finding, then the note by mentions
    assert seeds[:3] == ["ctk:insulin", "ctk:heart_failure", "ctk:tachycardia"]
    assert seeds[3:] == ["ctk:fever", "ctk:edema", "ctk:cough", "ctk:furosemide"]
    assert seeder.seeds(query, max_seeds=2) == seeds[:2]
    assert seeder.find("no shortness of breath; CHF") == ["ctk:dyspnea", "ctk:heart_failure"]
    assert seeder.find("edematous") == []  # whole words only
    assert [c.id for c in seeder.named("Lasix")] == ["ctk:furosemide"]


def test_the_graph_retriever_seeds_through_it(store: EmbeddedStore) -> None:
    query = RetrievalQuery(note_text="shortness of breath", diagnoses=[HF])
    retriever = GraphRetriever(store=store, options={"max_seeds": 5})
    assert retriever.seeds(query) == ConceptSeeder(store).seeds(query, max_seeds=5)
    assert isinstance(retriever.seeder(), ConceptSeeder)
