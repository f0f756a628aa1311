"""The benchmark-exact cohort of raw MIMIC-III: each case names the benchmark function
(YerevaNN/mimic3-benchmarks) whose rule it checks."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from mimic3_tables import COLUMNS, write_benchmark_case, write_table

from ctk.ehr.benchmark_cohort import benchmark_split, is_benchmark_value
from ctk.ehr.mimic3 import load_mimic3
from ctk.errors import ConfigError, DataError
from ctk.lab_variables import BENCHMARK_VARIABLES, PAPER_VARIABLES
from ctk.records import Admission
from ctk.report import ProblemReport

CHF = "Congestive heart failure; nonhypertensive"
RESP = "Respiratory failure; insufficiency; arrest (adult)"
HTN = "Essential hypertension"
TRANSFERS = "icu stays with a ward or care-unit transfer (remove_icustays_with_transfers)"
SEVERAL = "icu stays of admissions with several stays (filter_admissions_on_nb_icustays)"
NOT_IN_DICT = "diagnosis code not in D_ICD_DIAGNOSES (dropped, read_icd_diagnoses_table)"


def _load(root: Path, **kwargs: object) -> tuple[dict[str, Admission], ProblemReport, dict]:  # type: ignore[type-arg]
    report = ProblemReport()
    details: dict[str, object] = {}
    adms = list(load_mimic3(root, report=report, details=details, **kwargs))  # type: ignore[arg-type]
    return {a.admission_id: a for a in adms}, report, details


@pytest.fixture
def cohort(tmp_path: Path) -> tuple[dict[str, Admission], ProblemReport, dict]:  # type: ignore[type-arg]
    write_benchmark_case(tmp_path)
    return _load(tmp_path)


def test_kept_stays_are_exactly_the_benchmarks(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, _, details = cohort
    assert sorted(adms) == [
        "10000_episode1",
        "10000_episode2",
        "100_episode1",
        "203_episode1",
        "207_episode2",
    ]
    # remove_icustays_with_transfers: 2002 (ward) and 2003 (care unit)
    assert details[TRANSFERS] == 3
    # filter_admissions_on_nb_icustays counts stays after the transfer rule: 2004 (two clean
    # stays) goes, 2005 (one transfer stay + one clean) keeps its clean stay
    assert details[SEVERAL] == 2
    assert adms["203_episode1"].hadm_id == "2005"
    # filter_icustays_on_age: the child (204) goes; add_age_to_icustays: the over-89 (100) stays
    assert details["icu stays of patients under 18 (filter_icustays_on_age)"] == 1
    assert "100_episode1" in adms
    # nothing dropped without a count: 11 admissions, 7 with a selected stay
    assert details["admissions without a selected ICU stay (extract_subjects)"] == 4
    assert details["icu stays selected (extract_subjects)"] == 7


def test_episode_numbers_follow_intime_among_selected_stays(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, _, _ = cohort
    # subject.read_stays sorts by INTIME: 2001 (2150) is episode 1 though listed second
    assert adms["10000_episode1"].hadm_id == "2001"
    assert adms["10000_episode2"].hadm_id == "2006"


def test_dictionary_inner_join_drops_missing_codes(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, report, details = cohort
    # read_icd_diagnoses_table: 5185 is not in D_ICD_DIAGNOSES, so no respiratory failure
    first = adms["10000_episode1"]
    assert first.phenotypes == [CHF] and first.icd_codes == ["icd9:4280"]
    assert RESP not in first.phenotypes
    assert report.counts[NOT_IN_DICT] == 2
    # assemble_episodic_data: 2010's only code is missing, so the stay has no label row and
    # create_phenotyping skips it; 2011 keeps episode number 2
    assert details["selected stays without a diagnosis (assemble_episodic_data)"] == 1
    assert "207_episode1" not in adms and adms["207_episode2"].phenotypes == [HTN]


def test_stay_without_events_inside_it_is_no_episode(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, report, details = cohort
    # create_phenotyping keeps -eps < t < LOS + eps: 206 only has events before and after
    assert not any(a.startswith("206_") for a in adms)
    assert details["selected stays without any event in the stay (create_phenotyping)"] == 1
    assert report.counts["event outside the ICU stay (create_phenotyping)"] == 2


def test_validate_events_rules(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, report, details = cohort
    # empty ICUSTAY_ID: taken from the admission's stay (chart row of 2008 and its labs)
    assert details["events given their admission's ICUSTAY_ID (validate_events)"] == 6
    assert report.counts["event of another ICU stay than its admission's (validate_events)"] == 1
    assert report.counts["event without hadm_id"] == 1
    labs = adms["100_episode1"].labs
    assert labs is not None
    assert labs.series("Heart Rate")[2] == 70.0  # 12:00 is hour 2 from INTIME 10:00
    assert len(labs.hours) == 3  # the other stay's event (hour 3) is not used


def test_text_values_in_numeric_items_are_counted(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, report, _ = cohort
    assert report.counts["text value in a numeric item (e.g. NEG, TR, <5, >100, ERROR)"] == 4
    labs = adms["100_episode1"].labs
    assert labs is not None and labs.series("Glucose")[0] == 140.0


def test_labs_are_on_the_benchmark_clock(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, _, _ = cohort
    labs = adms["10000_episode1"].labs
    assert labs is not None
    assert labs.series("Heart Rate") == [88.0, 92.0]  # 10:30 and 11:10 from INTIME 10:00
    # GCS only: an episode (rule 9 counts all 17 variables); its series keeps all 17, the
    # paper's 11 first
    gcs = adms["10000_episode2"].labs
    assert gcs is not None and gcs.variables[:11] == list(PAPER_VARIABLES)
    assert sorted(gcs.variables) == sorted(BENCHMARK_VARIABLES)
    assert gcs.series("Glascow coma scale total") == [None, 15.0]
    assert gcs.series("Heart Rate") == [None, None]


def test_split_is_the_benchmarks() -> None:
    # split_train_and_test (testset.csv) and split_train_val (valset.csv), shipped with ctk
    assert benchmark_split("10000") == "test"
    assert benchmark_split("100") == "val"
    assert benchmark_split("1000") == "train"
    assert benchmark_split("999999999") == "train"  # unknown subject: not in the test set


def test_splits_in_the_cohort(cohort: tuple) -> None:  # type: ignore[type-arg]
    adms, _, _ = cohort
    assert adms["10000_episode1"].split == "test" and adms["100_episode1"].split == "val"


def test_missing_label_table_is_named(tmp_path: Path) -> None:
    write_benchmark_case(tmp_path)
    (tmp_path / "D_ICD_DIAGNOSES.csv").unlink()
    with pytest.raises(DataError, match=r"D_ICD_DIAGNOSES.*read_icd_diagnoses_table"):
        _load(tmp_path)
    wide, _, _ = _load(tmp_path, cohort="wide")  # the wider cohort does not need it
    assert "2001" in wide and RESP in wide["2001"].phenotypes


def test_testset_option_is_for_the_wide_cohort(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="wide"):
        _load(tmp_path, testset=tmp_path / "t.csv")


@pytest.mark.parametrize("kind", ["absent", "empty", "header-only", "broken-header"])
def test_notes_table_as_it_comes_does_not_stop_the_import(tmp_path: Path, kind: str) -> None:
    write_benchmark_case(tmp_path)
    path = tmp_path / "NOTEEVENTS.csv"
    header = ",".join(COLUMNS["NOTEEVENTS"]) + "\n"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "header-only":
        path.write_text(header)
    elif kind == "broken-header":  # like the public demo's: a stray quote, no rows
        path.write_text(header.replace("text", '"text'))
    adms, report, details = _load(tmp_path)
    assert len(adms) == 5 and all(a.note is None for a in adms.values())
    if kind == "absent":
        assert details["table NOTEEVENTS absent"] == 1
    elif kind == "empty":
        assert details["table NOTEEVENTS empty (0 bytes, no header)"] == 1
    elif kind == "broken-header":
        assert report.counts["header row with broken quoting (repaired)"] == 1


def test_broken_header_quoting_with_rows_keeps_the_rows(tmp_path: Path) -> None:
    write_benchmark_case(tmp_path)
    write_table(
        tmp_path,
        "NOTEEVENTS",
        [
            {
                "subject_id": 10000,
                "hadm_id": 2001,
                "category": "Discharge summary",
                "description": "Report",
                "text": "Brief Hospital Course:\nDiuresed.",
            }
        ],
    )
    path = tmp_path / "NOTEEVENTS.csv"
    text = path.read_text()
    path.write_text('"row_id","subject_id,' + text[len("row_id,subject_id,") :])
    adms, _, _ = _load(tmp_path)
    note = adms["10000_episode1"].note
    assert note is not None and note.main_text() == "Diuresed."


def test_absent_chartevents_keeps_stays_and_says_so(tmp_path: Path) -> None:
    write_benchmark_case(tmp_path)
    (tmp_path / "CHARTEVENTS.csv.gz").unlink()
    adms, _, details = _load(tmp_path)
    assert details["table CHARTEVENTS absent"] == 1
    assert details["benchmark rule 'stay has an event' not applied: CHARTEVENTS absent"] == 1
    assert "206_episode1" in adms  # the rule that would drop it needs the chart events


@pytest.mark.parametrize(
    ("variable", "raw", "kept"),
    [
        ("Heart Rate", "NEG", True),  # no cleaning function: the text stays in the benchmark
        ("Heart Rate", "NA", False),  # pandas reads NA as missing
        ("Glucose", "NEG", False),  # clean_lab
        ("Glucose", "5.", True),
        ("Capillary refill rate", "Brisk", True),  # clean_crr
        ("Capillary refill rate", "Other", False),
        ("Systolic blood pressure", "120/80", True),  # clean_sbp
    ],
)
def test_is_benchmark_value(variable: str, raw: str, kept: bool) -> None:
    assert is_benchmark_value(variable, raw) is kept


def test_polars_engine_gives_the_same_cohort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("polars")
    import ctk.ehr.tables as tables

    write_benchmark_case(tmp_path)
    for name in ("CHARTEVENTS.csv.gz",):  # polars reads uncompressed tables only
        (tmp_path / name.removesuffix(".gz")).write_bytes(
            gzip.decompress((tmp_path / name).read_bytes())
        )
        (tmp_path / name).unlink()
    monkeypatch.setattr(tables, "_POLARS_MIN_BYTES", 1 << 40)  # csv module
    by_csv, csv_report, csv_details = _load(tmp_path)
    monkeypatch.setattr(tables, "_POLARS_MIN_BYTES", 0)  # polars
    by_polars, polars_report, polars_details = _load(tmp_path)
    assert [a.model_dump() for a in by_polars.values()] == [a.model_dump() for a in by_csv.values()]
    assert polars_report.as_dict() == csv_report.as_dict()  # same reasons, same line numbers
    assert polars_details == csv_details
