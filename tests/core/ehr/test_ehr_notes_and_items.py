"""Section splitting, the note store, the item map and the benchmark's unit cleaning."""

from __future__ import annotations

import pytest

from ctk.ehr.itemids import clean_value, item_map
from ctk.ehr.notes import NoteStore, make_note, split_sections
from ctk.lab_variables import BENCHMARK_VARIABLES, PAPER_VARIABLES

NOTE = """Service: MEDICINE
History of Present Illness:
Dyspnea.
Brief Hospital Course:
# CHF: diuresed.
Pneumonia: treated with antibiotics.

Discharge Medications:
Lasix
"""


def test_brief_hospital_course_is_cut_at_known_headings_only() -> None:
    sections = split_sections(NOTE)
    assert sections["brief hospital course"] == (
        "# CHF: diuresed.\nPneumonia: treated with antibiotics."
    )
    assert sections["discharge medications"] == "Lasix"
    assert make_note(NOTE).main_text() == sections["brief hospital course"]


def test_hospital_course_variant_is_folded_and_a_note_without_sections_falls_back() -> None:
    assert split_sections("HOSPITAL COURSE: Stable.")["brief hospital course"] == "Stable."
    note = make_note("free text only")
    assert note.sections == {} and note.main_text() == "free text only"


def test_note_store_keeps_the_highest_rank() -> None:
    with NoteStore() as store:
        store.put("1", "report", rank=2)
        store.put("1", "addendum", rank=1)
        store.put("2", "first", rank=0)
        store.put("2", "second", rank=0)
        assert (store.get("1"), store.get("2"), store.get("3")) == ("report", "second", None)
        assert len(store) == 2 and "1" in store


def test_item_map_covers_the_17_variables_with_mimic4_metavision_ids() -> None:
    items = item_map()
    assert {i.variable for i in items.values()} == set(BENCHMARK_VARIABLES)
    assert set(PAPER_VARIABLES) <= {i.variable for i in items.values()}
    assert items[220045].variable == "Heart Rate" and items[220045].dbsource == "metavision"
    assert items[50931].variable == "Glucose" and items[50931].linksto == "labevents"


@pytest.mark.parametrize(
    ("itemid", "value", "unit", "expected"),
    [
        (678, "98.6", "?F", 37.0),  # Temperature F
        (223762, "37.2", "?C", 37.2),
        (223762, "100.4", "", 38.0),  # >= 79: Fahrenheit whatever the label
        (3581, "100", "", 45.3592),  # Present Weight (lb)
        (3582, "160", "", 4.53592),  # Present Weight (oz)
        (224639, "80", "kg", 80.0),
        (223835, "40", "", 0.4),  # FiO2 percent
        (223835, "0.4", "", 0.4),
        (220277, "0.95", "%", 95.0),  # SpO2 fraction
        (455, "120/80", "", 120.0),
        (8441, "120/80", "", 80.0),
        (50931, "ERROR", "", None),
        (211, "nan", "", None),
        (211, "inf", "", None),
        (211, "", "", None),
        (3348, "Brisk", "", 0.0),  # clean_crr
        (115, "Abnormal >3 secs", "", 1.0),
        (115, "Other", "", None),
        (184, "4 Spontaneously", "", 4.0),  # channel_info.json scores
        (220739, "Spontaneously", "", 4.0),
        (198, "15", "", 15.0),
        (454, "Obeys Commands", "", 6.0),
        (723, "1.0 ET/Trach", "", 1.0),
        (723, "Mumbles", "", None),  # not a known text: not used
    ],
)
def test_clean_value_applies_the_benchmark_conversions(
    itemid: int, value: str, unit: str, expected: float | None
) -> None:
    got = clean_value(item_map()[itemid], value, unit)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-3)
