"""Loader for raw MIMIC-IV (``hosp``/``icu`` modules) and MIMIC-IV-Note discharge notes.

Tables (``.csv`` or ``.csv.gz``, in ``ROOT/hosp`` and ``ROOT/icu``, or all in ``ROOT``):

=========================  ========  ==============================================
table                      needed    columns used
=========================  ========  ==============================================
hosp/admissions            yes       subject_id, hadm_id, admittime
hosp/diagnoses_icd         yes       hadm_id, icd_code, icd_version (9 or 10)
icu/icustays               no        hadm_id, intime (time origin)
icu/chartevents            no        hadm_id, itemid, charttime, value (valueuom)
hosp/labevents             no        hadm_id, itemid, charttime, value (valueuom)
icu/d_items, hosp/d_labitems  no     itemid (to report unknown item ids)
NOTE/discharge             no        hadm_id, text (note_seq, note_type)
=========================  ========  ==============================================

``NOTE`` is ``note_root`` when given, else ``ROOT/note``. ICD-9 codes map to phenotypes
through the benchmark's CCS sets, ICD-10-CM codes through :mod:`ctk.ehr.icd10`. The
MIMIC-IV chart item ids are the benchmark map's *metavision* ids (220045 heart rate);
lab item ids are shared with MIMIC-III (50931 glucose).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Unpack

from ctk.ehr.icd10 import icd10_to_phenotypes, normalise_icd10
from ctk.ehr.notes import NoteStore
from ctk.ehr.raw_mimic import LoadOptions, RawParts, RawRelease, ReleaseTables
from ctk.ehr.tables import find_table, iter_rows
from ctk.errors import DataError
from ctk.phenotypes import icd9_to_phenotypes, normalise_icd9
from ctk.records import Admission
from ctk.report import ProblemReport

__all__ = ["MIMIC4_TABLES", "SOURCE", "Mimic4Release", "load_discharge_notes", "load_mimic4"]

SOURCE = "mimic4"


def load_discharge_notes(
    path: Path, store: NoteStore, report: ProblemReport, *, wanted: set[str] | None = None
) -> int:
    """Keep one discharge note per admission from MIMIC-IV-Note ``discharge.csv``.

    The note with the highest ``note_seq`` wins. Returns the number of notes kept.
    """
    kept = 0
    src = str(path)
    for line_no, row in iter_rows(path, ["hadm_id", "text"], optional=["note_seq"]):
        hadm = row["hadm_id"].strip()
        if not hadm:
            report.add("discharge note without hadm_id", src, f"line {line_no}")
            continue
        if wanted is not None and hadm not in wanted:
            report.add("discharge note of an unknown admission", src, f"line {line_no}", hadm)
            continue
        seq = row["note_seq"].strip()
        store.put(hadm, row["text"], rank=float(seq) if seq.isdigit() else 0.0)
        kept += 1
    return kept


def _read_diagnoses(path: Path, parts: RawParts, report: ProblemReport) -> None:
    codes: dict[str, list[str]] = {}
    src = str(path)
    for line_no, row in iter_rows(path, ["hadm_id", "icd_code", "icd_version"]):
        hadm = row["hadm_id"].strip()
        version = row["icd_version"].strip()
        raw = row["icd_code"]
        if not raw.strip():
            report.add("diagnosis without code", src, f"line {line_no}")
            continue
        if version == "9":
            code = "icd9:" + normalise_icd9(raw)
        elif version == "10":
            code = "icd10:" + normalise_icd10(raw)
        else:
            report.add("icd_version not 9 or 10", src, f"line {line_no}", repr(version))
            continue
        if hadm not in parts.admissions:
            report.add("diagnosis of an unknown admission", src, f"line {line_no}", hadm)
            continue
        codes.setdefault(hadm, []).append(sys.intern(code))
    for hadm, items in codes.items():
        unique = tuple(dict.fromkeys(items))
        icd9 = [c.removeprefix("icd9:") for c in unique if c.startswith("icd9:")]
        icd10 = [c.removeprefix("icd10:") for c in unique if c.startswith("icd10:")]
        parts.diagnoses[hadm] = unique
        parts.phenotypes[hadm] = frozenset(icd9_to_phenotypes(icd9) | icd10_to_phenotypes(icd10))
        parts.stats["admissions with ICD-10 codes"] += bool(icd10)


#: Raw MIMIC-IV's tables (``hosp/`` and ``icu/`` modules; MIMIC-IV-Note's discharge notes).
MIMIC4_TABLES = ReleaseTables(
    source=SOURCE,
    admissions="hosp/admissions",
    diagnoses="hosp/diagnoses_icd",
    icustays="icu/icustays",
    items=("icu/d_items", "hosp/d_labitems"),
    events=("icu/chartevents", "hosp/labevents"),
    read_notes=load_discharge_notes,
)


class Mimic4Release(RawRelease):
    """Raw MIMIC-IV on the shared loader skeleton (:class:`~ctk.ehr.raw_mimic.RawRelease`).

    Args:
        note_root: The MIMIC-IV-Note folder (``discharge.csv(.gz)`` in it or in ``note/``);
            None: ``ROOT/note/`` when present.
    """

    tables = MIMIC4_TABLES

    def __init__(self, note_root: str | Path | None = None) -> None:
        self.note_root = note_root

    def find(self, root: Path, name: str) -> Path | None:
        """``ROOT/{module}/{name}``, else ``ROOT/{name}`` (all tables in one folder)."""
        module, _, base = name.rpartition("/")
        found: Path | None = find_table(root, name, required=False)
        if found is None and module:
            found = find_table(root, base, required=False)
        return found

    def read_diagnoses(self, path: Path, parts: RawParts, report: ProblemReport) -> None:
        """hosp/diagnoses_icd: ICD-9 and ICD-10-CM codes."""
        _read_diagnoses(path, parts, report)

    def notes_table(self, root: Path, parts: RawParts) -> Path | None:
        """MIMIC-IV-Note ``discharge`` (see :func:`_find_notes`)."""
        found = _find_notes(root, self.note_root)
        if found is None:
            parts.stats["table discharge absent"] += 1
        return found


def load_mimic4(
    root: str | Path,
    *,
    report: ProblemReport,
    note_root: str | Path | None = None,
    **options: Unpack[LoadOptions],
) -> Iterator[Admission]:
    """Yield one admission per hadm_id of raw MIMIC-IV tables.

    Same rule as the wide cohort of :func:`ctk.ehr.mimic3.load_mimic3`: kept when it has a
    discharge note or at least one diagnosis; ``admission_id`` is the hadm_id; split: a
    ``testset`` file when given, else a hash of subject_id.

    Args:
        root: MIMIC-IV folder (with ``hosp/`` and ``icu/``).
        report: Collects skipped rows and admissions.
        note_root: MIMIC-IV-Note folder (``discharge.csv(.gz)`` in it or in ``note/``).
        **options: ``chunksize``, ``max_hours``, ``testset``, ``details``, ``on_table``
            (:class:`~ctk.ehr.raw_mimic.LoadOptions`).

    Raises:
        DataError: admissions or diagnoses_icd is missing, or nothing can be kept.
        MissingColumnError: A table lacks a needed column.
    """
    return Mimic4Release(note_root).load(root, report=report, **options)


def _find_notes(root: Path, note_root: str | Path | None) -> Path | None:
    if note_root is not None:
        base = Path(note_root)
        found: Path | None = find_table(base, "discharge", required=False) or find_table(
            base, "note/discharge", required=False
        )
        if found is None:
            raise DataError(
                f"no discharge.csv(.gz) in {base} nor {base / 'note'}",
                hint="give the MIMIC-IV-Note folder with --note-root",
            )
        return found
    default: Path | None = find_table(root, "note/discharge", required=False)
    return default
