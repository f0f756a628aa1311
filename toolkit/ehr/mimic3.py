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
from typing import Unpack

from ctk.ehr.benchmark_cohort import (
    read_dictionary_codes,
    read_patients_dob,
    select_benchmark_stays,
)
from ctk.ehr.notes import NoteStore
from ctk.ehr.raw_mimic import LoadOptions, RawParts, RawRelease, ReleaseTables
from ctk.ehr.tables import iter_rows, parse_time
from ctk.errors import ConfigError
from ctk.phenotypes import icd9_to_phenotypes, normalise_icd9
from ctk.records import Admission
from ctk.report import ProblemReport

__all__ = ["COHORTS", "MIMIC3_TABLES", "SOURCE", "Mimic3Release", "load_mimic3", "load_noteevents"]

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
        when = parse_time(row["chartdate"], source=src, column="chartdate")
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


#: Raw MIMIC-III's tables (all in one folder, upper-case names).
MIMIC3_TABLES = ReleaseTables(
    source=SOURCE,
    admissions="ADMISSIONS",
    diagnoses="DIAGNOSES_ICD",
    icustays="ICUSTAYS",
    items=("D_ITEMS", "D_LABITEMS"),
    events=("CHARTEVENTS", "LABEVENTS"),
    read_notes=load_noteevents,
)


class Mimic3Release(RawRelease):
    """Raw MIMIC-III v1.4 on the shared loader skeleton (:class:`~ctk.ehr.raw_mimic.RawRelease`).

    Args:
        cohort: ``"benchmark"`` (the benchmark's stay selection and dictionary join) or
            ``"wide"``.
    """

    tables = MIMIC3_TABLES

    def __init__(self, cohort: str = "benchmark") -> None:
        if cohort not in COHORTS:
            raise ConfigError(
                f"unknown cohort {cohort!r}", hint=f"use one of: {', '.join(COHORTS)}"
            )
        self.cohort = cohort
        self._dictionary: frozenset[str] | None = None

    def select(
        self, root: Path, parts: RawParts, report: ProblemReport, step: Callable[[Path], Path]
    ) -> None:
        """The benchmark's stay selection (rules 1-4, 7 of :mod:`ctk.ehr.benchmark_cohort`),
        or the wide cohort's first ICU stays."""
        if self.cohort == "wide":
            super().select(root, parts, report, step)
            return
        icu = self.needed(root, "ICUSTAYS", "remove_icustays_with_transfers needs it")
        patients = self.needed(root, "PATIENTS", "filter_icustays_on_age needs it")
        dictionary = self.needed(root, "D_ICD_DIAGNOSES", "read_icd_diagnoses_table needs it")
        parts.stays = select_benchmark_stays(
            step(icu),
            {h: a.subject_id for h, a in parts.admissions.items()},
            read_patients_dob(step(patients), report),
            report=report,
            stats=parts.stats,
        )
        self._dictionary = read_dictionary_codes(step(dictionary))

    def read_diagnoses(self, path: Path, parts: RawParts, report: ProblemReport) -> None:
        """DIAGNOSES_ICD (with the dictionary join for the benchmark cohort)."""
        _read_diagnoses(path, parts, report, self._dictionary)

    def notes_table(self, root: Path, parts: RawParts) -> Path | None:
        """NOTEEVENTS, when present and not empty."""
        return self.optional(root, "NOTEEVENTS", parts)


def load_mimic3(
    root: str | Path,
    *,
    report: ProblemReport,
    cohort: str = "benchmark",
    **options: Unpack[LoadOptions],
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
        cohort: ``"benchmark"`` or ``"wide"``.
        **options: ``chunksize``, ``max_hours``, ``testset`` (wide cohort only),
            ``details``, ``on_table`` (:class:`~ctk.ehr.raw_mimic.LoadOptions`).

    Raises:
        ConfigError: Unknown cohort, or ``testset`` with the benchmark cohort.
        DataError: A table the labels need is missing (ADMISSIONS, DIAGNOSES_ICD; for the
            benchmark cohort also ICUSTAYS, PATIENTS, D_ICD_DIAGNOSES), or nothing can be kept.
        MissingColumnError: A table lacks a needed column.
    """
    release = Mimic3Release(cohort)
    if cohort == "benchmark" and options.get("testset") is not None:
        raise ConfigError(
            "--testset applies to the wide cohort only",
            hint="the benchmark cohort uses the benchmark's own testset.csv (shipped with ctk)",
        )
    return release.load(root, report=report, **options)
