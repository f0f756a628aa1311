"""Loader for the raw MIMIC-III v1.4 tables (full release or the public demo).

Tables (``.csv`` or ``.csv.gz``; upper-case columns in the full release, lower-case in
the current demo download; both accepted):

===============  ========  =====================================================
table            needed    columns used
===============  ========  =====================================================
ADMISSIONS       yes       SUBJECT_ID, HADM_ID, ADMITTIME
DIAGNOSES_ICD    yes       HADM_ID, ICD9_CODE
NOTEEVENTS       no        HADM_ID, CATEGORY, TEXT (DESCRIPTION, CHARTDATE, ISERROR)
ICUSTAYS         no        HADM_ID, INTIME (time origin: first ICU admission)
CHARTEVENTS      no        HADM_ID, ITEMID, CHARTTIME, VALUE (VALUEUOM)
LABEVENTS        no        HADM_ID, ITEMID, CHARTTIME, VALUE (VALUEUOM)
D_ITEMS          no        ITEMID (to report event item ids unknown to MIMIC)
D_LABITEMS       no        ITEMID
PATIENTS         no        not needed
===============  ========  =====================================================

Missing optional tables are listed in the import's details. Labels come from
DIAGNOSES_ICD through the benchmark's CCS definitions
(:func:`ctk.phenotypes.icd9_to_phenotypes`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from ctk.ehr.notes import NoteStore
from ctk.ehr.raw_mimic import (
    RawParts,
    build_admissions,
    read_admissions,
    read_first_icu_times,
    read_test_subjects,
)
from ctk.ehr.resample import DEFAULT_MAX_HOURS
from ctk.ehr.tables import find_table, iter_rows, parse_time, require_table
from ctk.errors import DataError
from ctk.phenotypes import icd9_to_phenotypes, normalise_icd9
from ctk.records import Admission
from ctk.report import ProblemReport

__all__ = ["SOURCE", "load_mimic3", "load_noteevents"]

SOURCE = "mimic3"
_DISCHARGE = "discharge summary"


def load_noteevents(
    path: Path,
    store: NoteStore,
    report: ProblemReport,
    *,
    wanted: set[str] | None = None,
) -> int:
    """Keep the discharge summary of each admission from a NOTEEVENTS table.

    Rule: ``CATEGORY`` is "Discharge summary" and ``ISERROR`` is not 1; a main report
    (``DESCRIPTION`` "Report") beats an addendum; among equals the latest ``CHARTDATE``
    wins, then the last row.

    Args:
        path: NOTEEVENTS(.csv.gz).
        store: Where the notes go, keyed by HADM_ID.
        report: Collects notes marked as errors or without HADM_ID.
        wanted: Only keep these HADM_IDs (None: all).

    Returns:
        The number of discharge summaries kept (before de-duplication).
    """
    kept = 0
    src = str(path)
    for line_no, row in iter_rows(
        path,
        ["hadm_id", "category", "text"],
        optional=["description", "chartdate", "iserror"],
    ):
        if row["category"].strip().lower() != _DISCHARGE:
            continue
        hadm = row["hadm_id"].strip()
        if not hadm:
            report.add("discharge summary without hadm_id", src, f"line {line_no}")
            continue
        if wanted is not None and hadm not in wanted:
            continue
        if row["iserror"].strip() == "1":
            report.add("note marked as error (ISERROR=1)", src, f"line {line_no}")
            continue
        when = parse_time(row["chartdate"])
        day = when.date().toordinal() if when is not None else date(2000, 1, 1).toordinal()
        is_report = row["description"].strip().lower() in ("report", "")
        store.put(hadm, row["text"], rank=float(is_report) * 1e7 + day)
        kept += 1
    return kept


def _read_diagnoses(path: Path, parts: RawParts, report: ProblemReport) -> None:
    codes: dict[str, list[str]] = {}
    for line_no, row in iter_rows(path, ["hadm_id", "icd9_code"]):
        hadm = row["hadm_id"].strip()
        code = normalise_icd9(row["icd9_code"])
        if not code:
            report.add("diagnosis without code", str(path), f"line {line_no}")
            continue
        if hadm not in parts.admissions:
            report.add("diagnosis of an unknown admission", str(path), f"line {line_no}", hadm)
            continue
        codes.setdefault(hadm, []).append(sys.intern(code))
    for hadm, items in codes.items():
        unique = tuple(dict.fromkeys(items))
        parts.diagnoses[hadm] = tuple(sys.intern("icd9:" + c) for c in unique)
        parts.phenotypes[hadm] = frozenset(icd9_to_phenotypes(unique))


def _known_items(root: Path, parts: RawParts) -> set[int] | None:
    known: set[int] = set()
    found = False
    for name in ("D_ITEMS", "D_LABITEMS"):
        path = find_table(root, name, required=False)
        if path is None:
            parts.stats[f"table {name} absent"] += 1
            continue
        found = True
        for _, row in iter_rows(path, ["itemid"]):
            if row["itemid"].strip().isdigit():
                known.add(int(row["itemid"]))
    return known if found else None


def load_mimic3(
    root: str | Path,
    *,
    report: ProblemReport,
    chunksize: int = 200_000,
    max_hours: int = DEFAULT_MAX_HOURS,
    testset: str | Path | None = None,
    details: dict[str, object] | None = None,
    on_table: Callable[[Path], None] | None = None,
) -> Iterator[Admission]:
    """Yield one admission per HADM_ID of raw MIMIC-III tables.

    An admission is kept when it has a discharge summary or at least one diagnosis;
    the others are reported. ``admission_id`` is the HADM_ID. Labs: CHARTEVENTS and
    LABEVENTS items of the 11 paper variables, hours since the first ICU INTIME (or
    ADMITTIME), hourly means. Split: the benchmark's ``testset.csv`` when given, else a
    hash of SUBJECT_ID (80/10/10; see :func:`ctk.ehr.raw_mimic.subject_split`).

    Args:
        root: Folder of the tables.
        report: Collects skipped rows and admissions.
        chunksize: Hour cells buffered in memory while streaming events.
        max_hours: Length cap of the hourly grid.
        testset: The benchmark's ``testset.csv`` (``subject_id,0|1``).
        details: When given, filled with counts for the manifest.
        on_table: Called with each table path before it is read (progress).

    Raises:
        DataError: ADMISSIONS or DIAGNOSES_ICD is missing, or nothing can be kept.
        MissingColumnError: A table lacks a needed column.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder", hint="give the folder of the MIMIC-III tables")

    def step(path: Path) -> Path:
        if on_table is not None:
            on_table(path)
        return path

    admissions_path = step(require_table(root, "ADMISSIONS"))
    diagnoses_path = require_table(root, "DIAGNOSES_ICD")
    with NoteStore() as store:
        parts = RawParts(
            source=SOURCE,
            admissions=read_admissions(admissions_path, report),
            diagnoses={},
            phenotypes={},
            notes=store,
        )
        icu = find_table(root, "ICUSTAYS", required=False)
        if icu is not None:
            parts.stats["icu stays"] = read_first_icu_times(step(icu), parts.admissions, report)
        else:
            parts.stats["table ICUSTAYS absent"] += 1
        _read_diagnoses(step(diagnoses_path), parts, report)
        notes = find_table(root, "NOTEEVENTS", required=False)
        if notes is not None:
            parts.stats["discharge summaries"] = load_noteevents(
                step(notes), store, report, wanted=set(parts.admissions)
            )
        else:
            parts.stats["table NOTEEVENTS absent"] += 1
        parts.known_items = _known_items(root, parts)
        for name in ("CHARTEVENTS", "LABEVENTS"):
            path = find_table(root, name, required=False)
            if path is None:
                parts.stats[f"table {name} absent"] += 1
            else:
                parts.event_tables.append(path)
        if testset is not None:
            parts.test_subjects = read_test_subjects(Path(testset))
        yield from build_admissions(
            parts, report=report, max_hours=max_hours, chunksize=chunksize, on_table=on_table
        )
        if details is not None:
            details.update(dict(parts.stats))
