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


HR, GCS, GLUCOSE = 211, 198, 50931


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


def write_benchmark_case(root: Path) -> None:
    """The benchmark-rule cases of test_ehr_benchmark_cohort.py.

    Subjects: 10000 (a test subject of the benchmark), 100 (a val subject), 202..207.
    """
    admissions = [
        (10000, 2001, "2150-01-01 08:00:00"),
        (10000, 2006, "2151-06-01 08:00:00"),
        (202, 2002, "2150-01-01 08:00:00"),
        (202, 2003, "2152-01-01 08:00:00"),
        (203, 2004, "2150-01-01 08:00:00"),
        (203, 2005, "2153-01-01 08:00:00"),
        (204, 2007, "2150-01-01 08:00:00"),
        (100, 2008, "2150-01-01 08:00:00"),
        (206, 2009, "2150-01-01 08:00:00"),
        (207, 2010, "2150-01-01 08:00:00"),
        (207, 2011, "2150-03-01 08:00:00"),
    ]
    write_table(
        root,
        "ADMISSIONS",
        [{"subject_id": s, "hadm_id": h, "admittime": t} for s, h, t in admissions],
        gz=True,
    )
    write_table(
        root,
        "PATIENTS",
        [
            {"subject_id": 10000, "dob": "2080-01-01 00:00:00"},
            {"subject_id": 202, "dob": "2080-01-01 00:00:00"},
            {"subject_id": 203, "dob": "2080-01-01 00:00:00"},
            {"subject_id": 204, "dob": "2140-01-01 00:00:00"},  # 10 years old
            {"subject_id": 100, "dob": "1850-01-01 00:00:00"},  # over 89: DOB shifted
            {"subject_id": 206, "dob": "2080-01-01 00:00:00"},
            {"subject_id": 207, "dob": "2080-01-01 00:00:00"},
        ],
    )
    write_table(
        root,
        "ICUSTAYS",
        [
            # table order is not time order: episodes are numbered by INTIME
            stay(10000, 2006, 3006, "2151-06-01 10:00:00"),
            stay(10000, 2001, 3001, "2150-01-01 10:00:00"),
            stay(202, 2002, 3002, "2150-01-01 10:00:00", wards=(12, 15)),
            stay(202, 2003, 3003, "2152-01-01 10:00:00", units=("MICU", "CCU")),
            stay(203, 2004, 3004, "2150-01-01 10:00:00"),
            stay(203, 2004, 3014, "2150-01-05 10:00:00"),
            stay(203, 2005, 3005, "2153-01-01 10:00:00", wards=(7, 9)),
            stay(203, 2005, 3015, "2153-01-05 10:00:00"),
            stay(204, 2007, 3007, "2150-01-01 10:00:00"),
            stay(100, 2008, 3008, "2150-01-01 10:00:00"),
            stay(206, 2009, 3009, "2150-01-01 10:00:00", los_days=1.0),
            stay(207, 2010, 3010, "2150-01-01 10:00:00"),
            stay(207, 2011, 3011, "2150-03-01 10:00:00"),
        ],
    )
    diagnoses = [
        (10000, 2001, "4280"),
        (10000, 2001, "5185"),  # missing from D_ICD_DIAGNOSES, like the real 5185
        (10000, 2006, "4019"),
        (202, 2002, "4280"),
        (202, 2003, "4280"),
        (203, 2004, "4280"),
        (203, 2005, "51881"),
        (204, 2007, "4280"),
        (100, 2008, "4019"),
        (206, 2009, "4280"),
        (207, 2010, "5185"),  # its only code is missing from the dictionary
        (207, 2011, "4019"),
    ]
    write_table(
        root,
        "DIAGNOSES_ICD",
        [{"subject_id": s, "hadm_id": h, "seq_num": 1, "icd9_code": c} for s, h, c in diagnoses],
    )
    write_table(
        root,
        "D_ICD_DIAGNOSES",
        [{"icd9_code": c, "short_title": c} for c in ("4280", "4019", "51881")],
    )
    events = [
        chart(10000, 2001, 3001, HR, "2150-01-01 10:30:00", "88"),
        chart(10000, 2001, 3001, HR, "2150-01-01 11:10:00", "92"),
        chart(10000, 2006, 3006, GCS, "2151-06-01 11:00:00", "15"),  # GCS alone counts
        chart(203, 2004, 3004, HR, "2150-01-01 11:00:00", "80"),
        chart(203, 2005, 3015, HR, "2153-01-05 12:00:00", "75"),
        chart(204, 2007, 3007, HR, "2150-01-01 11:00:00", "140"),
        chart(100, 2008, "", HR, "2150-01-01 12:00:00", "70"),  # ICUSTAY_ID recovered
        chart(100, 2008, 9999, HR, "2150-01-01 13:00:00", "71"),  # another stay's: dropped
        chart(100, "", 3008, HR, "2150-01-01 14:00:00", "72"),  # no HADM_ID: dropped
        chart(206, 2009, 3009, HR, "2150-01-01 09:00:00", "99"),  # before INTIME
        chart(206, 2009, 3009, HR, "2150-01-02 11:00:00", "98"),  # after INTIME + LOS
        chart(207, 2010, 3010, HR, "2150-01-01 11:00:00", "60"),
        chart(207, 2011, 3011, HR, "2150-03-01 11:00:00", "61"),
    ]
    write_table(root, "CHARTEVENTS", events, gz=True)
    write_table(
        root,
        "LABEVENTS",
        [
            {"subject_id": 100, "hadm_id": 2008, "itemid": GLUCOSE, "charttime": t, "value": v}
            for t, v in (
                ("2150-01-01 10:20:00", "140"),
                ("2150-01-01 10:40:00", "NEG"),
                ("2150-01-01 11:20:00", "<5"),
                ("2150-01-01 11:40:00", ">100"),
                ("2150-01-01 12:20:00", "TR"),
            )
        ],
    )
