"""A fresh Neo4j database loaded two ways: batched ``MERGE`` against ``neo4j-admin`` import.

One synthetic graph (``--edges`` edges between ``--concepts`` concepts, one
evidence sentence per edge, the same generator as ``kg_store_load.py``) is loaded
into the same Neo4j 5.26 community server (``tools/neo4j-test-server``, started
here) by

* ``merge``: ``Neo4jStore.apply_chunk`` over chunks of ``--chunk-edges`` edges
  (the path of ``ctk kg build --store bolt://...``), into an empty database with
  ctk's constraints and indexes;
* ``bulk``: ``write_neo4j_import`` (the CSV files of ``ctk kg export --format
  neo4j-import``), then ``neo4j-admin database import full`` (the server
  stopped; ``org.neo4j.cli.AdminTool`` from the Maven-resolved jars), the server
  started, then ``open_imported`` (ctk's constraints and indexes built over the
  data, empty synonym lists set, counts checked): the steps of ``ctk kg load``.

Both databases are then compared: equal counts, and 2,000 random relations
looked up by fact id in each are equal (evidence included).

Run (about 10 minutes on 2 loaded CPU cores)::

    python benchmarks/neo4j_bulk_load.py --edges 1000000 --json bulk.json

It prints a Markdown table for the ``## Neo4j bulk load`` section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tools" / "neo4j-test-server"))

from kg_store_load import _concepts, _edges  # noqa: E402

logger = logging.getLogger("neo4j_bulk_load")

REL_TYPE = "associated_with"


def _evidence(i: int, a: str, b: str) -> Any:
    from ctk.records import Evidence

    return Evidence(
        source="pubmed",
        document_id=str(i),
        sentence=f"Sentence of document {i} mentions {a} and {b} together.",
        year=2020,
    )


def _deltas(
    edges: list[tuple[str, str]], n_concepts: int, chunk_edges: int
) -> Iterator[tuple[str, Any]]:
    from ctk.kg.stores import GraphDelta, RelationDelta

    concepts = _concepts(n_concepts)
    for n, start in enumerate(range(0, len(edges), chunk_edges)):
        part = edges[start : start + chunk_edges]
        yield (
            f"bench-{n:04d}",
            GraphDelta(
                concepts=concepts if n == 0 else [],
                relations=[
                    RelationDelta(
                        source_id=a,
                        target_id=b,
                        type=REL_TYPE,
                        count=1,
                        evidence=[_evidence(start + i, a, b)],
                    )
                    for i, (a, b) in enumerate(part)
                ],
                sentences=len(part),
                documents=len(part),
            ),
        )


def _relations(edges: list[tuple[str, str]]) -> Iterator[Any]:
    from ctk.records import Relation

    for i, (a, b) in enumerate(edges):
        yield Relation(
            id=Relation.make_id(a, REL_TYPE, b),
            source_id=a,
            target_id=b,
            type=REL_TYPE,
            count=1,
            weight=0.0,
            evidence=[_evidence(i, a, b)],
        )


def _sample(store: Any, ids: list[str]) -> list[Any]:
    return [store.get_relation(fact_id) for fact_id in ids]


def run(
    n_edges: int, n_concepts: int, chunk_edges: int, heap: str, admin_heap: str, work: Path
) -> dict[str, Any]:
    """Load the same graph both ways into one server; return the timings."""
    from neo4j_server import DEPS, Neo4jTestServer, ensure_jars

    from ctk.kg.export.neo4j_admin import import_full, open_imported
    from ctk.kg.export.neo4j_import import write_neo4j_import
    from ctk.kg.stores.neo4j import Neo4jStore
    from ctk.records import Relation

    ensure_jars()
    edges = _edges(n_edges, n_concepts, seed=0)
    rng = random.Random(1)
    sample_ids = [Relation.make_id(a, REL_TYPE, b) for a, b in rng.sample(edges, 2000)]
    server = Neo4jTestServer(work / "server", heap=heap)
    figures: dict[str, Any] = {"edges": n_edges, "concepts": n_concepts, "heap": heap}

    # ---- bulk, step 1: the CSV files (no server needed)
    t0 = time.perf_counter()
    manifest = write_neo4j_import(
        work / "import", _concepts(n_concepts), _relations(edges), sentences=0, documents=0
    )
    figures["csv_write_s"] = time.perf_counter() - t0
    figures["csv_mb"] = sum(p.stat().st_size for p in (work / "import").glob("*.csv")) / 1e6
    logger.info("CSV written in %.1f s", figures["csv_write_s"])

    # ---- merge
    server.start()
    try:
        with Neo4jStore(server.uri) as store:
            store.clear()
            t0 = time.perf_counter()
            for chunk_id, delta in _deltas(edges, n_concepts, chunk_edges):
                assert store.apply_chunk(chunk_id, delta).applied
            figures["merge_s"] = time.perf_counter() - t0
            merge_stats = store.stats()
            merge_sample = _sample(store, sample_ids)
        logger.info("MERGE load in %.1f s", figures["merge_s"])
    finally:
        server.stop()

    # ---- bulk, steps 2-3: import on the stopped server, start it, open the database
    admin = ["java", f"-Xmx{admin_heap}", "-cp", f"{DEPS}/*", "org.neo4j.cli.AdminTool"]
    result = import_full(
        work / "import",
        neo4j_home=server.home / "data",
        admin=admin,
        overwrite=True,
        max_off_heap_memory="2G",
    )
    figures["import_s"] = result.elapsed_s
    t0 = time.perf_counter()
    server.start()
    figures["server_start_s"] = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        bulk_stats = open_imported(server.uri, manifest)
        figures["open_imported_s"] = time.perf_counter() - t0
        with Neo4jStore(server.uri) as store:
            bulk_sample = _sample(store, sample_ids)
    finally:
        server.stop()
    # MERGE wrote weight 0.0 and the sentences/documents totals; the export wrote the same
    # edges with weight 0.0 and no totals: compare the graph itself
    for key in ("concepts", "relations", "evidence"):
        assert getattr(bulk_stats, key) == getattr(merge_stats, key), key
    assert bulk_sample == merge_sample, "a sampled relation differs between the two loads"
    figures["bulk_total_s"] = (
        figures["csv_write_s"]
        + figures["import_s"]
        + figures["server_start_s"]
        + figures["open_imported_s"]
    )
    figures["merge_rels_per_s"] = n_edges / figures["merge_s"]
    figures["import_rels_per_s"] = n_edges / figures["import_s"]
    figures["bulk_rels_per_s"] = n_edges / figures["bulk_total_s"]
    figures["speedup_import"] = figures["merge_s"] / figures["import_s"]
    figures["speedup_total"] = figures["merge_s"] / figures["bulk_total_s"]
    return figures


def table(f: dict[str, Any]) -> str:
    """The Markdown table of RESULTS.md."""
    rows = [
        ("MERGE: `apply_chunk`, chunks of 100,000 edges", f["merge_s"], f["merge_rels_per_s"]),
        ("bulk: write the CSV files", f["csv_write_s"], None),
        ("bulk: `neo4j-admin database import full`", f["import_s"], f["import_rels_per_s"]),
        ("bulk: start the server", f["server_start_s"], None),
        ("bulk: `open_imported` (indexes, checks)", f["open_imported_s"], None),
        (
            "bulk: total (what `ctk kg export` + `ctk kg load` take)",
            f["bulk_total_s"],
            f["bulk_rels_per_s"],
        ),
    ]
    out = ["| path | seconds | relationships/s |", "| --- | ---: | ---: |"]
    for name, seconds, rate in rows:
        out.append(f"| {name} | {seconds:.1f} | {'' if rate is None else f'{rate:,.0f}'} |")
    out.append(
        f"\nImporter alone: {f['speedup_import']:.1f}x the MERGE rate; end to end "
        f"{f['speedup_total']:.1f}x. CSV files: {f['csv_mb']:.0f} MB."
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--concepts", type=int, default=100_000)
    parser.add_argument("--chunk-edges", type=int, default=100_000)
    parser.add_argument("--neo4j-heap", default="2g")
    parser.add_argument("--admin-heap", default="1g")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    work = Path(tempfile.mkdtemp(prefix="ctk-bulk-bench-"))
    try:
        figures = run(
            args.edges, args.concepts, args.chunk_edges, args.neo4j_heap, args.admin_heap, work
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(table(figures))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
