"""Plain multi-label classifiers beside the student: every score gets a baseline.

Three one-vs-rest logistic regressions (scikit-learn, ``C=10``), trained on the
cohort's train split and scored on another split with the same metrics as the
student (:func:`ctk.distill.evaluation.classification_scores`):

- ``tfidf``: TF-IDF of the note text the student reads (``note.main_text()``,
  the Brief Hospital Course when the note has one; ``note_text="full"`` for the
  whole note): word 1-2-grams, ``min_df=2``, sublinear tf.
- ``labs``: per lab variable the mean, min, max, last value, standard deviation,
  fraction of observed values outside the lab ranges ctk ships
  (:func:`ctk.lab_variables.load_lab_ranges`) and fraction of hours missing;
  imputed with the train mean where a variable was never observed, standardised
  on the train split.
- ``tfidf+labs``: both feature sets side by side, the lab block scaled by
  ``1/sqrt(columns)`` so that it has the unit norm of a TF-IDF row.

Everything is deterministic (lbfgs, a fixed seed). A phenotype that has a single
class in the train split (absent from every train admission, or present in all)
gets a constant predictor, and the report names it.

Example:
    >>> from ctk.distill.baseline import run_baselines  # doctest: +SKIP
    >>> report = run_baselines("cohort", split="test")  # doctest: +SKIP
    >>> report.best().name, round(report.best().micro["f1"], 3)  # doctest: +SKIP
    ('tfidf', 0.638)
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from ctk.distill.evaluation import ClassifierScores, classification_scores
from ctk.errors import ConfigError, DataError, MissingDependencyError
from ctk.jsonl import read_json_record
from ctk.lab_variables import PAPER_VARIABLES, LabRange, load_lab_ranges
from ctk.phenotypes import PHENOTYPE_NAMES
from ctk.records import Admission

__all__ = [
    "BASELINE_FILE",
    "BASELINE_NAMES",
    "BaselineReport",
    "BaselineScore",
    "lab_summary_features",
    "read_baseline_report",
    "run_baselines",
    "write_baseline_report",
]

logger = logging.getLogger(__name__)

#: The report file ``ctk distill baseline`` writes (and ``ctk distill eval --baseline`` reads).
BASELINE_FILE = "baseline.json"

#: The baselines, in the order they are trained and reported.
BASELINE_NAMES: tuple[str, ...] = ("tfidf", "labs", "tfidf+labs")

#: Summary statistics per lab variable, in feature order.
LAB_STATISTICS: tuple[str, ...] = (
    "mean",
    "min",
    "max",
    "last",
    "std",
    "fraction_abnormal",
    "fraction_missing",
)

_FEATURES = {
    "tfidf": "note TF-IDF, word 1-2-grams, min_df 2, sublinear tf",
    "labs": "lab summaries: mean, min, max, last, std, fraction abnormal, fraction missing",
    "tfidf+labs": "note TF-IDF and lab summaries",
}


class BaselineScore(ClassifierScores):
    """One baseline's scores on the evaluated split (``name`` ... ``per_phenotype``), plus:

    Attributes:
        n_features: Feature columns after fitting on the train split.
        predicted: Predicted phenotype names per scored admission, in the order of
            ``BaselineReport.admission_ids`` (for paired comparisons with a student).
    """

    n_features: int = 0
    predicted: list[list[str]] = Field(default_factory=list)


class BaselineReport(BaseModel):
    """What ``ctk distill baseline`` writes (``baseline.json``).

    Attributes:
        kind: Always ``ctk.distill.baseline``.
        format_version: Report format version.
        cohort: The cohort read.
        train_split: The split the classifiers were fitted on.
        split: The split scored.
        n_train: Train admissions.
        n: Admissions scored.
        admission_ids: The scored admissions, in cohort order.
        seed: The classifiers' seed.
        note_text: ``main`` (the section the student reads) or ``full`` (the whole note).
        C: Inverse regularisation strength of the logistic regressions.
        baselines: One entry per baseline that could be trained.
        constant_phenotypes: Phenotypes with one class in the train split, each
            predicted as that class, with the reason.
        notes: Baselines skipped and other remarks.
    """

    kind: Literal["ctk.distill.baseline"] = "ctk.distill.baseline"
    format_version: int = 1
    cohort: str = ""
    train_split: str = "train"
    split: str = "test"
    n_train: int = 0
    n: int = 0
    admission_ids: list[str] = Field(default_factory=list)
    seed: int = 0
    note_text: Literal["main", "full"] = "main"
    C: float = 10.0
    baselines: list[BaselineScore] = Field(default_factory=list)
    constant_phenotypes: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    def best(self) -> BaselineScore:
        """The baseline with the highest micro-F1 (ties: the first in ``BASELINE_NAMES``).

        Raises:
            DataError: The report holds no baseline.
        """
        if not self.baselines:
            raise DataError(
                "the baseline report holds no baseline",
                hint="re-run `ctk distill baseline`; its notes say why each one was skipped",
            )
        return max(self.baselines, key=lambda b: b.micro.get("f1", 0.0))


def _require_sklearn() -> None:
    try:
        import sklearn  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError("scikit-learn", "eval") from e


def lab_summary_features(
    admissions: Sequence[Admission],
    ranges: Mapping[str, LabRange] | None = None,
    variables: Sequence[str] = PAPER_VARIABLES,
) -> np.ndarray:
    """Raw lab summaries: one row per admission, ``len(variables) * 7`` columns.

    Per variable, in ``LAB_STATISTICS`` order: mean, min, max, last, std, fraction of
    observed values outside the range, fraction of hours missing. A variable with no
    observed value has NaN for its first five statistics (imputed by the caller), 0
    abnormal and 1 missing; a variable without a range has 0 abnormal.

    Args:
        admissions: The admissions.
        ranges: Lab ranges (default: the table ctk ships).
        variables: The variables summarised (default: the paper's 11).

    Returns:
        A float64 array ``[len(admissions), len(variables) * 7]``.
    """
    table = load_lab_ranges() if ranges is None else ranges
    out = np.full((len(admissions), len(variables) * len(LAB_STATISTICS)), np.nan)
    width = len(LAB_STATISTICS)
    for i, adm in enumerate(admissions):
        labs = adm.labs
        index = {name: k for k, name in enumerate(labs.variables)} if labs is not None else {}
        hours = max(len(labs.hours), 1) if labs is not None else 1
        for j, name in enumerate(variables):
            col = j * width
            row = labs.values[index[name]] if labs is not None and name in index else []
            seen = np.array([v for v in row if v is not None], dtype=np.float64)
            out[i, col + 6] = 1.0 - len(seen) / hours
            if not len(seen):
                out[i, col + 5] = 0.0
                continue
            out[i, col : col + 5] = (seen.mean(), seen.min(), seen.max(), seen[-1], seen.std())
            bounds = table.get(name)
            abnormal = ((seen < bounds.low) | (seen > bounds.high)).mean() if bounds else 0.0
            out[i, col + 5] = float(abnormal)
    return out


def _note_texts(admissions: Sequence[Admission], note_text: str) -> list[str]:
    texts = []
    for adm in admissions:
        if adm.note is None:
            texts.append("")
        else:
            texts.append(adm.note.main_text() if note_text == "main" else adm.note.text)
    return texts


def _label_matrix(admissions: Sequence[Admission]) -> np.ndarray:
    index = {n: j for j, n in enumerate(PHENOTYPE_NAMES)}
    y = np.zeros((len(admissions), len(PHENOTYPE_NAMES)), dtype=np.int64)
    for i, adm in enumerate(admissions):
        for name in adm.phenotypes:
            if name in index:
                y[i, index[name]] = 1
    return y


class _LabScaler:
    """Train-mean imputation and standardisation of lab summaries."""

    def __init__(self, train: np.ndarray) -> None:
        seen = (~np.isnan(train)).sum(axis=0)
        self.fill = np.nansum(train, axis=0) / np.maximum(seen, 1)
        filled = self._impute(train)
        self.mean = filled.mean(axis=0)
        std = filled.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)

    def _impute(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), self.fill, x)

    def transform(self, x: np.ndarray) -> np.ndarray:
        scaled: np.ndarray = (self._impute(x) - self.mean) / self.std
        return scaled


def _fit_predict(
    x_train: Any,
    y_train: np.ndarray,
    x_eval: Any,
    constant: Mapping[int, int],
    *,
    c: float,
    seed: int,
) -> np.ndarray:
    """One logistic regression per phenotype; constant columns predicted as their class."""
    from sklearn.linear_model import LogisticRegression

    n_eval = x_eval.shape[0]
    pred = np.zeros((n_eval, y_train.shape[1]), dtype=np.int64)
    for j in range(y_train.shape[1]):
        if j in constant:
            pred[:, j] = constant[j]
            continue
        clf = LogisticRegression(C=c, max_iter=2000, random_state=seed)
        clf.fit(x_train, y_train[:, j])
        pred[:, j] = clf.predict(x_eval)
    return pred


def _read_split(
    cohort: str | Path, split: str, ids: Collection[str] | None = None
) -> list[Admission]:
    from ctk.cohort import iter_admissions

    keep = set(ids) if ids is not None else None
    return [
        a
        for a in iter_admissions(cohort)
        if a.split == split and (keep is None or a.admission_id in keep)
    ]


def run_baselines(
    cohort: str | Path,
    split: str = "test",
    *,
    train_split: str = "train",
    seed: int = 0,
    note_text: Literal["main", "full"] = "main",
    c: float = 10.0,
    ranges: Mapping[str, LabRange] | None = None,
    admission_ids: Collection[str] | None = None,
    which: Sequence[str] = BASELINE_NAMES,
) -> BaselineReport:
    """Fit the baselines on ``train_split`` and score them on ``split``.

    Args:
        cohort: Cohort folder or admissions JSONL.
        split: The split scored.
        train_split: The split the classifiers are fitted on.
        seed: Seed of the classifiers (lbfgs is deterministic; kept for the record).
        note_text: ``main``: the section the student reads; ``full``: the whole note.
        c: Inverse regularisation strength (the issue's 10).
        ranges: Lab ranges for the abnormal fractions (default: the table ctk ships).
        admission_ids: Score only these admissions of ``split`` (e.g. the ones a
            student was evaluated on); None: all of them.
        which: The baselines to run (a subset of ``BASELINE_NAMES``).

    Returns:
        The report: one :class:`BaselineScore` per baseline, the constant phenotypes
        and notes on anything skipped.

    Raises:
        MissingDependencyError: scikit-learn is not installed.
        DataError: The train or the scored split has no admission.
        ConfigError: An unknown baseline name.
    """
    unknown = [w for w in which if w not in BASELINE_NAMES]
    if unknown:
        raise ConfigError(
            f"unknown baseline(s): {', '.join(unknown)}",
            hint=f"choose from {', '.join(BASELINE_NAMES)}",
        )
    _require_sklearn()
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = _read_split(cohort, train_split)
    scored = _read_split(cohort, split, admission_ids)
    for name, rows in ((train_split, train), (split, scored)):
        if not rows:
            raise DataError(
                f"cohort {cohort} has no admission in split {name!r}",
                hint="check the cohort's splits with `ctk data stats`",
            )
    report = BaselineReport(
        cohort=str(cohort),
        train_split=train_split,
        split=split,
        n_train=len(train),
        n=len(scored),
        admission_ids=[a.admission_id for a in scored],
        seed=seed,
        note_text=note_text,
        C=c,
    )
    y_train = _label_matrix(train)
    truth = [a.phenotypes for a in scored]
    constant: dict[int, int] = {}
    for j, name in enumerate(PHENOTYPE_NAMES):
        positives = int(y_train[:, j].sum())
        if positives == 0:
            constant[j] = 0
            report.constant_phenotypes[name] = f"absent from the {len(train)} train admissions"
        elif positives == len(train):
            constant[j] = 1
            report.constant_phenotypes[name] = f"present in all {len(train)} train admissions"
    if report.constant_phenotypes:
        report.notes.append(
            f"{len(report.constant_phenotypes)} phenotype(s) with one class in the train split "
            "get a constant prediction: " + ", ".join(sorted(report.constant_phenotypes))
        )

    features: dict[str, tuple[Any, Any]] = {}
    train_texts, eval_texts = _note_texts(train, note_text), _note_texts(scored, note_text)
    if not any(t.strip() for t in train_texts):
        report.notes.append("tfidf skipped: no train admission has a note")
    else:
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        try:
            features["tfidf"] = (
                vectorizer.fit_transform(train_texts),
                vectorizer.transform(eval_texts),
            )
        except ValueError as e:  # empty vocabulary: no word in two train notes
            report.notes.append(f"tfidf skipped: {e}")
    missing_notes = sum(1 for t in eval_texts if not t.strip())
    if missing_notes:
        report.notes.append(f"{missing_notes} scored admission(s) have no note text")
    raw_train = lab_summary_features(train, ranges)
    if all(a.labs is None for a in train):
        report.notes.append("labs skipped: no train admission has labs")
    else:
        scaler = _LabScaler(raw_train)
        features["labs"] = (
            scaler.transform(raw_train),
            scaler.transform(lab_summary_features(scored, ranges)),
        )
    if "tfidf" in features and "labs" in features:
        # A TF-IDF row has unit L2 norm; the standardised lab block is scaled by
        # 1/sqrt(columns) to the same expected norm, so neither block drowns the other.
        weight = 1.0 / np.sqrt(features["labs"][0].shape[1])
        features["tfidf+labs"] = tuple(  # type: ignore[assignment]
            sparse.hstack([text, sparse.csr_matrix(labs * weight)]).tocsr()
            for text, labs in zip(features["tfidf"], features["labs"], strict=True)
        )
    for name in which:
        if name not in features:
            if name == "tfidf+labs":
                report.notes.append("tfidf+labs skipped: it needs both feature sets")
            continue
        x_train, x_eval = features[name]
        pred = _fit_predict(x_train, y_train, x_eval, constant, c=c, seed=seed)
        predicted = [[PHENOTYPE_NAMES[j] for j in np.flatnonzero(row)] for row in pred]
        micro, macro, per = classification_scores(truth, predicted)
        report.baselines.append(
            BaselineScore(
                name=name,
                features=_FEATURES[name],
                n_features=int(x_train.shape[1]),
                micro=micro,
                macro=macro,
                per_phenotype=per,
                predicted=predicted,
            )
        )
        logger.info("baseline %s: micro-F1 %.4f", name, micro["f1"])
    if not report.baselines:
        report.notes.append("no baseline could be trained")
    return report


def write_baseline_report(report: BaselineReport, out_dir: str | Path) -> list[Path]:
    """Write ``baseline.json`` and ``baseline.md`` (both averages, per-phenotype F1).

    Returns:
        The files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / BASELINE_FILE, out / "baseline.md"
    json_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    names = [b.name for b in report.baselines]
    lines = [
        f"# Baselines on `{report.cohort}`",
        "",
        f"Fitted on split `{report.train_split}` ({report.n_train} admissions), scored on "
        f"`{report.split}` ({report.n} admissions); one-vs-rest logistic regression, "
        f"C={report.C:g}, seed {report.seed}, note text `{report.note_text}`.",
        "",
        "| baseline | micro-P | micro-R | micro-F1 | macro-F1 | features |",
        "|---|---|---|---|---|---|",
        *(
            f"| {b.name} | {b.micro['precision']:.4f} | {b.micro['recall']:.4f} "
            f"| {b.micro['f1']:.4f} | {b.macro['f1']:.4f} | {b.features} ({b.n_features}) |"
            for b in report.baselines
        ),
    ]
    if report.baselines:
        support = {s.name: s.support for s in report.baselines[0].per_phenotype}
        lines += [
            "",
            "| phenotype | support | " + " | ".join(f"{n} F1" for n in names) + " |",
            "|---|---|" + "---|" * len(names),
        ]
        for k, name in enumerate(PHENOTYPE_NAMES):
            cells = " | ".join(f"{b.per_phenotype[k].f1:.3f}" for b in report.baselines)
            lines.append(f"| {name} | {support[name]} | {cells} |")
    if report.notes:
        lines += ["", *(f"- {n}" for n in report.notes)]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [json_path, md_path]


def read_baseline_report(path: str | Path) -> BaselineReport:
    """Read a ``baseline.json`` (or the folder holding one).

    Raises:
        DataError: No such file, or not a baseline report.
    """
    p = Path(path)
    if p.is_dir():
        p = p / BASELINE_FILE
    if not p.is_file():
        raise DataError(
            f"no baseline report at {p}",
            hint="run `ctk distill baseline --cohort COHORT --out DIR` and pass DIR",
        )
    return read_json_record(
        p,
        BaselineReport,
        what="a baseline report",
        hint="pass the folder `ctk distill baseline` wrote",
    )
