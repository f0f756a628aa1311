"""The 1,000-admission CPU run (issue 24, item 6): the tiny student against plain baselines.

The cohort is what ``ctk data synth --n 1000 --seed 7`` and ``ctk data import
--format mimic3-benchmark`` make (the planted-signal synthetic cohort: 800 train,
200 test admissions). The student is the one ``ctk distill init-tiny
--write-config`` sets up (its tiny LM, tokenizer and run config, whatever the
current defaults are), given ``--steps`` steps a phase, trained once per seed,
then scored with ``ctk distill eval`` (micro/macro F1 on the test split). The
baselines are ``ctk distill baseline``'s (one-vs-rest logistic regression over
note TF-IDF, over lab summaries, over both; scikit-learn), fitted on the same
train split and scored on the same test admissions.

Each seed's wall time and CPU seconds of training are recorded; the issue's
budget is at most 10 minutes of training a seed on 2 cores. Results go to
``OUT/results.json`` (finished seeds are kept: the script continues where it
stopped) and a Markdown table to ``OUT/table.md``.

Run (docs/distill.md, "The 1,000-admission CPU run")::

    python benchmarks/long_cpu_run.py --out /tmp/ctk-long --steps 600 --seeds 1,2,3

Choosing settings without the test split: ``--validation 0.2`` holds out a fifth of the
train split as the scored split (results under ``OUT/validation``), ``--set KEY=VALUE``
overrides one run-config setting, ``--thresholds`` also scores the head at other
thresholds::

    python benchmarks/long_cpu_run.py --out /tmp/ctk-long-val --steps 600 --seeds 1 \
        --validation 0.2 --thresholds 0.3,0.4,0.5 --set train.phases.3.head_weight_decay=0.5

A dry run at a tiny scale (a minute)::

    python benchmarks/long_cpu_run.py --out /tmp/ctk-long-dry --n 60 --steps 3 --seeds 1
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from mechanism import setup_torch

logger = logging.getLogger("long_cpu_run")


def _cohort(out: Path, n: int, seed: int) -> Path:
    """``ctk data synth --n N --seed S`` then ``ctk data import --format mimic3-benchmark``."""
    from ctk.cli.main import main as ctk

    cohort = out / "cohort"
    if (cohort / "manifest.json").is_file():
        return cohort
    for argv in (
        ["data", "synth", "--n", str(n), "--seed", str(seed), "--out", str(out / "synth")],
        [
            "data",
            "import",
            "--format",
            "mimic3-benchmark",
            str(out / "synth"),
            "--out",
            str(cohort),
        ],
    ):
        try:
            ctk(argv)
        except SystemExit as e:
            if e.code not in (0, None):
                raise
    return cohort


def _validation_cohort(out: Path, cohort: Path, fraction: float, seed: int) -> Path:
    """The cohort's train split alone, a seeded ``fraction`` of it relabelled ``test``.

    Settings are chosen on this validation split, never on the real test split.
    """
    import random

    from ctk.cohort import iter_admissions, write_cohort

    folder = out / "validation-cohort"
    if (folder / "manifest.json").is_file():
        return folder
    train = [a for a in iter_admissions(cohort) if a.split == "train"]
    held = set(random.Random(seed).sample(range(len(train)), round(fraction * len(train))))
    rows = [
        a.model_copy(update={"split": "test" if i in held else "train"})
        for i, a in enumerate(train)
    ]
    write_cohort(folder, rows, source="validation split of the train split")
    return folder


def _tiny_lm(out: Path, cohort: Path, seed: int, spec_items: list[str]) -> Path:
    """``ctk distill init-tiny`` (its defaults, or ``--spec``): the LM and its tokenizer."""
    from ctk.distill.config import TinyLMSpec
    from ctk.distill.tiny import build_tiny_lm, cohort_texts

    spec: dict[str, Any] = {}
    for item in spec_items:
        _set(spec, item, "--spec", "word_split_punctuation=true")
    lm = out / f"tiny-lm-s{seed}"
    if not (lm / "config.json").is_file():
        build_tiny_lm(lm, cohort_texts(cohort), TinyLMSpec.model_validate(spec), seed=seed)
    return lm


def _run_config(out: Path, cohort: Path, lm: Path, seed: int, args: argparse.Namespace) -> Any:
    """The config ``init-tiny --write-config`` writes, with this run's steps, seed and threads."""
    import yaml

    from ctk.distill.config import RunConfig
    from ctk.distill.tiny import tiny_run_config

    raw = yaml.safe_load(tiny_run_config(cohort, lm, steps=args.steps))
    raw["output_dir"] = str(out / "runs" / f"s{seed}")
    raw["train"].update(
        {"seed": seed, "cpu_threads": args.threads, "tensorboard": False, "save_every": 0}
    )
    if args.batch_size:
        raw["train"]["batch_size"] = args.batch_size
    if args.ka_variant:
        raw["student"]["ka_variant"] = args.ka_variant
    for item in args.set:
        _set(raw, item)
    return RunConfig.model_validate(raw)


def _set(
    raw: dict[str, Any],
    item: str,
    option: str = "--set",
    example: str = "student.classifier_labs=true",
) -> None:
    """Apply one ``--set a.b.c=VALUE`` (VALUE read as YAML) to the raw settings."""
    import yaml

    key, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(
            f"{option} {item!r}: expected KEY=VALUE, e.g. student.classifier_labs=true"
        )
    *path, last = key.split(".")
    node: Any = raw
    for part in path:
        part_key: Any = int(part) if part.isdigit() else part
        node = node.setdefault(part_key, {})
    node[int(last) if last.isdigit() else last] = yaml.safe_load(value)


def _baselines(out: Path, cohort: Path) -> dict[str, Any]:
    """``ctk distill baseline`` on the test split: micro/macro F1 per baseline."""
    path = out / "baselines.json"
    if path.is_file():
        return dict(json.loads(path.read_text()))
    from ctk.distill.baseline import run_baselines

    report = run_baselines(cohort, "test")
    scores = {
        b.name: {"micro_f1": b.micro["f1"], "macro_f1": b.macro["f1"]} for b in report.baselines
    }
    path.write_text(json.dumps(scores, indent=1) + "\n")
    return scores


def _threshold_sweep(model_dir: Path, cohort: Path, thresholds: list[float]) -> dict[str, float]:
    """Micro-F1 of the diagnosis head's decisions on the scored split, per threshold."""
    from ctk.distill.data.examples import build_examples
    from ctk.distill.inference import head_probabilities, load_student
    from ctk.distill.modeling.diagnosis_head import multi_hot
    from ctk.phenotypes import PHENOTYPE_NAMES

    student = load_student(model_dir)
    s = student.config.student
    examples = build_examples(cohort, s.lab_variables, s.max_hours, split="test").examples
    probs = head_probabilities(student, examples)
    truth = multi_hot([e.diagnoses for e in examples]).bool()
    assert probs.shape == (len(examples), len(PHENOTYPE_NAMES))
    out: dict[str, float] = {}
    for t in thresholds:
        pred = probs > t
        tp = float((pred & truth).sum())
        denominator = float(pred.sum() + truth.sum())
        out[f"{t:g}"] = round(2 * tp / denominator, 4) if denominator else 0.0
    return out


def _spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {sd:.3f}"


def table(runs: dict[str, Any], baselines: dict[str, Any]) -> str:
    """Markdown: the student per seed and over seeds, then each baseline."""
    lines = [
        "| model | seeds | micro-F1 | macro-F1 | train wall s | train CPU s |",
        "|---|---|---|---|---|---|",
    ]
    rows = list(runs.values())
    for r in rows:
        lines.append(
            f"| tiny student, seed {r['seed']} | 1 | {r['micro_f1']:.3f} | {r['macro_f1']:.3f} "
            f"| {r['train_seconds']:.0f} | {r['train_cpu_seconds']:.0f} |"
        )
    if rows:
        lines.append(
            f"| **tiny student** | {len(rows)} | {_spread([r['micro_f1'] for r in rows])} "
            f"| {_spread([r['macro_f1'] for r in rows])} "
            f"| {statistics.fmean(r['train_seconds'] for r in rows):.0f} "
            f"| {statistics.fmean(r['train_cpu_seconds'] for r in rows):.0f} |"
        )
    for name, b in baselines.items():
        lines.append(
            f"| baseline: {name} | - | {b['micro_f1']:.3f} | {b['macro_f1']:.3f} | - | - |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Train and score the student per seed; score the baselines; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=1000, help="admissions of the cohort")
    parser.add_argument("--cohort-seed", type=int, default=7)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--steps", type=int, default=400, help="steps per phase")
    parser.add_argument("--batch-size", type=int, default=0, help="0: the written config's")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--ka-variant", default="", help="student.ka_variant (default: the config's default)"
    )
    parser.add_argument("--max-test", type=int, default=0, help="test admissions scored (0: all)")
    parser.add_argument(
        "--thresholds",
        default="",
        help="also score the head's decisions at these thresholds (comma-separated), "
        "e.g. 0.2,0.3,0.4,0.5: with --validation, to choose student.classifier_threshold",
    )
    parser.add_argument(
        "--validation",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="score on a validation split instead: this fraction of the train split is held "
        "out (seeded by --cohort-seed) and the real test split is not read (for choosing "
        "settings)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one run-config setting (VALUE as YAML), e.g. "
        "--set train.phases.2.head_lr=0.03 (repeatable)",
    )
    parser.add_argument(
        "--spec",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one tiny-LM setting (TinyLMSpec, VALUE as YAML), e.g. "
        "--spec word_split_punctuation=true (repeatable)",
    )
    args = parser.parse_args(argv)
    setup_torch(args.threads)

    from ctk.distill.evaluation import evaluate_model, write_report
    from ctk.distill.trainer import train

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    cohort = _cohort(out, args.n, args.cohort_seed)
    if args.validation:  # its own results, baselines and runs, under OUT/validation
        cohort = _validation_cohort(out, cohort, args.validation, args.cohort_seed)
        out = out / "validation"
        out.mkdir(exist_ok=True)
    baselines = _baselines(out, cohort)
    results_path = out / "results.json"
    runs: dict[str, Any] = (
        json.loads(results_path.read_text())["runs"] if results_path.is_file() else {}
    )
    for seed in [int(s) for s in args.seeds.split(",")]:
        key = f"s{seed}"
        if key in runs:
            continue
        lm = _tiny_lm(out, cohort, seed, args.spec)
        cfg = _run_config(out, cohort, lm, seed, args)
        shutil.rmtree(cfg.output_dir, ignore_errors=True)
        t0, c0 = time.perf_counter(), time.process_time()
        result = train(cfg, "all")
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        assert result.model_dir is not None
        report = evaluate_model(
            result.model_dir, cohort, split="test", batch_size=32, max_admissions=args.max_test
        )
        write_report(report, out / "eval" / key)
        sweep = (
            _threshold_sweep(
                result.model_dir, cohort, [float(t) for t in args.thresholds.split(",")]
            )
            if args.thresholds
            else {}
        )
        runs[key] = {
            "seed": seed,
            "micro_f1": report.micro["f1"],
            "macro_f1": report.macro["f1"],
            "train_seconds": round(seconds, 1),
            "train_cpu_seconds": round(cpu, 1),
            "phases": [
                {"phase": p.phase, "steps": p.steps, "final_loss": p.final_loss}
                for p in result.phases
            ],
            "test_admissions": report.n,
            "head_micro_f1_by_threshold": sweep,
            "load_average": os.getloadavg(),
        }
        logger.info("%s: %s", key, runs[key])
        results_path.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": runs}, indent=1)
            + "\n"
        )
    text = table(runs, baselines)
    (out / "table.md").write_text(text)
    print(text)
    return {"runs": runs, "baselines": baselines}


if __name__ == "__main__":
    main()
