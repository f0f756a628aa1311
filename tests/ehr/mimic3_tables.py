"""Write small raw MIMIC-III tables (invented records) in the real column layout for tests."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from pathlib import Path

COLUMNS: dict[str, list[str]] = {
    "ADMISSIONS": [
        "row_id",
        "subject_id",
        "hadm_id",
        "admittime",
        "dischtime",
        "deathtime",
        "ethnicity",
        "diagnosis",
    ],
    "PATIENTS": ["row_id", "subject_id", "gender", "dob", "dod"],
    "ICUSTAYS": [
        "row_id",
        "subject_id",
        "hadm_id",
        "icustay_id",
        "dbsource",
        "first_careunit",
        "last_careunit",
        "first_wardid",
        "last_wardid",
        "intime",
        "outtime",
        "los",
    ],
    "DIAGNOSES_ICD": ["row_id", "subject_id", "hadm_id", "seq_num", "icd9_code"],
    "D_ICD_DIAGNOSES": ["row_id", "icd9_code", "short_title", "long_title"],
    "CHARTEVENTS": [
        "row_id",
        "subject_id",
        "hadm_id",
        "icustay_id",
        "itemid",
        "charttime",
        "storetime",
        "cgid",
        "value",
        "valuenum",
        "valueuom",
        "warning",
        "error",
        "resultstatus",
        "stopped",
    ],
    "LABEVENTS": [
        "row_id",
        "subject_id",
        "hadm_id",
        "itemid",
        "charttime",
        "value",
        "valuenum",
        "valueuom",
        "flag",
    ],
    "NOTEEVENTS": [
        "row_id",
        "subject_id",
        "hadm_id",
        "chartdate",
        "charttime",
        "storetime",
        "category",
        "description",
        "cgid",
        "iserror",
        "text",
    ],
}


def write_table(
    root: Path, name: str, rows: Sequence[dict[str, object]], *, gz: bool = False
) -> Path:
    """Write one table; each row gives some columns by name, the others are empty."""
    header = COLUMNS[name]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for i, row in enumerate(rows, start=1):
        unknown = set(row) - set(header)
        assert not unknown, f"{name} has no column(s) {unknown}"
        writer.writerow([row.get("row_id", i) if c == "row_id" else row.get(c, "") for c in header])
    root.mkdir(parents=True, exist_ok=True)
    path = root / (name + (".csv.gz" if gz else ".csv"))
    data = buf.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def stay(
    subject: int,
    hadm: int,
    icustay: int,
    intime: str,
    los_days: float = 2.0,
    *,
    wards: tuple[int, int] = (12, 12),
    units: tuple[str, str] = ("MICU", "MICU"),
) -> dict[str, object]:
    """An ICUSTAYS row; OUTTIME is INTIME + LOS."""
    from datetime import datetime, timedelta

    start = datetime.fromisoformat(intime)
    return {
        "subject_id": subject,
        "hadm_id": hadm,
        "icustay_id": icustay,
        "dbsource": "carevue",
        "first_careunit": units[0],
        "last_careunit": units[1],
        "first_wardid": wards[0],
        "last_wardid": wards[1],
        "intime": intime,
        "outtime": (start + timedelta(days=los_days)).isoformat(sep=" "),
        "los": los_days,
    }


def chart(
    subject: int, hadm: object, icustay: object, itemid: int, when: str, value: object
) -> dict[str, object]:
    """A CHARTEVENTS row."""
    return {
        "subject_id": subject,
        "hadm_id": hadm,
        "icustay_id": icustay,
        "itemid": itemid,
        "charttime": when,
        "value": value,
    }
