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
    "unparsable or non-finite value": 3,  # ERROR, nan, inf
}


def _load(root: Path, **kwargs: object) -> tuple[list[Admission], ProblemReport]:
    report = ProblemReport()
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


def test_truncated_chartevents_names_the_file(tmp_path: Path) -> None:
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
    with pytest.raises(RecordParseError, match=r"CHARTEVENTS\.csv\.gz"):
        _load(root)


def test_missing_column_names_the_table(tmp_path: Path) -> None:
    root = tmp_path / "m3"
    shutil.copytree(FIXTURES / "mimic3_full", root)
    path = root / "DIAGNOSES_ICD.csv"
    path.write_text(path.read_text().replace('"ICD9_CODE"', '"CODE"'))
    with pytest.raises(MissingColumnError, match=r"DIAGNOSES_ICD\.csv.*icd9_code"):
        _load(root)


def test_real_mimic3_demo_tables_give_labels(shared_samples: Path) -> None:
    root = shared_samples / "mimic3-demo-pyhealth"
    if not root.is_dir():
        pytest.skip(f"{root} absent")
    adms, report = _load(root)
    assert len(adms) == 129  # every demo admission has diagnoses
    assert sum(bool(a.phenotypes) for a in adms) > 100
    assert {a.split for a in adms} == {"train", "val", "test"}
    assert report.total == 0
