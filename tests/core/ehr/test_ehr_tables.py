"""Reading MIMIC tables: case, compression, required columns, corrupt files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ctk.ehr.tables import find_table, iter_rows, read_header
from ctk.errors import DataError, MissingColumnError, RecordParseError, TruncatedFileError


def test_rows_are_keyed_by_lower_case_names_whatever_the_header_case(tmp_path: Path) -> None:
    upper = tmp_path / "UP.csv"
    upper.write_text('"ROW_ID","HADM_ID","TEXT"\n1,10,"a, b"\n', encoding="utf-8")
    lower = tmp_path / "low.csv.gz"
    lower.write_bytes(gzip.compress(b'row_id,hadm_id,text\n1,10,"a, b"\n'))
    for path in (upper, lower):
        rows = list(iter_rows(path, ["HADM_ID", "text"], optional=["missing_col"]))
        assert rows == [(2, {"hadm_id": "10", "text": "a, b", "missing_col": ""})]


def test_missing_required_column_names_the_file_and_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "ADMISSIONS.csv"
    path.write_text("subject_id,admittime\n1,2100-01-01\n", encoding="utf-8")
    with pytest.raises(MissingColumnError) as e:
        list(iter_rows(path, ["subject_id", "hadm_id"]))
    assert "ADMISSIONS.csv" in str(e.value) and "hadm_id" in str(e.value)


def test_truncated_gzip_names_the_file_and_the_last_row(tmp_path: Path) -> None:
    body = "hadm_id,value\n" + "".join(f"{i},{i * 3}\n" for i in range(20000))
    data = gzip.compress(body.encode())
    path = tmp_path / "CHARTEVENTS.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedFileError) as e:
        list(iter_rows(path, ["hadm_id"]))
    message = str(e.value)
    assert e.value.hint is not None and "fetch the file again" in e.value.hint
    assert "CHARTEVENTS.csv.gz" in message and "after line" in message


def test_short_row_is_an_error_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,3\n4\n", encoding="utf-8")
    with pytest.raises(RecordParseError, match="line 3"):
        list(iter_rows(path, ["c"]))


def test_find_table_accepts_either_case_and_compression(tmp_path: Path) -> None:
    (tmp_path / "admissions.csv.gz").write_bytes(gzip.compress(b"hadm_id\n"))
    assert find_table(tmp_path, "ADMISSIONS") == tmp_path / "admissions.csv.gz"
    assert find_table(tmp_path, "NOTEEVENTS", required=False) is None
    with pytest.raises(DataError, match="NOTEEVENTS"):
        find_table(tmp_path, "NOTEEVENTS")
    assert read_header(tmp_path / "admissions.csv.gz") == ["hadm_id"]


def test_skip_passes_over_rows_before_checking_them(tmp_path: Path) -> None:
    path = tmp_path / "CHARTEVENTS.csv"
    path.write_text("itemid,value\n1,a\n2\n3,c\n", encoding="utf-8")  # the short row is skipped
    rows = list(iter_rows(path, ["itemid", "value"], skip=("ITEMID", frozenset({"2"}))))
    assert [r["itemid"] for _, r in rows] == ["1", "3"]


def test_polars_and_csv_engines_read_the_same_rows(tmp_path: Path) -> None:
    pytest.importorskip("polars")
    from ctk.ehr.tables import iter_rows

    path = tmp_path / "CHARTEVENTS.csv"
    path.write_text(
        '"ROW_ID","HADM_ID","ITEMID","CHARTTIME","VALUE","VALUEUOM"\n'
        '1,100,211,"2150-01-01 10:00:00","88","bpm"\n'
        "2,,211,2150-01-01 11:00:00,,\n"
        '3,100,999,2150-01-01 11:00:00,"x, y",\n'
        '4,101,618,"2150-01-01 12:00:00","a ""quoted"" text",\n'
    )
    wanted = ["hadm_id", "itemid", "charttime", "value"]
    skip = ("itemid", frozenset({"999"}))
    by_csv = list(iter_rows(path, wanted, ["valueuom", "icustay_id"], skip=skip, engine="csv"))
    by_polars = list(
        iter_rows(path, wanted, ["valueuom", "icustay_id"], skip=skip, engine="polars")
    )
    assert by_polars == by_csv
    assert [n for n, _ in by_csv] == [2, 3, 5]
    assert by_csv[1][1] == {
        "hadm_id": "",
        "itemid": "211",
        "charttime": "2150-01-01 11:00:00",
        "value": "",
        "valueuom": "",
        "icustay_id": "",
    }
    assert by_csv[2][1]["value"] == 'a "quoted" text'
