"""The viewer over a real Neo4j server: the same pages as over the embedded store."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from rationale_fixtures import CONCEPTS, RELATIONS
from starlette.testclient import TestClient
from view_fixtures import ViewInputs

from ctk.kg.stores import GraphStore, open_store
from ctk.view import AdmissionIndex, Viewer, create_app

pytestmark = pytest.mark.neo4j


@pytest.fixture(scope="module")
def neo4j_graph(neo4j_uri: str) -> Iterator[GraphStore]:
    store = open_store(neo4j_uri)
    store.clear()
    store.upsert_concepts(CONCEPTS)
    store.upsert_relations(RELATIONS)
    yield store
    store.clear()
    store.close()


def test_the_pages_over_neo4j(view_inputs: ViewInputs, neo4j_graph: GraphStore) -> None:
    index = AdmissionIndex.open(
        view_inputs.cohort, rationales=view_inputs.rationales, cache_dir=view_inputs.cache
    )
    client = TestClient(create_app(Viewer(index, store=neo4j_graph)), base_url="http://127.0.0.1")
    html = client.get("/admissions/adm000").text
    assert '<a href="/concepts?id=ctk%3Adyspnea">shortness of breath</a>' in html
    assert "/facts?id=ctk%3Adyspnea%7Csymptom_of%7Cctk%3Aheart_failure" in html
    fact = client.get("/facts?id=" + quote("ctk:dyspnea|symptom_of|ctk:heart_failure")).text
    assert "PMID 11111" in fact
    assert "Dyspnea on exertion is the cardinal symptom of heart failure." in fact
    concept = client.get("/concepts?id=ctk:heart_failure").text
    assert concept.count('<a class="edge"') == 4
    assert "100%" in client.get("/admissions").text  # support share read from Neo4j
    index.close()
