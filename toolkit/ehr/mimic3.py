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

Missing optional tables are listed in the import's details; an empty (0-byte) or
header-only optional table counts as present with no rows. Labels come from DIAGNOSES_ICD
through the benchmark's CCS definitions (:func:`ctk.phenotypes.icd9_to_phenotypes`).

Two cohorts (``cohort=``): ``"benchmark"`` (the default) is the MIMIC-III benchmark's own
phenotyping cohort and split (:mod:`ctk.ehr.benchmark_cohort`; it also needs ICUSTAYS with
its ward and care-unit columns, PATIENTS and D_ICD_DIAGNOSES); ``"wide"`` keeps every
admission with a discharge summary or a diagnosis.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from ctk.ehr.benchmark_cohort import (
    read_dictionary_codes,
    read_patients_dob,
    select_benchmark_stays,
)
from ctk.ehr.notes import NoteStore
from ctk.ehr.raw_mimic import (
    RawParts,
    build_admissions,
    read_admissions,
    read_first_icu_times,
    read_test_subjects,
)
from ctk.ehr.resample import DEFAULT_MAX_HOURS
from ctk.ehr.tables import find_table, iter_rows, parse_time, require_table, table_is_empty
from ctk.errors import ConfigError, DataError
from ctk.phenotypes import icd9_to_phenotypes, normalise_icd9
from ctk.records import Admission
from ctk.report import ProblemReport

__all__ = ["COHORTS", "SOURCE", "load_mimic3", "load_noteevents"]

SOURCE = "mimic3"
#: Cohort rules of the raw MIMIC-III loader.
COHORTS: tuple[str, ...] = ("benchmark", "wide")
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
        report=report,
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


def _read_diagnoses(
    path: Path,
    parts: RawParts,
    report: ProblemReport,
    dictionary: frozenset[str] | None = None,
) -> None:
    """Read DIAGNOSES_ICD; with ``dictionary`` (benchmark cohort), codes it lacks are dropped
    (``read_icd_diagnoses_table``'s inner join) and a diagnosis counts only for the
    (SUBJECT_ID, HADM_ID) pair of its row (``filter_diagnoses_on_stays``)."""
    codes: dict[str, list[str]] = {}
    src = str(path)
    for line_no, row in iter_rows(path, ["hadm_id", "icd9_code"], optional=["subject_id"]):
        hadm = row["hadm_id"].strip()
        raw = row["icd9_code"].strip()
        code = normalise_icd9(raw)
        if not code:
            report.add("diagnosis without code", src, f"line {line_no}")
            continue
        if hadm not in parts.admissions:
            report.add("diagnosis of an unknown admission", src, f"line {line_no}", hadm)
            continue
        if dictionary is not None:
            if raw not in dictionary:
                report.add(
                    "diagnosis code not in D_ICD_DIAGNOSES (dropped, read_icd_diagnoses_table)",
                    src,
                    f"line {line_no}",
                    raw,
                )
                continue
            if row["subject_id"].strip() != parts.admissions[hadm].subject_id:
                report.add("diagnosis of another subject's admission", src, f"line {line_no}")
                continue
        codes.setdefault(hadm, []).append(sys.intern(code))
    for hadm, items in codes.items():
        unique = tuple(dict.fromkeys(items))
        parts.diagnoses[hadm] = tuple(sys.intern("icd9:" + c) for c in unique)
        parts.phenotypes[hadm] = frozenset(icd9_to_phenotypes(unique))


def _optional_table(root: Path, name: str, parts: RawParts) -> Path | None:
    """An optional table, or None when absent or empty (0 bytes); both are counted."""
    path = find_table(root, name, required=False)
    if path is None:
        parts.stats[f"table {name} absent"] += 1
        return None
    if table_is_empty(path):
        parts.stats[f"table {name} empty (0 bytes, no header)"] += 1
        return None
    return path


def _label_table(root: Path, name: str, why: str) -> Path:
    path = find_table(root, name, required=False)
    if path is None:
        raise DataError(
            f"table {name} not found in {root}: the benchmark cohort needs it ({why})",
            hint="add the table, or import ctk's wider cohort with --cohort wide",
        )
    return path


def _known_items(root: Path, parts: RawParts) -> set[int] | None:
    known: set[int] = set()
    found = False
    for name in ("D_ITEMS", "D_LABITEMS"):
        path = _optional_table(root, name, parts)
        if path is None:
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
    cohort: str = "benchmark",
    details: dict[str, object] | None = None,
    on_table: Callable[[Path], None] | None = None,
) -> Iterator[Admission]:
    """Yield the admissions of raw MIMIC-III tables.

    ``cohort="benchmark"`` (default): the MIMIC-III benchmark's phenotyping cohort, labels
    and split (:mod:`ctk.ehr.benchmark_cohort`); ``admission_id`` is the benchmark's stay
    name (``10011_episode1``), ``hadm_id`` the HADM_ID; labs on the benchmark's clock (hours
    from the stay's INTIME, events within the stay).

    ``cohort="wide"``: one admission per HADM_ID with a discharge summary or at least one
    diagnosis (the others are reported); ``admission_id`` is the HADM_ID; hours since the
    first ICU INTIME (or ADMITTIME); split: ``testset`` when given, else a hash of SUBJECT_ID
    (80/10/10; see :func:`ctk.ehr.raw_mimic.subject_split`).

    Labs: CHARTEVENTS and LABEVENTS items of the 11 paper variables, hourly means.

    Args:
        root: Folder of the tables.
        report: Collects skipped rows and admissions.
        chunksize: Hour cells buffered in memory while streaming events.
        max_hours: Length cap of the hourly grid.
        testset: Wide cohort: a ``subject_id,0|1`` file of test subjects.
        cohort: ``"benchmark"`` or ``"wide"``.
        details: When given, filled with counts for the manifest.
        on_table: Called with each table path before it is read (progress).

    Raises:
        ConfigError: Unknown cohort, or ``testset`` with the benchmark cohort.
        DataError: A table the labels need is missing (ADMISSIONS, DIAGNOSES_ICD; for the
            benchmark cohort also ICUSTAYS, PATIENTS, D_ICD_DIAGNOSES), or nothing can be kept.
        MissingColumnError: A table lacks a needed column.
    """
    if cohort not in COHORTS:
        raise ConfigError(f"unknown cohort {cohort!r}", hint=f"use one of: {', '.join(COHORTS)}")
    if cohort == "benchmark" and testset is not None:
        raise ConfigError(
            "--testset applies to the wide cohort only",
            hint="the benchmark cohort uses the benchmark's own testset.csv (shipped with ctk)",
        )
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
        if cohort == "benchmark":
            icu = _label_table(root, "ICUSTAYS", "remove_icustays_with_transfers")
            patients = _label_table(root, "PATIENTS", "filter_icustays_on_age")
            dictionary = _label_table(root, "D_ICD_DIAGNOSES", "read_icd_diagnoses_table")
            parts.stays = select_benchmark_stays(
                step(icu),
                {h: a.subject_id for h, a in parts.admissions.items()},
                read_patients_dob(step(patients), report),
                report=report,
                stats=parts.stats,
            )
            _read_diagnoses(
                step(diagnoses_path), parts, report, read_dictionary_codes(step(dictionary))
            )
        else:
            wide_icu = _optional_table(root, "ICUSTAYS", parts)
            if wide_icu is not None:
                parts.stats["icu stays"] = read_first_icu_times(
                    step(wide_icu), parts.admissions, report
                )
            _read_diagnoses(step(diagnoses_path), parts, report)
        notes = _optional_table(root, "NOTEEVENTS", parts)
        if notes is not None:
            parts.stats["discharge summaries"] = load_noteevents(
                step(notes), store, report, wanted=set(parts.admissions)
            )
        parts.known_items = _known_items(root, parts)
        for name in ("CHARTEVENTS", "LABEVENTS"):
            path = _optional_table(root, name, parts)
            if path is not None:
                parts.event_tables.append(path)
            elif name == "CHARTEVENTS":
                parts.event_tables_complete = False
        if testset is not None:
            parts.test_subjects = read_test_subjects(Path(testset))
        yield from build_admissions(
            parts, report=report, max_hours=max_hours, chunksize=chunksize, on_table=on_table
        )
        if details is not None:
            details.update(dict(parts.stats))
