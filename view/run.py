"""An evaluation folder (``ctk distill eval --out``) as the viewer reads it.

``report.json`` is required (:class:`ctk.distill.evaluation.EvalReport`);
``predictions.jsonl`` (one line per admission: ``admission_id``, ``predicted``,
``true``, ``text``), ``report.md`` and the plots ``per_phenotype_f1.png`` and
``loss_curves.png`` are shown when present.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ctk.distill.evaluation import PREDICTIONS_FILE, AdmissionPrediction, EvalReport
from ctk.errors import DataError, RecordParseError
from ctk.jsonl import read_jsonl

__all__ = ["PLOT_FILES", "EvalRun", "load_eval_run", "prediction_errors"]

#: The plots an evaluation folder may hold, in the order shown.
PLOT_FILES: tuple[str, ...] = ("per_phenotype_f1.png", "loss_curves.png")


def prediction_errors(prediction: AdmissionPrediction) -> tuple[int, int, int]:
    """(correct, missed, false positives) of a prediction against its ``true`` phenotypes."""
    truth, guessed = set(prediction.true), set(prediction.predicted)
    return len(truth & guessed), len(truth - guessed), len(guessed - truth)


@dataclass
class EvalRun:
    """What an evaluation folder holds.

    Attributes:
        folder: The folder.
        report: The report.
        predictions: Admission id -> the student's output (empty without the file).
        plots: File names of the plots present.
    """

    folder: Path
    report: EvalReport
    predictions: dict[str, AdmissionPrediction] = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    def worst(self, n: int = 50) -> list[tuple[AdmissionPrediction, tuple[int, int, int]]]:
        """The ``n`` predictions with the most errors (missed + false positives), worst first.

        Returns:
            (prediction, (correct, missed, false positives)) pairs; error-free ones left out.
        """
        scored = [(p, prediction_errors(p)) for p in self.predictions.values()]
        scored.sort(key=lambda pe: (-(pe[1][1] + pe[1][2]), pe[0].admission_id))
        return [pe for pe in scored[:n] if pe[1][1] + pe[1][2]]


def load_eval_run(folder: str | Path) -> EvalRun:
    """Read an evaluation folder.

    Raises:
        DataError: The folder or its ``report.json`` is missing.
        RecordParseError: ``report.json`` or a line of ``predictions.jsonl`` is not valid.
    """
    path = Path(folder)
    report_path = path / "report.json"
    if not report_path.is_file():
        raise DataError(
            f"{path} is not an evaluation folder: no report.json in it",
            hint="pass the folder `ctk distill eval --out` wrote",
        )
    try:
        report = EvalReport.model_validate(json.loads(report_path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, ValidationError) as e:
        raise RecordParseError(
            f"not an evaluation report ({type(e).__name__})", source=str(report_path)
        ) from e
    predictions: dict[str, AdmissionPrediction] = {}
    pred_path = path / PREDICTIONS_FILE
    if pred_path.is_file():
        for p in read_jsonl(pred_path, AdmissionPrediction, what="prediction", torn_tail="skip"):
            predictions[p.admission_id] = p
    plots = [name for name in PLOT_FILES if (path / name).is_file()]
    return EvalRun(folder=path, report=report, predictions=predictions, plots=plots)
