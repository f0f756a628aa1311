"""Tables whose timestamps a spreadsheet rewrote (``10/23/64 21:09``) are refused, by name.

Never parsed into the wrong century, never reported only as an empty selection: the
message names the table, the column and a sample value.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from cli_run import run

from ctk.ehr.mimic3 import load_mimic3
from ctk.ehr.tables import parse_time
from ctk.errors import DataError
from ctk.report import ProblemReport

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ehr"
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def _as_spreadsheet(path: Path, column: str) -> str:
    """Rewrite one column as a US spreadsheet saves it (M/D/YY H:MM); returns a value written."""
    rows = list(csv.reader(io.StringIO(path.read_text())))
    index = [c.lower() for c in rows[0]].index(column)
    sample = ""
    for row in rows[1:]:
        if _ISO.match(row[index]):
            when = datetime.fromisoformat(row[index])
            row[index] = (
                f"{when.month}/{when.day}/{when.year % 100:02d} {when.hour}:{when.minute:02d}"
            )
            sample = sample or row[index]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue())
    assert sample, "the fixture has no timestamp to rewrite"
    return sample


def test_parse_time_reads_mimic_refuses_spreadsheet_dates_and_skips_garbage() -> None:
    assert parse_time("2164-10-23 21:09:00") == datetime(2164, 10, 23, 21, 9)
    assert parse_time("2164-10-23") == datetime(2164, 10, 23)
    assert parse_time("") is None and parse_time("garbage") is None
    for foreign in ("10/23/64 21:09", "23.10.2164 21:09", "10-23-64", "2164/10/23 21:09"):
        with pytest.raises(DataError, match=r"ADMISSIONS\.csv: column admittime"):
            parse_time(foreign, source="ADMISSIONS.csv", column="admittime")


@pytest.mark.parametrize(
    ("table", "column"),
    [("ADMISSIONS", "admittime"), ("CHARTEVENTS", "charttime"), ("ICUSTAYS", "intime")],
)
def test_a_resaved_table_is_refused_naming_table_column_and_value(
    tmp_path: Path, table: str, column: str
) -> None:
    root = tmp_path / "m3"
    shutil.copytree(FIXTURES / "mimic3_full", root)
    sample = _as_spreadsheet(root / f"{table}.csv", column)
    with pytest.raises(DataError) as caught:
        list(load_mimic3(root, report=ProblemReport(), cohort="wide"))
    message = str(caught.value)
    assert f"{table}.csv" in message and column in message.lower()
    assert re.search(r"'\d{1,2}/\d{1,2}/\d{2} \d{1,2}:\d{2}'", message), message
    assert caught.value.hint is not None and "spreadsheet" in caught.value.hint
    assert sample.count("/") == 2


def test_the_cli_exits_2_with_one_line_and_writes_no_cohort(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "m3"
    shutil.copytree(FIXTURES / "mimic3_full", root)
    _as_spreadsheet(root / "ADMISSIONS.csv", "admittime")
    code, _, err = run(
        ["data", "import", "--format", "mimic3", str(root), "--out", str(tmp_path / "c")], capsys
    )
    assert code == 2 and "ADMISSIONS.csv: column admittime" in err and "Traceback" not in err
    assert not (tmp_path / "c" / "admissions.jsonl").exists()
