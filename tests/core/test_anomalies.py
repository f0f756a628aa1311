"""Lab anomaly detection and captions (ctk.anomalies)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.anomalies import (
    Anomaly,
    anomaly_captions,
    detect_anomalies,
    format_number,
    summarise_anomalies,
)
from ctk.lab_variables import load_lab_ranges
from ctk.records import Admission, LabSeries


def _labs() -> LabSeries:
    # Paper ranges: HR 40/128, SpO2 90/106, Temperature 35/38.56.
    return LabSeries(
        variables=["Heart Rate", "Oxygen saturation", "Temperature", "Height"],
        hours=[0.0, 1.5, 3.0, 4.0, 40.0, 41.0],
        values=[
            [128.0, 141.0, 130.0, None, 129.0, 39.0],  # 128 is on the bound: normal
            [90.0, 85.0, 89.5, 88.0, None, 97.0],  # 90 is on the bound: normal
            [None, None, 38.9, None, None, None],
            [170.0, None, None, None, None, 300.0],  # not in the ranges table
        ],
    )


def test_detect_counts_extremes_and_hours_in_table_order() -> None:
    found = detect_anomalies(_labs())
    assert [(a.variable, a.direction) for a in found] == [
        ("Heart Rate", "high"),
        ("Heart Rate", "low"),
        ("Oxygen saturation", "low"),
        ("Temperature", "high"),
    ]
    hr_high, hr_low, spo2, temp = found
    assert (hr_high.count, hr_high.extreme, hr_high.first_hour, hr_high.last_hour) == (
        3,
        141.0,
        1.5,
        40.0,
    )
    assert (hr_low.count, hr_low.extreme, hr_low.first_hour, hr_low.last_hour) == (
        1,
        39.0,
        41.0,
        41.0,
    )
    assert (spo2.count, spo2.extreme, spo2.first_hour, spo2.last_hour) == (3, 85.0, 1.5, 4.0)
    assert temp.unit == "C" and temp.caption_name == "Temperature"


def test_captions_in_the_papers_style() -> None:
    assert anomaly_captions(_labs()) == [
        "Heart rate is higher than normal 3 times (max 141)",
        "Heart rate is lower than normal 1 time (min 39)",
        "Oxygen saturation is lower than normal 3 times (min 85)",
        "Temperature is higher than normal 1 time (max 38.9)",
    ]
    first = detect_anomalies(_labs())[0]
    assert first.caption_with_time == (
        "Heart rate is higher than normal 3 times (max 141; first at hour 1.5, last at hour 40)"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(141.0, "141"), (7.08, "7.08"), (38.9, "38.9"), (0.6851, "0.685"), (-0.0, "0"), (2.5e-5, "0")],
)
def test_format_number(value: float, text: str) -> None:
    assert format_number(value) == text


def test_user_ranges_override_the_paper(tmp_path: Path) -> None:
    table = tmp_path / "ranges.csv"
    table.write_text("variable,low,high,caption_name\nHeart Rate,50,100,HR\n", encoding="utf-8")
    ranges = load_lab_ranges(table)
    found = detect_anomalies(_labs(), ranges)
    # only the variable of the user's table, with the user's bounds
    assert [(a.variable, a.direction, a.count) for a in found] == [
        ("Heart Rate", "high", 4),
        ("Heart Rate", "low", 1),
    ]
    assert found[0].caption == "HR is higher than normal 4 times (max 141)"


def test_empty_and_all_missing_series() -> None:
    empty = LabSeries(variables=["Heart Rate"], hours=[], values=[[]])
    assert detect_anomalies(empty) == []
    missing = LabSeries(
        variables=["Heart Rate", "Glucose"], hours=[0.0, 1.0], values=[[None, None], [None, None]]
    )
    assert anomaly_captions(missing) == []


def test_anomaly_is_frozen() -> None:
    a = Anomaly("Heart Rate", "high", 1, 141.0, 0.0, 0.0, "Heart rate")
    with pytest.raises(AttributeError):
        a.count = 2  # type: ignore[misc]


def test_summarise_over_admissions() -> None:
    admissions = [
        Admission(admission_id="a", labs=_labs()),
        Admission(admission_id="b"),
        Admission(admission_id="c", labs=_labs()),
    ]
    summary = summarise_anomalies(admissions)
    assert (summary.admissions, summary.with_labs) == (3, 2)
    assert summary.admissions_with["Heart Rate:high"] == 2
    assert summary.values["Oxygen saturation:low"] == 6
