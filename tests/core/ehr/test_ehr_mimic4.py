"""Raw MIMIC-IV with ICD-9 and ICD-10 diagnoses, labs and MIMIC-IV-Note."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.ehr.mimic4 import load_mimic4
from ctk.errors import DataError
from ctk.report import ProblemReport

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ehr" / "mimic4"


def test_fixture_labels_labs_and_latest_discharge_note() -> None:
    report = ProblemReport()
    adms = {a.admission_id: a for a in load_mimic4(FIXTURE, report=report)}
    assert sorted(adms) == ["2001", "2002"]
    a = adms["2001"]
    assert a.phenotypes == [
        "Acute and unspecified renal failure",
        "Septicemia (except in labor)",
        "Shock",
    ]
    assert adms["2002"].phenotypes == ["Disorders of lipid metabolism", "Essential hypertension"]
    assert adms["2002"].icd_codes == ["icd9:4019", "icd10:E785"]
    assert a.note is not None and "vancomycin" in a.note.main_text()  # note_seq 2 wins
    labs = a.labs
    assert labs is not None
    assert labs.series("Heart Rate")[0] == 130.0
    assert labs.series("Temperature")[1] == pytest.approx(38.5)
    assert labs.series("Oxygen saturation")[1] == pytest.approx(88.0)
    assert labs.series("Weight")[2] == pytest.approx(176 * 0.453592)
    assert labs.series("pH")[2] == pytest.approx(7.10)
    assert dict(report.counts) == {
        "admission without discharge summary or diagnoses": 1,
        "discharge note of an unknown admission": 1,
        "icd_version not 9 or 10": 1,
        "unknown item id (not in D_ITEMS/D_LABITEMS)": 1,
        "text value in a numeric item (e.g. NEG, TR, <5, >100, ERROR)": 1,
    }


def test_note_root_must_hold_discharge(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="discharge"):
        list(load_mimic4(FIXTURE, report=ProblemReport(), note_root=tmp_path))
