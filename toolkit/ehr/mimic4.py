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
from collections.abc import Callable, Iterator
from pathlib import Path

from ctk.ehr.icd10 import icd10_to_phenotypes, normalise_icd10
from ctk.ehr.notes import NoteStore
from ctk.ehr.raw_mimic import (
    RawParts,
    build_admissions,
    read_admissions,
    read_first_icu_times,
    read_test_subjects,
)
from ctk.ehr.resample import DEFAULT_MAX_HOURS
from ctk.ehr.tables import find_table, iter_rows
from ctk.errors import DataError
from ctk.phenotypes import icd9_to_phenotypes, normalise_icd9
from ctk.records import Admission
from ctk.report import ProblemReport

__all__ = ["SOURCE", "load_discharge_notes", "load_mimic4"]

SOURCE = "mimic4"


def _table(root: Path, module: str, name: str, *, required: bool = False) -> Path | None:
    found: Path | None = find_table(root, f"{module}/{name}", required=False) or find_table(
        root, name, required=False
    )
    if found is None and required:
        raise DataError(
            f"table {module}/{name} not found under {root} "
            f"(looked in {root / module} and {root}, .csv or .csv.gz)",
            hint="point at the MIMIC-IV folder holding hosp/ and icu/",
        )
    return found


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


def load_mimic4(
    root: str | Path,
    *,
    report: ProblemReport,
    note_root: str | Path | None = None,
    chunksize: int = 200_000,
    max_hours: int = DEFAULT_MAX_HOURS,
    testset: str | Path | None = None,
    details: dict[str, object] | None = None,
    on_table: Callable[[Path], None] | None = None,
) -> Iterator[Admission]:
    """Yield one admission per hadm_id of raw MIMIC-IV tables.

    Same rule as :func:`ctk.ehr.mimic3.load_mimic3`: kept when it has a discharge note
    or at least one diagnosis; ``admission_id`` is the hadm_id.

    Args:
        root: MIMIC-IV folder (with ``hosp/`` and ``icu/``).
        report: Collects skipped rows and admissions.
        note_root: MIMIC-IV-Note folder (``discharge.csv(.gz)`` in it or in ``note/``).
        chunksize: Hour cells buffered in memory while streaming events.
        max_hours: Length cap of the hourly grid.
        testset: A ``subject_id,0|1`` file marking test subjects (else hash split).
        details: When given, filled with counts for the manifest.
        on_table: Called with each table path before it is read (progress).

    Raises:
        DataError: admissions or diagnoses_icd is missing, or nothing can be kept.
        MissingColumnError: A table lacks a needed column.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder", hint="give the MIMIC-IV folder (hosp/, icu/)")

    def step(path: Path) -> Path:
        if on_table is not None:
            on_table(path)
        return path

    admissions_path = _table(root, "hosp", "admissions", required=True)
    diagnoses_path = _table(root, "hosp", "diagnoses_icd", required=True)
    assert admissions_path is not None and diagnoses_path is not None
    with NoteStore() as store:
        parts = RawParts(
            source=SOURCE,
            admissions=read_admissions(step(admissions_path), report),
            diagnoses={},
            phenotypes={},
            notes=store,
        )
        icu = _table(root, "icu", "icustays")
        if icu is not None:
            parts.stats["icu stays"] = read_first_icu_times(step(icu), parts.admissions, report)
        else:
            parts.stats["table icustays absent"] += 1
        _read_diagnoses(step(diagnoses_path), parts, report)
        notes = _find_notes(root, note_root)
        if notes is not None:
            parts.stats["discharge notes"] = load_discharge_notes(
                step(notes), store, report, wanted=set(parts.admissions)
            )
        else:
            parts.stats["table discharge absent"] += 1
        known: set[int] = set()
        for module, name in (("icu", "d_items"), ("hosp", "d_labitems")):
            path = _table(root, module, name)
            if path is None:
                parts.stats[f"table {name} absent"] += 1
                continue
            known.update(
                int(row["itemid"])
                for _, row in iter_rows(path, ["itemid"])
                if row["itemid"].strip().isdigit()
            )
        parts.known_items = known or None
        for module, name in (("icu", "chartevents"), ("hosp", "labevents")):
            path = _table(root, module, name)
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
