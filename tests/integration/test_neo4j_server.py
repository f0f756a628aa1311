"""The test server is a real Neo4j: write and read through the official driver."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.neo4j


def test_write_and_read_through_official_driver(neo4j_uri: str) -> None:
    neo4j = pytest.importorskip("neo4j")
    with neo4j.GraphDatabase.driver(neo4j_uri, auth=None) as driver:
        driver.verify_connectivity()
        driver.execute_query("MATCH (n:CtkSmokeTest) DETACH DELETE n")
        driver.execute_query(
            "UNWIND $rows AS row CREATE (:CtkSmokeTest {id: row.id, name: row.name})",
            parameters_={"rows": [{"id": i, "name": f"concept {i}"} for i in range(3)]},
        )
        records, _, _ = driver.execute_query(
            "MATCH (n:CtkSmokeTest) RETURN n.id AS id, n.name AS name ORDER BY id"
        )
        assert [(r["id"], r["name"]) for r in records] == [
            (0, "concept 0"),
            (1, "concept 1"),
            (2, "concept 2"),
        ]
        records, _, _ = driver.execute_query(
            "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition"
        )
        assert records[0]["edition"] == "community"
        assert records[0]["versions"][0].startswith("5.")
        driver.execute_query("MATCH (n:CtkSmokeTest) DETACH DELETE n")
