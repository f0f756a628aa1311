"""Loader for the MIMIC-III benchmark's phenotyping layout (Harutyunyan et al. 2019).

Layout read (what ``ctk data synth`` writes too)::

    ROOT/train/listfile.csv      stay,period_length,<25 phenotype columns> (0/1)
    ROOT/test/listfile.csv
    ROOT/{split}/{stay}          one time series per stay: Hours + the 17 variables
    ROOT/val_listfile.csv        optional: these train stays get split "val"
    ROOT/{split}/notes.csv       optional ctk extension: stay,text (discharge summary)

Real benchmark folders have no notes: pass ``notes=NOTEEVENTS.csv(.gz)`` together with
``stays_root=`` the benchmark's per-subject folder (``root/{subject}/stays.csv``, made by
its ``extract_subjects`` step); episode ``n`` of a subject is row ``n`` of its
``stays.csv``, whose ``HADM_ID`` selects the discharge summary.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path

from ctk.ehr.notes import NoteStore, make_note
from ctk.ehr.resample import DEFAULT_MAX_HOURS, HourlyGrid
from ctk.ehr.tables import iter_rows, read_header
from ctk.errors import ConfigError, DataError
from ctk.lab_variables import PAPER_VARIABLES
from ctk.phenotypes import PHENOTYPE_NAMES
from ctk.records import Admission, ClinicalNote, Split
from ctk.report import ProblemReport

__all__ = ["SOURCE", "load_benchmark"]

logger = logging.getLogger(__name__)

SOURCE = "mimic3-benchmark"
_STAY = re.compile(r"^(?P<subject>\d+)_episode(?P<episode>\d+)_timeseries\.csv$")
_LISTFILE_COLUMNS = ("stay", "period_length", *PHENOTYPE_NAMES)


def _read_val_stays(root: Path) -> set[str]:
    path = root / "val_listfile.csv"
    if not path.is_file():
        return set()
    return {row["stay"] for _, row in iter_rows(path, ["stay"])}


def _load_sidecar_notes(path: Path, store: NoteStore, report: ProblemReport) -> dict[str, int]:
    """Store the notes of a ``notes.csv``; returns stay -> line number."""
    lines: dict[str, int] = {}
    for line_no, row in iter_rows(path, ["stay", "text"]):
        stay = row["stay"].strip()
        if not stay:
            report.add("note without stay name", str(path), f"line {line_no}")
            continue
        store.put(stay, row["text"])
        lines[stay] = line_no
    return lines


def _stays_to_hadm(stays_root: Path, stays: list[str], report: ProblemReport) -> dict[str, str]:
    """Map benchmark stay names to HADM_IDs through ``{subject}/stays.csv``."""
    mapping: dict[str, str] = {}
    per_subject: dict[str, list[str]] = {}
    for stay in stays:
        m = _STAY.match(stay)
        if m is None:
            report.add("stay name not {subject}_episode{n}_timeseries.csv", stay, "listfile")
            continue
        per_subject.setdefault(m.group("subject"), []).append(stay)
    for subject, names in per_subject.items():
        path = stays_root / subject / "stays.csv"
        if not path.is_file():
            report.add("no stays.csv for subject", str(path), "-")
            continue
        rows = [row["hadm_id"] for _, row in iter_rows(path, ["hadm_id"])]
        for stay in names:
            m = _STAY.match(stay)
            assert m is not None
            n = int(m.group("episode"))
            if not 1 <= n <= len(rows):
                report.add("episode number not in stays.csv", str(path), stay)
                continue
            mapping[stay] = rows[n - 1].strip()
    return mapping


def _parse_labels(
    row: dict[str, str], source: str, line_no: int, report: ProblemReport
) -> list[str] | None:
    positives: list[str] = []
    for name in PHENOTYPE_NAMES:
        raw = row[name.lower()].strip()
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if value not in (0.0, 1.0):
            report.add("label not 0/1", source, f"line {line_no}", f"{name}={raw!r}")
            return None
        if value == 1.0:
            positives.append(name)
    return positives


def _read_timeseries(path: Path, report: ProblemReport, max_hours: int) -> tuple[bool, HourlyGrid]:
    """Read one episode file; (False, grid) when unreadable (reported)."""
    grid = HourlyGrid(PAPER_VARIABLES, max_hours=max_hours)
    columns = [v.lower() for v in PAPER_VARIABLES]
    try:
        for line_no, row in iter_rows(path, ["hours"], optional=columns):
            raw_hours = row["hours"].strip()
            try:
                hours = float(raw_hours)
            except ValueError:
                report.add("unparsable hours", str(path), f"line {line_no}", repr(raw_hours))
                continue
            if not math.isfinite(hours):
                report.add("non-finite hours", str(path), f"line {line_no}")
                continue
            for name, col in zip(PAPER_VARIABLES, columns, strict=True):
                raw = row[col].strip()
                if not raw:
                    continue
                try:
                    value = float(raw)
                except ValueError:
                    report.add("unparsable value", str(path), f"line {line_no}", f"{name}={raw!r}")
                    continue
                problem = grid.add(name, hours, value)
                if problem is not None:
                    report.add(problem, str(path), f"line {line_no}", name)
    except DataError as e:
        report.add("unreadable time series", str(path), "-", e.message)
        return False, grid
    return True, grid


def _check_columns(path: Path, report: ProblemReport) -> None:
    """Report variables missing from a time-series header (once per file)."""
    header = set(read_header(path))
    for name in PAPER_VARIABLES:
        if name.lower() not in header:
            report.add("time series lacks variable column", str(path), "header", name)


def load_benchmark(
    root: str | Path,
    *,
    report: ProblemReport,
    notes: str | Path | None = None,
    stays_root: str | Path | None = None,
    max_hours: int = DEFAULT_MAX_HOURS,
) -> Iterator[Admission]:
    """Yield the admissions of a MIMIC-III benchmark phenotyping folder.

    Args:
        root: The folder with ``train/`` and ``test/`` (each with ``listfile.csv``).
        report: Collects skipped rows and repaired values.
        notes: A NOTEEVENTS table to take discharge summaries from (needs ``stays_root``).
            Without it, ``{split}/notes.csv`` sidecars are used where present.
        stays_root: The benchmark's per-subject folder (``{subject}/stays.csv``).
        max_hours: Length cap of the hourly grid.

    Yields:
        One :class:`Admission` per listed stay, ``admission_id`` = the stay name
        without ``_timeseries.csv``.

    Raises:
        DataError: ``root`` has no ``train/listfile.csv`` nor ``test/listfile.csv``.
        MissingColumnError: A listfile lacks ``stay``, ``period_length`` or a phenotype.
        ConfigError: ``notes`` without ``stays_root``.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder", hint="give the benchmark's phenotyping folder")
    splits: list[tuple[str, Path]] = [
        (name, root / name / "listfile.csv")
        for name in ("train", "test")
        if (root / name / "listfile.csv").is_file()
    ]
    if not splits:
        raise DataError(
            f"{root} has neither train/listfile.csv nor test/listfile.csv",
            hint="point at the benchmark's phenotyping folder (data/phenotyping)",
        )
    if notes is not None and stays_root is None:
        raise ConfigError(
            "--notes needs --stays-root",
            hint="give the benchmark's root folder holding {subject}/stays.csv",
        )
    val_stays = _read_val_stays(root)
    with NoteStore() as store:
        stay_to_hadm: dict[str, str] | None = None
        if notes is not None and stays_root is not None:
            from ctk.ehr.mimic3 import load_noteevents

            stays = [
                row["stay"]
                for _, listfile in splits
                for _, row in iter_rows(listfile, _LISTFILE_COLUMNS)
            ]
            stay_to_hadm = _stays_to_hadm(Path(stays_root), stays, report)
            load_noteevents(Path(notes), store, report, wanted=set(stay_to_hadm.values()))
        seen: set[str] = set()
        for split_dir, listfile in splits:
            folder = root / split_dir
            sidecar = folder / "notes.csv"
            if stay_to_hadm is None and sidecar.is_file():
                sidecar_lines = _load_sidecar_notes(sidecar, store, report)
            else:
                sidecar_lines = {}
            for line_no, row in iter_rows(listfile, _LISTFILE_COLUMNS):
                stay = row["stay"].strip()
                if not stay:
                    report.add("empty stay name", str(listfile), f"line {line_no}")
                    continue
                if stay in seen:
                    report.add("duplicate stay", str(listfile), f"line {line_no}", stay)
                    continue
                seen.add(stay)
                labels = _parse_labels(row, str(listfile), line_no, report)
                if labels is None:
                    continue
                path = folder / stay
                if not path.is_file():
                    report.add("time series file missing", str(path), f"listfile line {line_no}")
                    continue
                try:
                    _check_columns(path, report)
                except DataError as e:
                    report.add("unreadable time series", str(path), "header", e.message)
                    continue
                ok, grid = _read_timeseries(path, report, max_hours)
                if not ok:
                    continue
                admission_id = stay.removesuffix("_timeseries.csv")
                m = _STAY.match(stay)
                key = stay if stay_to_hadm is None else stay_to_hadm.get(stay, "")
                note = _note_for(store, key, admission_id, report)
                split: Split = "test" if split_dir == "test" else "train"
                if split == "train" and stay in val_stays:
                    split = "val"
                yield Admission(
                    admission_id=admission_id,
                    subject_id=m.group("subject") if m else None,
                    source=SOURCE,
                    split=split,
                    note=note,
                    labs=grid.to_series(),
                    phenotypes=labels,
                )
            for stay, line in sidecar_lines.items():
                if stay not in seen:
                    report.add("note of a stay not in the listfile", str(sidecar), f"line {line}")
    logger.info("benchmark import: %d stays read", len(seen))


def _note_for(
    store: NoteStore, key: str, admission_id: str, report: ProblemReport
) -> ClinicalNote | None:
    if not key:
        return None
    text = store.get(key)
    if text is None:
        return None
    if not text.strip():
        report.add("empty note", admission_id, "notes", "admission kept without a note")
        return None
    return make_note(text)
