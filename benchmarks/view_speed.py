"""``ctk view`` page times on a 40,000-admission cohort with a 1,000,000-edge graph.

Inputs (made once into ``--work``, reused by later runs):

* a **cohort** of ``--admissions`` (40,000) admissions: the demo's synthetic
  admissions (``ctk data synth`` + ``import``, notes and hourly labs of realistic
  size) copied under new ids, each note naming a few graph concepts;
* a **graph** of ``--edges`` (1,000,000) synthetic edges between 100,000 concepts,
  one evidence sentence each, in an embedded store (the shape of
  ``benchmarks/kg_store_load.py``), every edge on 2 documents (over the support floor);
* a **rationale file** with one record per train admission, each citing 4 edges;
* an **evaluation folder** with a report and one prediction per test admission.

Measured, in one process (``Viewer`` + ``create_app`` through Starlette's test
client: the ASGI app exactly as the server runs it, without the socket):

* start-up: building the admission index (first start), reopening it (later
  starts), building the note matcher from the graph's concepts;
* the admission page for ``--samples`` random admissions (median, p95, max);
* the admission list: random pages of 50, the last page, and filtered pages;
* the same questions answered the plain way beside them: find one admission by
  scanning the cohort file (``iter_admissions`` until the id matches) and make a
  page of the list by reading every admission.

Run (about 5 minutes the first time on 2 busy cores, most of it making the graph)::

    python benchmarks/view_speed.py --work /tmp/ctk-view-bench
    python benchmarks/view_speed.py --work /tmp/ctk-view-bench --demo demo-output

``--demo DIR`` also times the admission page on the demo's outputs (``tools/demo.sh DIR``).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

logger = logging.getLogger("view_speed")

REPO = Path(__file__).resolve().parent.parent


def _ms(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max_ms": 1000 * ordered[-1],
        "n": len(ordered),
    }


def make_graph(path: Path, n_edges: int, n_concepts: int, seed: int) -> list[str]:
    """The synthetic graph; returns some of its fact ids (for citations)."""
    from ctk.kg.stores import GraphDelta, RelationDelta
    from ctk.kg.stores.embedded import EmbeddedStore
    from ctk.records import Concept, Evidence, Relation

    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    while len(seen) < n_edges:
        a, b = rng.randrange(n_concepts), rng.randrange(n_concepts)
        if a != b:
            seen.add((a, b))
    edges = sorted(seen)
    concepts = [
        Concept(id=f"b:{i}", name=f"concept {i}", type="finding", mentions=10)
        for i in range(n_concepts)
    ]
    if not path.exists():
        store = EmbeddedStore(path)
        chunk = 100_000
        for k, start in enumerate(range(0, n_edges, chunk)):
            part = edges[start : start + chunk]
            delta = GraphDelta(
                concepts=concepts if k == 0 else [],
                relations=[
                    RelationDelta(
                        source_id=f"b:{a}",
                        target_id=f"b:{b}",
                        type="associated_with",
                        count=2,
                        evidence=[
                            Evidence(
                                source="pubmed",
                                document_id=str(30_000_000 + start + i),
                                sentence=f"Concept {a} was seen with concept {b} in this cohort.",
                                year=2020,
                            )
                        ],
                    )
                    for i, (a, b) in enumerate(part)
                ],
                sentences=10 * len(part),
            )
            store.apply_chunk(f"chunk-{k}", delta)
            logger.info("graph: %d edges", start + len(part))
        store.finalize()
        store.close()
    picks = rng.sample(edges, 20_000)
    return [Relation.make_id(f"b:{a}", "associated_with", f"b:{b}") for a, b in picks]


def make_cohort(work: Path, n: int, n_concepts: int, seed: int) -> list[tuple[str, str | None]]:
    """The big cohort from the demo's synthetic admissions; returns (id, split) of each."""
    from ctk.cohort import CohortWriter, iter_admissions

    base = work / "base-cohort"
    if not base.exists():
        synth = work / "synth"
        subprocess.run(
            [sys.executable, "-m", "ctk.cli.main", "data", "synth", "--n", "200", "--seed", "1",
             "--out", str(synth)],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "ctk.cli.main", "data", "import", "--format",
             "mimic3-benchmark", str(synth), "--out", str(base)],
            check=True, capture_output=True,
        )  # fmt: skip
    originals = list(iter_admissions(base))
    rng = random.Random(seed)
    ids: list[tuple[str, str | None]] = []
    cohort = work / "cohort"
    with CohortWriter(cohort, source="synthetic") as w:
        for i in range(n):
            a = originals[i % len(originals)].model_copy(deep=True)
            a.admission_id = f"{i:05d}_{a.admission_id}"
            if a.note is not None:
                named = ", ".join(f"concept {rng.randrange(n_concepts)}" for _ in range(6))
                a.note.text += f"\nFindings reviewed: {named}.\n"
            w.write(a)
            ids.append((a.admission_id, a.split))
    return ids


def make_rationales(path: Path, ids: list[tuple[str, str | None]], facts: list[str]) -> None:
    from ctk.records import CitedFact, Rationale

    rng = random.Random(2)
    with path.open("w", encoding="utf-8") as fh:
        for admission_id, split in ids:
            if split != "train":
                continue
            cited = rng.sample(facts, 4)
            r = Rationale(
                admission_id=admission_id,
                note_rationale="The note is consistent with the diagnoses. " * 4,
                lab_rationale="Heart rate is higher than normal 3 times (max 141). " * 2,
                cited_facts=[CitedFact(fact_id=f, claim=f"Claim about {f}.") for f in cited],
                evidence_ids=cited,
                backend="template",
                prompt_version="teacher@1",
            )
            fh.write(r.model_dump_json(exclude_none=True) + "\n")


def make_eval(folder: Path, ids: list[tuple[str, str | None]]) -> None:
    from ctk.distill.evaluation import EvalReport

    folder.mkdir(parents=True, exist_ok=True)
    tested = [i for i, s in ids if s == "test"]
    (folder / "report.json").write_text(
        EvalReport(model="bench", split="test", n=len(tested)).model_dump_json(), encoding="utf-8"
    )
    with (folder / "predictions.jsonl").open("w", encoding="utf-8") as fh:
        for admission_id in tested:
            fh.write(
                json.dumps(
                    {"admission_id": admission_id, "predicted": ["Shock"], "true": [], "text": "x"}
                )
                + "\n"
            )


_CPU: list[float] = []  # CPU seconds of each timed call (all threads of this process)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    _CPU.append(time.process_time() - c0)
    return time.perf_counter() - t0, out


def time_viewer(
    cohort: Path,
    rationales: Path | None,
    store_path: Path,
    eval_dir: Path | None,
    *,
    samples: int,
    cache: Path,
    reference: bool,
) -> dict[str, Any]:
    """Start-up, admission page and list page times (and the plain reference beside them)."""
    from starlette.testclient import TestClient

    from ctk.cohort import iter_admissions
    from ctk.kg.stores import StoreOptions, open_store
    from ctk.view import AdmissionIndex, Viewer, create_app, load_eval_run
    from ctk.view.app import admission_url

    out: dict[str, Any] = {}
    build_s, index = _timed(
        lambda: AdmissionIndex.open(cohort, rationales=rationales, cache_dir=cache)
    )
    index.close()
    reopen_s, index = _timed(
        lambda: AdmissionIndex.open(cohort, rationales=rationales, cache_dir=cache)
    )
    out["index_build_s"], out["index_reopen_s"] = build_s, reopen_s
    out["admissions"] = index.summary.admissions
    store = open_store(str(store_path), StoreOptions(read_only=True))
    out["relations"] = store.stats().relations
    run = load_eval_run(eval_dir) if eval_dir is not None else None
    viewer_s, viewer = _timed(lambda: Viewer(index, store=store, run=run))
    out["viewer_start_s"] = viewer_s  # the note matcher over every concept
    client = TestClient(create_app(viewer), base_url="http://127.0.0.1")
    rows, total = index.page(limit=index.summary.admissions)
    rng = random.Random(7)
    chosen = rng.sample([r.admission_id for r in rows], min(samples, len(rows)))
    client.get(admission_url(chosen[0]))  # warm-up (templates compiled)
    times = []
    _CPU.clear()
    for admission_id in chosen:
        t, response = _timed(lambda a=admission_id: client.get(admission_url(a)))
        assert response.status_code == 200, response.text[:500]
        times.append(t)
    out["admission_page"] = _ms(times)
    out["admission_page_cpu"] = _ms(list(_CPU))
    last = (total + 49) // 50
    pages = [rng.randrange(1, last + 1) for _ in range(min(samples, 100))]
    _CPU.clear()
    list_times = [_timed(lambda p=p: client.get(f"/admissions?page={p}"))[0] for p in pages]
    out["list_page"] = _ms(list_times)
    out["list_page_cpu"] = _ms(list(_CPU))
    out["list_last_page_ms"] = 1000 * _timed(lambda: client.get(f"/admissions?page={last}"))[0]
    filtered = [
        "/admissions?phenotype=Shock&page=3",
        "/admissions?status=ok&split=train&page=200",
        "/admissions?phenotype=Essential%20hypertension&status=none",
    ]
    out["list_filtered"] = _ms([_timed(lambda u=u: client.get(u))[0] for u in filtered * 5])
    if reference:
        ref = []
        for admission_id in chosen[:5]:
            t, _ = _timed(
                lambda a=admission_id: next(
                    x for x in iter_admissions(cohort) if x.admission_id == a
                )
            )
            ref.append(t)
        out["reference_scan_one_admission"] = _ms(ref)
        t, _ = _timed(lambda: list(iter_admissions(cohort))[:50])
        out["reference_list_page_load_all_ms"] = 1000 * t
    store.close()
    index.close()
    return out


def _time_demo(d: Path, samples: int, cache: Path) -> dict[str, Any]:
    return time_viewer(
        d / "cohort",
        d / "rationales.jsonl" if (d / "rationales.jsonl").exists() else None,
        d / "kg.db",
        d / "eval" if (d / "eval" / "report.json").exists() else None,
        samples=samples,
        cache=cache,
        reference=False,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=None, help="inputs kept here between runs")
    parser.add_argument("--admissions", type=int, default=40_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--concepts", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200, help="admission pages timed")
    parser.add_argument("--demo", type=Path, default=None, help="also time the demo's outputs")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--demo-only", action="store_true", help="time only --demo (no large inputs made)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    work = args.work or Path(tempfile.mkdtemp(prefix="ctk-view-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    t0 = time.perf_counter()
    if args.demo_only:
        if args.demo is None:
            parser.error("--demo-only needs --demo DIR")
        with tempfile.TemporaryDirectory() as cache:
            results["demo"] = _time_demo(args.demo, args.samples, Path(cache))
        print(json.dumps(results, indent=1))
        if args.json is not None:
            args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
        return results
    facts = make_graph(work / f"kg-{args.edges}.db", args.edges, args.concepts, seed=0)
    logger.info("graph ready (%.0f s)", time.perf_counter() - t0)
    stamp = work / f"inputs-{args.admissions}.done"
    ids_file = work / "ids.json"
    if not stamp.exists():
        ids = make_cohort(work, args.admissions, args.concepts, seed=1)
        make_rationales(work / "rationales.jsonl", ids, facts)
        make_eval(work / "eval", ids)
        ids_file.write_text(json.dumps(ids), encoding="utf-8")
        stamp.touch()
    logger.info("inputs ready (%.0f s)", time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as cache:
        results["large"] = time_viewer(
            work / "cohort",
            work / "rationales.jsonl",
            work / f"kg-{args.edges}.db",
            work / "eval",
            samples=args.samples,
            cache=Path(cache) / "large",
            reference=True,
        )
        if args.demo is not None:
            results["demo"] = _time_demo(args.demo, args.samples, Path(cache) / "demo")
    print(json.dumps(results, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
