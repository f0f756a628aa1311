"""Rationale quality per prompt and teacher backend, through the quality gate.

On the demo cohort's train split (``ctk data synth --n 200 --seed 1``, imported as the
MIMIC-III benchmark layout) with the demo's knowledge graph (the bundled PubMed and
Wikipedia samples), built into a temporary folder as ``tools/demo.sh`` steps 1-2 do,
each prompt (free-form ``teacher``, ``teacher_compact``, ``teacher_grounded``) runs
with each backend (the offline SmolLM2-135M-Instruct served by llama.cpp through
``ctk teacher serve``'s :class:`~ctk.teacher.server.LocalTeacherServer`, and the
model-free ``template`` backend) on the same first ``--limit`` admissions. Per run:
records kept (``ok``), rejected by gate reason, failed, claimed concept pairs
supported by the graph (in kept records), mean words per kept rationale (Rm + Rt),
kept records with a cut-off sentence or a repeated claim, and generation time.

Kept rationales of every run are written to ``--out`` (``RUN.jsonl``) for reading.

Usage::

    python benchmarks/rationale_quality.py --limit 8 --out /tmp/rq     # ~30 min on 2 busy cores
    python benchmarks/rationale_quality.py --backends template --limit 160
    python benchmarks/rationale_quality.py --limit 8 --write           # updates RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from ctk.cohort import select_admissions
from ctk.kg.stores import StoreOptions, open_store
from ctk.plugins.llm.openai_compat import OpenAIBackend
from ctk.plugins.llm.template import TemplateBackend
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.teacher import GenerationConfig, check_rationales, generate_rationales, read_rationales
from ctk.teacher.server import LocalTeacherServer

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "RESULTS.md"
SECTION = "## Rationale quality (issue 21)"
PROMPTS = ("teacher", "teacher_compact", "teacher_grounded")
CTK = [sys.executable, "-c", "from ctk.cli.main import main; main()"]


def ctk(*args: str) -> None:
    subprocess.run([*CTK, *args], check=True, stdout=subprocess.DEVNULL, cwd=REPO)


def build_demo_data(work: Path) -> tuple[Path, Path]:
    """The demo's cohort and graph (tools/demo.sh steps 1-2), in ``work``."""
    samples = REPO / "samples" / "corpora"
    ctk("data", "synth", "--n", "200", "--seed", "1", "--out", str(work / "synth"))
    ctk(
        "data",
        "import",
        "--format",
        "mimic3-benchmark",
        str(work / "synth"),
        "--out",
        str(work / "cohort"),
    )
    ctk(
        "kg",
        "build",
        "--store",
        str(work / "kg.db"),
        "--source",
        f"pubmed:{samples / 'pubmed_baseline_sample.xml.gz'}",
        "--source",
        f"pubmed:{samples / 'pubmed_efetch_sample.xml'}",
        "--source",
        f"wikipedia:{samples / 'enwiki_medical_sample.xml.bz2'}",
        "--wiki-category",
        "medical",
    )
    return work / "cohort", work / "kg.db"


def one_run(
    name: str,
    backend: Any,
    prompt: str,
    cohort: Path,
    kg: Path,
    out_dir: Path,
    limit: int,
    max_tokens: int,
) -> dict[str, Any]:
    out = out_dir / f"{name}.jsonl"
    for stale in (out, out.with_name(out.name + ".cache")):
        if stale.is_file():
            stale.unlink()
    admissions, total = select_admissions(cohort, split="train", limit=limit)
    started_cpu = time.process_time()
    with open_store(str(kg), StoreOptions(read_only=True)) as store:
        summary = generate_rationales(
            admissions,
            retriever=GraphRetriever(store=store),
            backend=backend,
            out=out,
            store=store,
            total=total,
            config=GenerationConfig(
                prompt=prompt, concurrency=1, use_cache=False, max_tokens=max_tokens
            ),
        )
        report = check_rationales(read_rationales(out), store)
    n = report.rationales
    return {
        "run": name,
        "admissions": n,
        "kept": report.checked,
        "kept_share": report.checked / n if n else None,
        "rejected": report.rejected,
        "rejected_reasons": report.rejected_reasons,
        "failed": report.failed,
        "repaired": report.repaired,
        "pairs": report.pairs,
        "supported_pairs": report.supported_pairs,
        "support": report.support_rate,
        "mean_words": report.mean_words,
        "kept_truncated": report.kept_issues.get("truncated", 0),
        "kept_repeated_claim": report.kept_issues.get("repeated_claim", 0),
        "model_sentences_kept": summary.model_sentences_kept,
        "model_sentences_dropped": summary.model_sentences_dropped,
        "llm_calls": summary.llm_calls,
        "completion_tokens": summary.completion_tokens,
        "wall_s": summary.elapsed_s,
        "client_cpu_s": time.process_time() - started_cpu,
    }


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| run | kept | rejected (by reason) | failed | pairs supported (kept) | words/rationale "
        "| kept truncated / repeated claim | model sentences kept / dropped (grounded) | time |\n"
        "|---|---:|---|---:|---:|---:|---:|---|---:|"
    )
    lines = [head]
    for r in rows:
        reasons = ", ".join(f"{k} {v}" for k, v in r["rejected_reasons"].items()) or "-"
        words = "-" if r["mean_words"] is None else f"{r['mean_words']:.0f}"
        dropped = r["model_sentences_dropped"]
        model = (
            f"{r['model_sentences_kept']} / {sum(dropped.values())}"
            + (f" ({', '.join(f'{k} {v}' for k, v in dropped.items())})" if dropped else "")
            if r["run"].endswith("grounded") and not r["run"].startswith("template")
            else "-"
        )
        lines.append(
            f"| {r['run']} | {r['kept']}/{r['admissions']} ({pct(r['kept_share'])}) "
            f"| {r['rejected']} ({reasons}) | {r['failed']} "
            f"| {r['supported_pairs']}/{r['pairs']} ({pct(r['support'])}) | {words} "
            f"| {r['kept_truncated']} / {r['kept_repeated_claim']} | {model} "
            f"| {r['wall_s']:.0f} s ({r['llm_calls']} calls) |"
        )
    return "\n".join(lines)


def write_results(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8")
    if SECTION in current:
        head, _, rest = current.partition(SECTION)
        tail = rest.split("\n## ", 1)
        current = head + text + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    RESULTS.write_text(current, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=8, help="First N train admissions.")
    parser.add_argument("--backends", default="smollm2,template", help="smollm2, template.")
    parser.add_argument("--prompts", default=",".join(PROMPTS))
    parser.add_argument("--max-tokens", type=int, default=600)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp CPU threads.")
    parser.add_argument("--work", type=Path, default=None, help="Reuse cohort/ and kg.db here.")
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="rq-")))
    parser.add_argument("--write", action="store_true", help="Update benchmarks/RESULTS.md.")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the llama.cpp server started below is stopped too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="rq-data-"))
    if (work / "cohort").is_dir() and (work / "kg.db").exists():
        cohort, kg = work / "cohort", work / "kg.db"
    else:
        cohort, kg = build_demo_data(work)
    prompts = [p for p in args.prompts.split(",") if p]
    rows: list[dict[str, Any]] = []

    def run_prompts(label: str, make_backend: Callable[[], Any]) -> None:
        for prompt in prompts:  # a fresh backend per prompt (no state carried across runs)
            rows.append(
                one_run(
                    f"{label}/{prompt}",
                    make_backend(),
                    prompt,
                    cohort,
                    kg,
                    args.out,
                    args.limit,
                    args.max_tokens,
                )
            )
            print(json.dumps(rows[-1]), flush=True)

    for backend_name in args.backends.split(","):
        if backend_name == "template":
            run_prompts("template", TemplateBackend)
        elif backend_name == "smollm2":
            log = args.out / "llama-server.log"
            with LocalTeacherServer(n_ctx=4096, n_threads=args.threads, log_file=log) as server:
                options = {"base_url": server.base_url, "timeout_s": 900}
                run_prompts("smollm2", partial(OpenAIBackend, options))
        else:
            raise SystemExit(f"unknown backend {backend_name!r} (smollm2, template)")
    command = (
        f"python benchmarks/rationale_quality.py --limit {args.limit} "
        f"--backends {args.backends} --max-tokens {args.max_tokens}"
    )
    load = os.getloadavg()[0]
    text = (
        f"{SECTION}\n\nCommand: `{command}` (first {args.limit} train admissions of the demo "
        f"cohort, demo graph, k=8, greedy; {os.cpu_count()} cores, load {load:.1f}).\n\n"
        f"{table(rows)}\n"
    )
    print(text)
    (args.out / "results.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    if args.write:
        write_results(text)


if __name__ == "__main__":
    main()
