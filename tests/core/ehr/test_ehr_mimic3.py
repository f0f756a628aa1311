"""Raw MIMIC-III: demo layout (lower case, gz) and full-release layout (upper case)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from ctk.ehr.mimic3 import load_mimic3
from ctk.errors import MissingColumnError, RecordParseError
from ctk.records import Admission
from ctk.report import ProblemReport

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ehr"
EXPECTED_PROBLEMS = {
    "admission without discharge summary or diagnoses": 1,  # hadm 1003
    "diagnosis of an unknown admission": 1,
    "diagnosis without code": 1,
    "discharge summary without hadm_id": 1,
    "empty note": 1,
    "event before start": 1,
    "event without hadm_id": 1,
    "note marked as error (ISERROR=1)": 1,
    "unknown item id (not in D_ITEMS/D_LABITEMS)": 1,
    "unparsable admittime": 1,
    "unparsable charttime": 1,
    "unparsable item id": 1,
    "text value in a numeric item (e.g. NEG, TR, <5, >100, ERROR)": 1,  # ERROR
    "non-finite value": 2,  # nan, inf
}


def _load(root: Path, **kwargs: object) -> tuple[list[Admission], ProblemReport]:
    report = ProblemReport()
    kwargs.setdefault("cohort", "wide")
    return list(load_mimic3(root, report=report, **kwargs)), report  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", ["mimic3_demo", "mimic3_full"])
def test_fixture_tables_in_both_layouts(layout: str) -> None:
    details: dict[str, object] = {}
    adms, report = _load(FIXTURES / layout, details=details)
    assert [a.admission_id for a in adms] == ["1001", "1002"]
    a, b = adms
    assert a.phenotypes == [
        "Congestive heart failure; nonhypertensive",
        "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)",
    ]
    assert a.icd_codes == ["icd9:4280", "icd9:486", "icd9:V1582"]
    assert a.note is not None and "ceftriaxone" in a.note.main_text()
    assert "Addendum" not in a.note.text  # the report beats the addendum
    labs = a.labs
    assert labs is not None and labs.hours == [0.0, 1.0, 2.0]  # from the first ICU intime
    assert labs.series("Heart Rate") == [85.0, 100.0, None]
    assert labs.series("Temperature")[0] == pytest.approx(37.0)
    assert labs.series("Weight")[0] == pytest.approx(154.3 * 0.453592)
    assert labs.series("Systolic blood pressure")[0] == 120.0
    assert labs.series("Fraction inspired oxygen")[1] == 0.5
    assert labs.series("Glucose")[2] == 140.0 and labs.series("pH")[2] == 7.35
    assert b.note is None and b.labs is not None  # no ICU stay: hours from ADMITTIME
    assert b.labs.series("Respiratory rate") == [None, 18.0]
    assert dict(report.counts) == EXPECTED_PROBLEMS
    assert details["events of admissions not imported"] == 1


def test_both_layouts_give_the_same_admissions() -> None:
    demo, _ = _load(FIXTURES / "mimic3_demo")
    full, _ = _load(FIXTURES / "mimic3_full")
    assert [a.model_dump() for a in demo] == [a.model_dump() for a in full]


def test_chunked_event_pass_gives_the_same_result() -> None:
    small, _ = _load(FIXTURES / "mimic3_demo", chunksize=1)
    large, _ = _load(FIXTURES / "mimic3_demo")
    assert [a.labs for a in small] == [a.labs for a in large]


def test_testset_file_sets_the_split(tmp_path: Path) -> None:
    testset = tmp_path / "testset.csv"
    testset.write_text("101,1\n102,0\n")
    adms, _ = _load(FIXTURES / "mimic3_demo", testset=testset)
    assert adms[0].split == "test" and adms[1].split in ("train", "val")


def test_truncated_chartevents_keeps_what_was_read_and_says_where(tmp_path: Path) -> None:
    root = tmp_path / "m3"
    shutil.copytree(FIXTURES / "mimic3_demo", root)
    rows = "".join(
        f"{i},101,1001,5000,211,2150-01-01 12:00:00,,{i % 90},,bpm\n" for i in range(30000)
    )
    data = gzip.compress(
        (
            "row_id,subject_id,hadm_id,icustay_id,itemid,charttime,storetime,"
            "value,valuenum,valueuom\n" + rows
        ).encode()
    )
    (root / "CHARTEVENTS.csv.gz").write_bytes(data[: len(data) // 2])
    adms, report = _load(root)
    reason = "compressed file ends early (rows read before it kept)"
    assert report.counts[reason] == 1
    where = next(e for e in report.examples if e.reason == reason)
    assert where.source.endswith("CHARTEVENTS.csv.gz")
    stopped = int(where.position.removeprefix("after line "))
    assert 1000 < stopped < 30001  # some rows were read, not all
    labs = adms[0].labs
    assert labs is not None and labs.series("Heart Rate")[0] is not None


def test_truncated_label_table_still_stops_the_import(tmp_path: Path) -> None:
    root = tmp_path / "m3"
    shutil.copytree(FIXTURES / "mimic3_demo", root)
    rows = "".join(f"{i},101,1001,{i},4280\n" for i in range(30000))
    data = gzip.compress(("row_id,subject_id,hadm_id,seq_num,icd9_code\n" + rows).encode())
    (root / "DIAGNOSES_ICD.csv").unlink()
    (root / "DIAGNOSES_ICD.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordParseError, match=r"DIAGNOSES_ICD\.csv\.gz"):
        _load(root)


def test_missing_column_names_the_table(tmp_path: Path) -> None:
    root = tmp_path / "m3"
    shutil.copytree(FIXTURES / "mimic3_full", root)
    path = root / "DIAGNOSES_ICD.csv"
    path.write_text(path.read_text().replace('"ICD9_CODE"', '"CODE"'))
    with pytest.raises(MissingColumnError, match=r"DIAGNOSES_ICD\.csv.*icd9_code"):
        _load(root)


def test_three_table_copy_gives_the_same_labels(tmp_path: Path) -> None:
    """Copies such as PyHealth's MIMIC-III demo ship only the three tables labels need.

    (Checked on the real demo by ``tools/check_real_samples.py``; tests never need it.)
    """
    root = tmp_path / "m3"
    root.mkdir()
    for name in ("ADMISSIONS.csv.gz", "DIAGNOSES_ICD.csv", "PATIENTS.csv"):
        shutil.copy(FIXTURES / "mimic3_demo" / name, root / name)
    adms, report = _load(root)
    full = {a.admission_id: a for a in _load(FIXTURES / "mimic3_demo")[0]}
    assert adms and all(a.phenotypes == full[a.admission_id].phenotypes for a in adms)
    assert {a.admission_id for a in adms} <= set(full)
    assert all(a.labs is None or not a.labs.values for a in adms)
    assert report.total > 0  # what could not be built is counted, not silently dropped
