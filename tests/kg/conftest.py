"""Fixtures shared by the knowledge-graph tests: an empty store of each kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ctk.kg.stores import GraphStore, open_store


@pytest.fixture(scope="module")
def _neo4j_store(neo4j_uri: str) -> Iterator[GraphStore]:
    store = open_store(neo4j_uri)
    yield store
    store.clear()
    store.close()


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh, empty store of each kind (Neo4j: the module's database, cleared)."""
    if request.param == "embedded":
        with open_store(str(tmp_path / "kg.db")) as embedded:
            yield embedded
        return
    neo4j_store: GraphStore = request.getfixturevalue("_neo4j_store")
    neo4j_store.clear()
    neo4j_store.max_evidence_per_edge = 5
    yield neo4j_store
