from __future__ import annotations

import gzip
import json
import math
import tracemalloc
from pathlib import Path

import pytest
from pydantic import ValidationError

from ctk.cohort import CohortWriter, count_admissions, iter_admissions, read_manifest, write_cohort
from ctk.errors import DataError, FormatVersionError, RecordParseError, TruncatedFileError
from ctk.phenotypes import PHENOTYPE_NAMES
from ctk.records import Admission, ClinicalNote, LabSeries


def _admission(i: int) -> Admission:
    return Admission(
        admission_id=f"a{i}",
        subject_id=str(i),
        source="test",
        split="train" if i % 2 else "test",
        note=ClinicalNote(
            text="Brief Hospital Course: diuresed.", sections={"brief hospital course": "diuresed."}
        ),
        labs=LabSeries(variables=["Heart Rate"], hours=[0.0, 1.0], values=[[80.0, None]]),
        phenotypes=["Shock", "Essential hypertension"],
    )


def test_admission_labels_are_canonical() -> None:
    a = _admission(1)
    assert a.phenotypes == ["Essential hypertension", "Shock"]
    vec = a.label_vector()
    assert len(vec) == 25 and sum(vec) == 2
    assert vec[PHENOTYPE_NAMES.index("Shock")] == 1
    with pytest.raises(ValidationError, match="unknown phenotype"):
        Admission(admission_id="x", phenotypes=["Flu"])


def test_lab_series_refuses_bad_shapes_and_nan() -> None:
    with pytest.raises(ValidationError, match="values"):
        LabSeries(variables=["A", "B"], hours=[0.0], values=[[1.0]])
    with pytest.raises(ValidationError, match="non-finite"):
        LabSeries(variables=["A"], hours=[0.0], values=[[math.nan]])
    with pytest.raises(ValidationError, match="ascending"):
        LabSeries(variables=["A"], hours=[1.0, 0.0], values=[[1.0, 2.0]])
    labs = LabSeries(variables=["A"], hours=[0.0, 1.0, 2.0], values=[[1.0, None, 3.0]])
    assert labs.observed_fraction("A") == pytest.approx(2 / 3)


def test_note_main_text_falls_back_to_whole_note() -> None:
    assert ClinicalNote(text="all", sections={"brief hospital course": "  "}).main_text() == "all"


@pytest.mark.parametrize("compress", [False, True])
def test_cohort_round_trip(tmp_path: Path, compress: bool) -> None:
    out = tmp_path / "c"
    with CohortWriter(out, source="test", compress=compress) as w:
        w.write_all(_admission(i) for i in range(10))
    manifest = read_manifest(out)
    assert manifest is not None and manifest.admissions == 10
    assert manifest.splits == {"train": 5, "test": 5}
    got = list(iter_admissions(out))
    assert [a.admission_id for a in got] == [f"a{i}" for i in range(10)]
    assert got[3] == _admission(3)
    assert count_admissions(out) == 10


def test_failed_write_leaves_no_cohort(tmp_path: Path) -> None:
    out = tmp_path / "c"
    with pytest.raises(RuntimeError), CohortWriter(out) as w:
        w.write(_admission(1))
        raise RuntimeError("crash")
    with pytest.raises(DataError, match="not a cohort"):
        list(iter_admissions(out))


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="duplicate"), CohortWriter(tmp_path / "c") as w:
        w.write(_admission(1))
        w.write(_admission(1))


def test_bad_lines_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(_admission(1).model_dump_json() + "\n{not json\n")
    it = iter_admissions(path)
    assert next(it).admission_id == "a1"
    with pytest.raises(RecordParseError, match=r"x\.jsonl \(at line 2\)"):
        next(it)
    path.write_text(json.dumps({"admission_id": "z", "schema_version": 99}) + "\n")
    with pytest.raises(FormatVersionError):
        list(iter_admissions(path))


def test_truncated_gzip_cohort_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "c"
    write_cohort(out, (_admission(i) for i in range(200)))
    data = gzip.compress((out / "admissions.jsonl").read_bytes())
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedFileError, match=r"truncated|ends early|corrupt") as e:
        list(iter_admissions(bad))
    assert isinstance(e.value, RecordParseError) and "after line" in str(e.value)


def test_manifest_from_newer_format_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "c"
    write_cohort(out, [_admission(1)])
    m = json.loads((out / "manifest.json").read_text())
    m["format_version"] = 2
    (out / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(FormatVersionError, match=r"upgrade|version"):
        list(iter_admissions(out))


def test_reading_streams_with_bounded_memory(tmp_path: Path) -> None:
    out = tmp_path / "big"
    write_cohort(out, (_admission(i) for i in range(20_000)))
    tracemalloc.start()
    try:
        n = sum(1 for _ in iter_admissions(out))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 20_000
    # holding 20k admissions at once takes well over 20 MB of Python objects
    assert peak < 5_000_000
