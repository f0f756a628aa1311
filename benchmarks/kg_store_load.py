"""Graph store load rates: Neo4j batched ``UNWIND ... MERGE`` against per-row ``MERGE``,
and the embedded SQLite store's chunk apply rate.

Neo4j: the same synthetic relationships (between existing concepts) are
written three ways into the real server (the Maven-resolved Neo4j 5.26
community engine of ``tools/neo4j-test-server/``, started here unless
``--neo4j-uri`` is given):

* ``batched``        ``Neo4jStore.apply_chunk``: ``UNWIND $rows AS row MATCH ...
                     MERGE ...`` in batches of 1000 rows, one transaction;
* ``per-row tx``     one ``MERGE`` statement per relationship, all in one transaction;
* ``per-row``        one auto-committed ``MERGE`` statement per relationship
                     (what a naive loader does).

Embedded: ``EmbeddedStore.apply_chunk`` over a synthetic delta of ``--edges``
edges (one evidence sentence each) in chunks of ``--chunk-edges``, then
``finalize`` (NPMI weights).

Run (about 2 minutes on 2 CPU cores)::

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


def neo4j_load_rates(
    uri: str, n_batched: int = 100_000, n_per_row: int = 3_000, n_concepts: int = 20_000
) -> dict[str, float]:
    """Relationships/s of batched UNWIND MERGE against per-row MERGE on one server."""
    from ctk.kg import cypher
    from ctk.kg.stores import GraphDelta, RelationDelta
    from ctk.kg.stores.neo4j import Neo4jStore
    from ctk.records import Relation

    store = Neo4jStore(uri)
    store.clear()
    store.upsert_concepts(_concepts(n_concepts))
    edges = _edges(n_batched + 2 * n_per_row, n_concepts, seed=1)
    batched, per_row_tx, per_row = (
        edges[:n_batched],
        edges[n_batched : n_batched + n_per_row],
        edges[n_batched + n_per_row :],
    )
    # warm-up (JIT, query plans) with a few edges that are then removed
    store.apply_chunk(
        "warm-up",
        GraphDelta(
            relations=[
                RelationDelta(source_id=a, target_id=b, type="causes") for a, b in edges[:2000]
            ]
        ),
    )
    store.driver.execute_query("MATCH ()-[r:CAUSES]->() DELETE r")

    delta = GraphDelta(
        relations=[
            RelationDelta(source_id=a, target_id=b, type="associated_with") for a, b in batched
        ]
    )
    t0 = time.perf_counter()
    store.apply_chunk("batched", delta)
    batched_s = time.perf_counter() - t0

    query = cypher.merge_relation_per_row("ASSOCIATED_WITH")

    def params(a: str, b: str) -> dict[str, Any]:
        return {
            "source_id": a,
            "target_id": b,
            "id": Relation.make_id(a, "associated_with", b),
            "count": 1,
        }

    t0 = time.perf_counter()
    with store.driver.session() as session, session.begin_transaction() as tx:
        for a, b in per_row_tx:
            tx.run(query, params(a, b)).consume()
        tx.commit()
    per_row_tx_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    with store.driver.session() as session:
        for a, b in per_row:
            session.run(query, params(a, b)).consume()
    per_row_s = time.perf_counter() - t0

    total = store.stats().relations
    assert total == n_batched + 2 * n_per_row, total
    # idempotent re-run: the same chunk again changes nothing
    assert store.apply_chunk("batched", delta) is False
    store.clear()
    store.close()
    rates = {
        "batched_rels_per_s": n_batched / batched_s,
        "per_row_tx_rels_per_s": n_per_row / per_row_tx_s,
        "per_row_rels_per_s": n_per_row / per_row_s,
    }
    rates["ratio_vs_per_row"] = rates["batched_rels_per_s"] / rates["per_row_rels_per_s"]
    rates["ratio_vs_per_row_tx"] = rates["batched_rels_per_s"] / rates["per_row_tx_rels_per_s"]
    rates.update(n_batched=n_batched, n_per_row=n_per_row)
    return rates


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the measurements, print a Markdown table, return the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000, help="embedded store edges")
    parser.add_argument("--chunk-edges", type=int, default=100_000)
    parser.add_argument("--neo4j-uri", default=None, help="use this server (default: start one)")
    parser.add_argument("--neo4j-batched", type=int, default=100_000)
    parser.add_argument("--neo4j-per-row", type=int, default=3_000)
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

            server = Neo4jTestServer(Path(tempfile.mkdtemp(prefix="ctk-bench-neo4j-")))
            server.start()
            uri = server.uri
        try:
            logger.info("neo4j at %s", uri)
            results["neo4j"] = neo4j_load_rates(uri, args.neo4j_batched, args.neo4j_per_row)
        finally:
            if server is not None:
                server.stop()
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
    if "neo4j" in results:
        n = results["neo4j"]
        lines += [
            f"| Neo4j batched UNWIND MERGE ({n['n_batched']:,} rels, batches of 1000) "
            f"| {n['batched_rels_per_s']:,.0f} rels/s |",
            f"| Neo4j per-row MERGE, one transaction ({n['n_per_row']:,} rels) "
            f"| {n['per_row_tx_rels_per_s']:,.0f} rels/s |",
            f"| Neo4j per-row MERGE, auto-commit ({n['n_per_row']:,} rels) "
            f"| {n['per_row_rels_per_s']:,.0f} rels/s |",
            f"| batched / per-row auto-commit | {n['ratio_vs_per_row']:.1f}x |",
            f"| batched / per-row in one transaction | {n['ratio_vs_per_row_tx']:.1f}x |",
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
