"""The MIMIC-III benchmark loader on the fixture folder and on a synthetic cohort."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ctk.cohort import iter_admissions, read_manifest
from ctk.ehr.benchmark import load_benchmark
from ctk.ehr.importer import import_cohort
from ctk.errors import ConfigError, DataError, MissingColumnError
from ctk.records import Admission
from ctk.report import ProblemReport

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ehr" / "benchmark"
CHF = "Congestive heart failure; nonhypertensive"


def _load(**kwargs: object) -> tuple[dict[str, Admission], ProblemReport]:
    report = ProblemReport()
    adms = {a.admission_id: a for a in load_benchmark(FIXTURE, report=report, **kwargs)}  # type: ignore[arg-type]
    return adms, report


def test_fixture_admissions_splits_labels_labs_and_notes() -> None:
    adms, report = _load()
    assert sorted(adms) == ["301_episode1", "302_episode1", "305_episode1"]
    a301, a302, a305 = (adms[k] for k in sorted(adms))
    assert (a301.split, a302.split, a305.split) == ("train", "val", "test")
    assert CHF in a301.phenotypes and a301.subject_id == "301"
    labs, note = a301.labs, a301.note
    assert labs is not None and note is not None
    assert labs.series("Heart Rate")[0] == 115.0  # mean of 110 and 120 in hour 0
    assert labs.n_hours == 3  # the event at 1500 h is outside the 1000 h grid
    assert note.main_text().startswith("# Congestive heart failure: diuresed")
    assert a302.note is None and a305.note is None
    assert report.counts == {
        "duplicate stay": 1,
        "empty note": 1,
        "event after max hours": 1,
        "label not 0/1": 1,
        "non-finite value": 2,
        "note of a stay not in the listfile": 1,
        "time series file missing": 1,
        "unparsable hours": 1,
        "unparsable value": 1,
    }


def test_notes_from_noteevents_through_the_benchmark_stays(tmp_path: Path) -> None:
    adms, report = _load(notes=FIXTURE / "NOTEEVENTS.csv.gz", stays_root=FIXTURE / "root")
    assert report.counts["no stays.csv for subject"] == 2  # subjects 303 and 304
    assert "empty note" not in report.counts  # the notes.csv sidecar is not read then
    assert adms["301_episode1"].note is not None
    # episode 1 of subject 305 is the first stays.csv row, HADM 7399
    note = adms["305_episode1"].note
    assert note is not None and "Septic shock" in note.main_text()
    assert adms["302_episode1"].note is None
    with pytest.raises(ConfigError, match="stays-root"):
        list(load_benchmark(FIXTURE, report=ProblemReport(), notes=FIXTURE / "NOTEEVENTS.csv.gz"))


def test_listfile_without_a_phenotype_column_is_an_error(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    shutil.copytree(FIXTURE, root)
    listfile = root / "train" / "listfile.csv"
    lines = listfile.read_text().splitlines()
    listfile.write_text("\n".join(",".join(x.split(",")[:-1]) for x in lines) + "\n")
    with pytest.raises(MissingColumnError, match=r"listfile\.csv"):
        list(load_benchmark(root, report=ProblemReport()))
    with pytest.raises(DataError, match="listfile"):
        list(load_benchmark(tmp_path, report=ProblemReport()))


def test_synthetic_cohort_round_trip(tmp_path: Path) -> None:
    synth = pytest.importorskip("ctk.synth")
    summary = synth.write_synthetic_benchmark(tmp_path / "S", n=30, seed=3, max_hours=24)
    manifest = import_cohort("mimic3-benchmark", tmp_path / "S", tmp_path / "C")
    assert manifest.admissions == summary.admissions == 30
    assert read_manifest(tmp_path / "C") == manifest
    adms = list(iter_admissions(tmp_path / "C"))
    counts = {name: sum(name in a.phenotypes for a in adms) for name in summary.phenotype_counts}
    assert counts == summary.phenotype_counts
    assert all(a.labs is not None and a.labs.n_hours <= 24 for a in adms)
    assert all(a.note is not None and a.note.main_text() for a in adms)
    with pytest.raises(ConfigError, match="already holds"):
        import_cohort("mimic3-benchmark", tmp_path / "S", tmp_path / "C")
