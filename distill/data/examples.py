"""Training examples from a cohort, a rationale file and a V_k file.

One :class:`DistillExample` per admission: the note (``note.main_text()``), the
labs as a ``[V, T]`` float array plus an observation mask (the student's lab
variables, in its order; the first ``max_hours`` hours), the diagnoses, the
teacher's Rm/Rt and the anomaly captions. Rationales are joined on
``admission_id``; only ``status == "ok"`` lines count. **An admission without a
rationale keeps its diagnoses with an empty rationale** (counted and logged), so
a partial rationale run still trains the diagnosis part.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ctk.errors import DataError, RecordParseError
from ctk.records import Admission, LabSeries, Rationale, strip_template_label
from ctk.report import ProblemReport
from ctk.vocabulary import read_vocabulary

__all__ = [
    "DistillExample",
    "ExampleSet",
    "build_examples",
    "example_from_admission",
    "lab_arrays",
    "lab_captions",
    "read_rationales",
    "read_vocabulary_names",
]

logger = logging.getLogger(__name__)


@dataclass
class DistillExample:
    """One admission, ready for any phase.

    Attributes:
        admission_id: The admission's id.
        note: Note text ("" when the admission has none).
        labs: ``[V, T]`` float32 values (0 where missing), or None without labs.
        lab_mask: ``[V, T]`` float32, 1 where observed.
        diagnoses: Phenotype names (benchmark spelling).
        note_rationale: Rm ("" when none).
        lab_rationale: Rt ("" when none).
        captions: Lab anomaly captions.
    """

    admission_id: str
    note: str
    labs: np.ndarray | None
    lab_mask: np.ndarray | None
    diagnoses: list[str]
    note_rationale: str = ""
    lab_rationale: str = ""
    captions: list[str] = field(default_factory=list)


@dataclass
class ExampleSet:
    """Examples plus what happened while building them.

    Attributes:
        examples: The examples, cohort order.
        with_rationale: How many found an ``ok`` rationale.
        problems: Skipped or incomplete records.
    """

    examples: list[DistillExample]
    with_rationale: int
    problems: ProblemReport


def lab_arrays(
    labs: LabSeries | None, variables: list[str], max_hours: int
) -> tuple[np.ndarray, np.ndarray]:
    """``[V, T]`` values and mask for ``variables`` (absent variables fully masked).

    Args:
        labs: The admission's lab series (None: a ``[V, 1]`` all-missing array).
        variables: Variable names in the student's order.
        max_hours: Hours kept (the first ones).

    Returns:
        ``(values, mask)``, float32.
    """
    t = min(labs.n_hours, max_hours) if labs is not None else 0
    t = max(t, 1)
    values = np.zeros((len(variables), t), dtype=np.float32)
    mask = np.zeros((len(variables), t), dtype=np.float32)
    if labs is None:
        return values, mask
    index = {name: i for i, name in enumerate(labs.variables)}
    for row, name in enumerate(variables):
        src = index.get(name)
        if src is None:
            continue
        for col, v in enumerate(labs.values[src][:t]):
            if v is not None:
                values[row, col] = v
                mask[row, col] = 1.0
    return values, mask


def lab_captions(labs: LabSeries | None) -> list[str]:
    """Anomaly captions of a lab series (``ctk.anomalies``, the paper's ranges).

    Captions read like "Heart rate is higher than normal 5 times (max 141)".
    """
    if labs is None:
        return []
    from ctk.anomalies import anomaly_captions

    return list(anomaly_captions(labs))


def read_rationales(
    path: str | Path, problems: ProblemReport | None = None
) -> dict[str, Rationale]:
    """Read a rationale JSONL file; keep ``ok`` lines keyed by admission id.

    ``failed`` and ``rejected`` records (answers the teacher's quality gate refused)
    are skipped and reported as ``rationale_failed`` / ``rationale_rejected`` problems;
    the rejected count is logged.

    Raises:
        DataError: The file is missing.
        RecordParseError: A line is not a valid Rationale (names file and line).
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"rationale file {p} does not exist", hint="run `ctk rationale` first")
    out: dict[str, Rationale] = {}
    skipped: dict[str, int] = {}
    with p.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = Rationale.model_validate_json(line)
            except ValueError as e:
                raise RecordParseError(
                    f"not a rationale record: {e}", source=str(p), position=f"line {line_no}"
                ) from e
            if rec.status != "ok":
                skipped[rec.status] = skipped.get(rec.status, 0) + 1
                if problems is not None:
                    problems.add(f"rationale_{rec.status}", str(p), f"line {line_no}")
                continue
            out[rec.admission_id] = rec
    if skipped.get("rejected"):
        logger.info(
            "%s: skipped %d rationale(s) rejected by the teacher's quality gate",
            p,
            skipped["rejected"],
        )
    return out


def read_vocabulary_names(path: str | Path) -> list[str]:
    """V_k names from a vocabulary JSONL file (``ctk kg vocab``), best first.

    Raises:
        ConfigError: The file does not exist.
        FormatVersionError: The header is not a readable ``ctk.vocab`` header.
        RecordParseError: A line is not a VocabEntry.
    """
    names = [e.name for e in read_vocabulary(path)]
    if not names:
        raise DataError(f"vocabulary file {path} has no entries", hint="re-run `ctk kg vocab`")
    return names


def example_from_admission(
    adm: Admission,
    variables: list[str],
    max_hours: int,
    rationale: Rationale | None = None,
) -> DistillExample:
    """Turn one admission (and its rationale, if any) into an example."""
    values, mask = lab_arrays(adm.labs, variables, max_hours)
    captions = list(rationale.anomaly_captions) if rationale and rationale.anomaly_captions else []
    if not captions:
        captions = lab_captions(adm.labs)
    return DistillExample(
        admission_id=adm.admission_id,
        note=adm.note.main_text() if adm.note is not None else "",
        labs=values if adm.labs is not None else None,
        lab_mask=mask if adm.labs is not None else None,
        diagnoses=list(adm.phenotypes),
        note_rationale=strip_template_label(rationale.note_rationale) if rationale else "",
        lab_rationale=strip_template_label(rationale.lab_rationale) if rationale else "",
        captions=captions,
    )


def _iter_split(cohort: Path, split: str | None, limit: int) -> Iterator[Admission]:
    from ctk.cohort import iter_admissions

    n = 0
    for adm in iter_admissions(cohort):
        if split is not None and adm.split is not None and adm.split != split:
            continue
        yield adm
        n += 1
        if limit and n >= limit:
            return


def build_examples(
    cohort: str | Path,
    variables: list[str],
    max_hours: int,
    *,
    split: str | None = "train",
    rationales: str | Path | None = None,
    max_admissions: int = 0,
) -> ExampleSet:
    """Build the examples of one split.

    Args:
        cohort: Cohort folder or admissions JSONL.
        variables: The student's lab variables.
        max_hours: Hours kept per admission.
        split: Split to keep (None: all; admissions without a split are kept).
        rationales: Rationale JSONL or None.
        max_admissions: Cap (0: all).

    Returns:
        Examples, the count with a rationale, and the problems seen.

    Raises:
        DataError: The split is empty.
    """
    problems = ProblemReport()
    by_id = read_rationales(rationales, problems) if rationales is not None else {}
    examples: list[DistillExample] = []
    with_rationale = 0
    for adm in _iter_split(Path(cohort), split, max_admissions):
        rat = by_id.get(adm.admission_id)
        if rat is not None:
            with_rationale += 1
        elif rationales is not None:
            problems.add("no_rationale", str(cohort), adm.admission_id)
        if adm.note is None and adm.labs is None:
            problems.add("no_note_no_labs", str(cohort), adm.admission_id)
            continue
        examples.append(example_from_admission(adm, variables, max_hours, rat))
    if not examples:
        raise DataError(
            f"{cohort}: no usable admission in split {split!r}",
            hint="check the cohort's splits (`ctk data stats`) and the data.train_split setting",
        )
    if rationales is not None:
        logger.info(
            "%d/%d examples have a teacher rationale; the rest train on diagnoses only",
            with_rationale,
            len(examples),
        )
    return ExampleSet(examples=examples, with_rationale=with_rationale, problems=problems)
