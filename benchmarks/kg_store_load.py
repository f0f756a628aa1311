"""Graph store load rates: Neo4j batched ``UNWIND ... MERGE`` against per-row ``MERGE``,
and the embedded SQLite store's chunk apply rate.

Neo4j: the same synthetic relationships (new edges between existing concepts,
with 0 and with 1 evidence sentence each) are written three ways into the real
server (the Maven-resolved Neo4j 5.26 community engine of
``tools/neo4j-test-server/``, started here unless ``--neo4j-uri`` is given):

* ``batched``        ``Neo4jStore.apply_chunk``, the store's real code path:
                     ``UNWIND $rows.items AS row MATCH ... MERGE ...`` in
                     batches of ``batch_size`` (5000) rows, one transaction;
* ``per-row tx``     ``cypher.merge_relation_per_row`` (the same upsert for one
                     ``$row``), one statement per relationship, one transaction;
* ``per-row``        the same statement, each auto-committed (the plain way).

The per-row paths write the first ``--neo4j-per-row`` of the same rows (their
parameters are built before the clock starts). Relationships are deleted
before each measurement, every path is run once untimed first (JVM JIT and plan
cache warm-up), then ``--repeats`` times, and the best rate of each is kept.
For scale, a bare ``UNWIND ... MATCH ... MATCH ... CREATE`` of the same edges
(no ``MERGE``, no properties, the server's ceiling for this shape) is timed too.

Embedded: ``EmbeddedStore.apply_chunk`` over a synthetic delta of ``--edges``
edges (one evidence sentence each) in chunks of ``--chunk-edges``, then
``finalize`` (NPMI weights).

Run (about 6 minutes on 2 CPU cores)::

    python benchmarks/kg_store_load.py                # both
    python benchmarks/kg_store_load.py --skip-neo4j --edges 1000000

It prints a Markdown table (the ``## KG store load`` section of
``benchmarks/RESULTS.md``) and, with ``--json FILE``, writes the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger("kg_store_load")

REPO = Path(__file__).resolve().parent.parent


def _concepts(n: int) -> list[Any]:
    from ctk.records import Concept

    return [
        Concept(id=f"b:{i}", name=f"concept {i}", type="finding", mentions=10) for i in range(n)
    ]


def _edges(n_edges: int, n_concepts: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    while len(seen) < n_edges:
        a, b = rng.randrange(n_concepts), rng.randrange(n_concepts)
        if a != b:
            seen.add((a, b))
    return [(f"b:{a}", f"b:{b}") for a, b in seen]


def embedded_build_rate(
    n_edges: int = 1_000_000, chunk_edges: int = 100_000, n_concepts: int = 100_000, seed: int = 0
) -> dict[str, float]:
    """Apply ``n_edges`` synthetic edges to a fresh embedded store; rels/s and finalize time."""
    from ctk.kg.stores import GraphDelta, RelationDelta
    from ctk.kg.stores.embedded import EmbeddedStore
    from ctk.records import Evidence

    edges = _edges(n_edges, n_concepts, seed)
    concepts = _concepts(n_concepts)
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp) / "bench.db")
        apply_s = cpu_s = 0.0
        for k, start in enumerate(range(0, n_edges, chunk_edges)):
            part = edges[start : start + chunk_edges]
            delta = GraphDelta(
                concepts=concepts if k == 0 else [],
                relations=[
                    RelationDelta(
                        source_id=a,
                        target_id=b,
                        type="associated_with",
                        count=1,
                        evidence=[
                            Evidence(source="pubmed", document_id=str(start + i), sentence=f"s{i}")
                        ],
                    )
                    for i, (a, b) in enumerate(part)
                ],
                sentences=10 * len(part),
            )
            t0, c0 = time.perf_counter(), time.process_time()
            store.apply_chunk(f"chunk-{k}", delta)
            apply_s += time.perf_counter() - t0
            cpu_s += time.process_time() - c0
        t0 = time.perf_counter()
        store.finalize()
        finalize_s = time.perf_counter() - t0
        stats = store.stats()
        size_mb = (Path(tmp) / "bench.db").stat().st_size / 1e6
        store.close()
    assert stats.relations == n_edges
    return {
        "edges": n_edges,
        "chunk_edges": chunk_edges,
        "apply_s": apply_s,
        "rels_per_s": n_edges / apply_s,
        "rels_per_cpu_s": n_edges / cpu_s,
        "finalize_s": finalize_s,
        "file_mb": size_mb,
    }


REL_TYPE = "associated_with"


def _delta_rows(edges: list[tuple[str, str]], evidence: int) -> list[Any]:
    """RelationDeltas for ``edges``, each with ``evidence`` distinct sentences."""
    from ctk.kg.stores import RelationDelta
    from ctk.records import Evidence

    return [
        RelationDelta(
            source_id=a,
            target_id=b,
            type=REL_TYPE,
            count=1,
            evidence=[
                Evidence(
                    source="pubmed",
                    document_id=f"{i}",
                    sentence=f"Sentence {k} of document {i} mentions {a} and {b} together.",
                    year=2020,
                )
                for k in range(evidence)
            ],
        )
        for i, (a, b) in enumerate(edges)
    ]


def _per_row_params(store: Any, rel: Any, cap: int) -> dict[str, Any]:
    """The one-row parameters of ``cypher.merge_relation_per_row`` for a RelationDelta."""
    from ctk.records import Relation

    row = {
        "id": Relation.make_id(rel.source_id, rel.type, rel.target_id),
        "source_id": rel.source_id,
        "target_id": rel.target_id,
        "count": rel.count,
        "evidence": store._evidence_rows(rel.evidence),
    }
    return {"row": row, "cap": cap}


def _reset_relations(store: Any) -> None:
    """Delete every relationship and chunk marker (the concepts stay)."""
    with store.driver.session() as session:  # auto-commit: CALL IN TRANSACTIONS needs it
        session.run(
            "MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS"
        ).consume()
        session.run("MATCH (c:BuildChunk) DELETE c").consume()


def _time_batched(store: Any, rels: list[Any], chunk_id: str) -> float:
    from ctk.kg.stores import GraphDelta

    t0 = time.perf_counter()
    assert store.apply_chunk(chunk_id, GraphDelta(relations=rels)).applied is True
    return time.perf_counter() - t0


def _time_per_row(store: Any, rels: list[Any], *, one_tx: bool) -> float:
    from ctk.kg import cypher

    query = cypher.merge_relation_per_row(REL_TYPE.upper())
    cap = store.max_evidence_per_edge
    params = [_per_row_params(store, r, cap) for r in rels]  # built before the clock starts
    t0 = time.perf_counter()
    with store.driver.session() as session:
        if one_tx:
            with session.begin_transaction() as tx:
                for p in params:
                    tx.run(query, p).consume()
                tx.commit()
        else:
            for p in params:
                session.run(query, p).consume()
    return time.perf_counter() - t0


def _time_server_ceiling(store: Any, edges: list[tuple[str, str]]) -> float:
    """A bare ``UNWIND ... MATCH ... CREATE`` of the same edges (no MERGE, no properties)."""
    query = (
        "UNWIND $rows AS row MATCH (a:Concept {id: row[0]}) MATCH (b:Concept {id: row[1]}) "
        "CREATE (a)-[:CAUSES]->(b)"
    )
    rows = [list(e) for e in edges]
    size = store.batch_size
    t0 = time.perf_counter()
    with store.driver.session() as session, session.begin_transaction() as tx:
        for start in range(0, len(rows), size):
            tx.run(query, {"rows": rows[start : start + size]}).consume()
        tx.commit()
    return time.perf_counter() - t0


def neo4j_load_rates(
    uri: str,
    n_batched: int = 100_000,
    n_per_row: int = 3_000,
    n_concepts: int = 20_000,
    evidence: int = 1,
    repeats: int = 3,
) -> dict[str, Any]:
    """Relationships/s of batched UNWIND MERGE against per-row MERGE on one server.

    The same rows (``n_batched`` new edges with ``evidence`` sentences each; the
    per-row paths write the first ``n_per_row`` of them) are written, into a
    graph whose relationships are deleted before each measurement, by

    * ``Neo4jStore.apply_chunk`` (the store's real code path, one transaction);
    * ``cypher.merge_relation_per_row`` (the same upsert, one row a statement)
      in one explicit transaction;
    * the same per-row statement, each auto-committed (the plain way).

    Every path is run once untimed first (JIT and plan-cache warm-up), then
    ``repeats`` times; the best (highest) rate of each path is kept.
    """
    from ctk.kg.stores import GraphDelta
    from ctk.kg.stores.neo4j import Neo4jStore

    store = Neo4jStore(uri)
    store.clear()
    store.upsert_concepts(_concepts(n_concepts))
    edges = _edges(n_batched, n_concepts, seed=1)
    rels = _delta_rows(edges, evidence)
    per_row = rels[:n_per_row]

    # warm-up: every path once on a slice of the same rows
    _time_batched(store, rels[: max(n_batched // 5, 1)], "warm-up")
    _reset_relations(store)
    _time_per_row(store, per_row[:300], one_tx=True)
    _reset_relations(store)
    _time_per_row(store, per_row[:300], one_tx=False)
    _reset_relations(store)
    _time_server_ceiling(store, edges[: max(n_batched // 5, 1)])
    _reset_relations(store)

    runs: dict[str, list[float]] = {"batched": [], "per_row_tx": [], "per_row": [], "ceiling": []}
    for k in range(repeats):
        runs["batched"].append(n_batched / _time_batched(store, rels, f"batched-{k}"))
        stats = store.stats()
        assert stats.relations == n_batched, stats.relations
        assert stats.evidence == n_batched * min(evidence, store.max_evidence_per_edge)
        # idempotent re-run: the same chunk again changes nothing
        assert store.apply_chunk(f"batched-{k}", GraphDelta()).applied is False
        _reset_relations(store)
        runs["per_row_tx"].append(n_per_row / _time_per_row(store, per_row, one_tx=True))
        assert store.stats().relations == n_per_row
        _reset_relations(store)
        runs["per_row"].append(n_per_row / _time_per_row(store, per_row, one_tx=False))
        assert store.stats().relations == n_per_row
        _reset_relations(store)
        runs["ceiling"].append(n_batched / _time_server_ceiling(store, edges))
        _reset_relations(store)
        logger.info(
            "run %d (evidence %d): %s",
            k + 1,
            evidence,
            ", ".join(f"{name} {v[-1]:,.0f}/s" for name, v in runs.items()),
        )
    store.clear()
    batch_size = store.batch_size
    store.close()
    rates: dict[str, Any] = {
        "batched_rels_per_s": max(runs["batched"]),
        "per_row_tx_rels_per_s": max(runs["per_row_tx"]),
        "per_row_rels_per_s": max(runs["per_row"]),
        "ceiling_rels_per_s": max(runs["ceiling"]),
        "runs": runs,
    }
    rates["ratio_vs_per_row"] = rates["batched_rels_per_s"] / rates["per_row_rels_per_s"]
    rates["ratio_vs_per_row_tx"] = rates["batched_rels_per_s"] / rates["per_row_tx_rels_per_s"]
    rates.update(
        n_batched=n_batched,
        n_per_row=n_per_row,
        evidence=evidence,
        repeats=repeats,
        batch_size=batch_size,
    )
    return rates


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the measurements, print a Markdown table, return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000, help="embedded store edges")
    parser.add_argument("--chunk-edges", type=int, default=100_000)
    parser.add_argument("--neo4j-uri", default=None, help="use this server (default: start one)")
    parser.add_argument("--neo4j-batched", type=int, default=100_000)
    parser.add_argument("--neo4j-per-row", type=int, default=3_000)
    parser.add_argument(
        "--neo4j-evidence",
        type=int,
        nargs="+",
        default=[0, 1],
        help="evidence sentences per relationship; one measurement per value",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per path (best kept)")
    parser.add_argument(
        "--neo4j-heap",
        default="2g",
        help="JVM heap of the server started here (the test fixture uses 768m; a 100,000-edge "
        "transaction spends a third of its time in GC at 768m)",
    )
    parser.add_argument("--skip-neo4j", action="store_true")
    parser.add_argument("--skip-embedded", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    results: dict[str, Any] = {}
    if not args.skip_embedded:
        logger.info("embedded store: %d edges", args.edges)
        results["embedded"] = embedded_build_rate(args.edges, args.chunk_edges)
    if not args.skip_neo4j:
        server = None
        uri = args.neo4j_uri
        if uri is None:
            sys.path.insert(0, str(REPO / "tools" / "neo4j-test-server"))
            from neo4j_server import Neo4jTestServer

            server = Neo4jTestServer(
                Path(tempfile.mkdtemp(prefix="ctk-bench-neo4j-")), heap=args.neo4j_heap
            )
            server.start()
            uri = server.uri
        try:
            logger.info("neo4j at %s", uri)
            results["neo4j"] = [
                neo4j_load_rates(
                    uri,
                    args.neo4j_batched,
                    args.neo4j_per_row,
                    evidence=ev,
                    repeats=args.repeats,
                )
                for ev in args.neo4j_evidence
            ]
        finally:
            if server is not None:
                server.stop()
    results["neo4j_heap"] = args.neo4j_heap if args.neo4j_uri is None else "external"
    results["load_average_1m_at_end"] = os.getloadavg()[0]
    results["cpu_count"] = os.cpu_count()
    lines = ["| measurement | figure |", "|---|---|"]
    if "embedded" in results:
        e = results["embedded"]
        lines += [
            f"| embedded apply, {e['edges']:,} edges in chunks of {e['chunk_edges']:,} "
            f"(1 evidence each) | {e['rels_per_s']:,.0f} rels/s wall ({e['apply_s']:.1f} s); "
            f"{e['rels_per_cpu_s']:,.0f} rels per CPU-second |",
            f"| embedded finalize (NPMI of every edge) | {e['finalize_s']:.1f} s |",
            f"| embedded file size | {e['file_mb']:.0f} MB |",
        ]
    for n in results.get("neo4j", []):
        what = f"{n['evidence']} evidence sentence(s) per rel"
        lines += [
            f"| Neo4j batched `apply_chunk` ({n['n_batched']:,} rels, {what}, "
            f"batches of {n['batch_size']:,}, one tx) | {n['batched_rels_per_s']:,.0f} rels/s |",
            f"| Neo4j per-row MERGE, one transaction ({n['n_per_row']:,} rels, {what}) "
            f"| {n['per_row_tx_rels_per_s']:,.0f} rels/s |",
            f"| Neo4j per-row MERGE, auto-commit ({n['n_per_row']:,} rels, {what}) "
            f"| {n['per_row_rels_per_s']:,.0f} rels/s |",
            f"| batched / per-row auto-commit ({what}) | {n['ratio_vs_per_row']:.1f}x |",
            f"| batched / per-row in one transaction ({what}) | {n['ratio_vs_per_row_tx']:.1f}x |",
            f"| server ceiling: bare UNWIND MATCH CREATE, no properties ({n['n_batched']:,} rels)"
            f" | {n['ceiling_rels_per_s']:,.0f} rels/s |",
        ]
    lines.append(
        f"| machine | {results['cpu_count']} CPUs, 1-min load average "
        f"{results['load_average_1m_at_end']:.1f} at the end |"
    )
    print("\n".join(lines))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
