"""The baselines beside the student: planted signal found, constants reported, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run
from conftest import make_admissions

from ctk.cohort import write_cohort
from ctk.distill.baseline import (
    BaselineReport,
    lab_summary_features,
    read_baseline_report,
    run_baselines,
    write_baseline_report,
)
from ctk.distill.evaluation import classification_scores
from ctk.errors import DataError
from ctk.lab_variables import PAPER_VARIABLES
from ctk.phenotypes import PHENOTYPE_NAMES

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def planted_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 admissions (96 train, 24 test): notes name phenotypes, a high heart rate marks shock."""
    folder = tmp_path_factory.mktemp("planted")
    admissions = make_admissions(n=120, seed=3)
    for i, adm in enumerate(admissions):
        adm.split = "train" if i < 96 else "test"
    write_cohort(folder, admissions, source="test")
    return folder


def _best_constant_micro_f1(cohort: Path) -> float:
    """Micro-F1 of the best constant answer: the k most frequent train phenotypes, any k."""
    from ctk.cohort import iter_admissions

    adms = list(iter_admissions(cohort))
    train = [a for a in adms if a.split == "train"]
    truth = [a.phenotypes for a in adms if a.split == "test"]
    freq = sorted(PHENOTYPE_NAMES, key=lambda n: -sum(n in a.phenotypes for a in train))
    return max(classification_scores(truth, [freq[:k]] * len(truth))[0]["f1"] for k in range(1, 8))


def test_baselines_find_the_planted_signal(planted_cohort: Path) -> None:
    report = run_baselines(planted_cohort, "test")
    scores = {b.name: b for b in report.baselines}
    assert list(scores) == ["tfidf", "labs", "tfidf+labs"]
    assert report.n_train == 96 and report.n == 24
    constant = _best_constant_micro_f1(planted_cohort)
    # the notes name the phenotypes: TF-IDF reads them far better than any constant answer
    assert scores["tfidf"].micro["f1"] > constant + 0.2
    # shock is planted in the heart rate only: the labs find it, the notes cannot
    shock = {b.name: next(s for s in b.per_phenotype if s.name == "Shock") for b in scores.values()}
    assert shock["labs"].support > 0
    assert shock["labs"].f1 >= 0.9
    assert shock["tfidf+labs"].f1 >= 0.9
    assert shock["tfidf"].f1 < shock["labs"].f1
    # the combination beats each part on this cohort (notes and labs carry different labels)
    assert scores["tfidf+labs"].micro["f1"] > max(
        scores["tfidf"].micro["f1"], scores["labs"].micro["f1"]
    )
    assert report.best().name == "tfidf+labs"


def test_phenotypes_absent_from_train_get_a_constant_and_are_reported(
    planted_cohort: Path,
) -> None:
    report = run_baselines(planted_cohort, "test", which=("labs",))
    from ctk.cohort import iter_admissions

    seen = {n for a in iter_admissions(planted_cohort) if a.split == "train" for n in a.phenotypes}
    absent = set(PHENOTYPE_NAMES) - seen
    assert absent and set(report.constant_phenotypes) == absent
    assert all("absent from the 96 train" in why for why in report.constant_phenotypes.values())
    assert any("constant prediction" in n for n in report.notes)
    labs = report.baselines[0]
    assert all(s.predicted == 0 for s in labs.per_phenotype if s.name in absent)


def test_deterministic_and_round_trips(planted_cohort: Path, tmp_path: Path) -> None:
    a = run_baselines(planted_cohort, "test", seed=1)
    b = run_baselines(planted_cohort, "test", seed=1)
    assert a.model_dump() == b.model_dump()
    files = write_baseline_report(a, tmp_path)
    assert [f.name for f in files] == ["baseline.json", "baseline.md"]
    assert read_baseline_report(tmp_path) == a
    md = (tmp_path / "baseline.md").read_text()
    assert "| tfidf |" in md and "| Shock |" in md and "labs F1" in md
    with pytest.raises(DataError):
        read_baseline_report(tmp_path / "nowhere")
    (tmp_path / "bad.json").write_text('{"kind": "something else"}')
    with pytest.raises(DataError, match="not a baseline report"):
        read_baseline_report(tmp_path / "bad.json")


def test_lab_summaries_by_hand() -> None:
    adm = make_admissions(n=1)[0]
    assert adm.labs is not None
    hr = list(PAPER_VARIABLES).index("Heart Rate")
    row = lab_summary_features([adm])[0].reshape(len(PAPER_VARIABLES), 7)[hr]
    seen = [v for v in adm.labs.values[hr] if v is not None]
    assert row[0] == pytest.approx(sum(seen) / len(seen))
    assert row[1] == min(seen) and row[2] == max(seen) and row[3] == seen[-1]
    assert row[5] == pytest.approx(sum(v > 128 for v in seen) / len(seen))  # range 40-128
    assert row[6] == pytest.approx(1 - len(seen) / len(adm.labs.hours))
    adm.labs = None
    empty = lab_summary_features([adm])[0].reshape(len(PAPER_VARIABLES), 7)
    assert (empty[:, 6] == 1.0).all() and (empty[:, 5] == 0.0).all()


def test_empty_split_is_refused(planted_cohort: Path) -> None:
    with pytest.raises(DataError, match="no admission in split 'val'"):
        run_baselines(planted_cohort, "val")


def test_best_of_an_empty_report_is_an_error() -> None:
    with pytest.raises(DataError, match="no baseline"):
        BaselineReport().best()


def test_cli_baseline(
    planted_cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        ["distill", "baseline", "--cohort", str(planted_cohort), "--out", str(tmp_path / "b")],
        capsys,
    )
    assert code == 0, out
    assert "tfidf+labs" in out and "best: tfidf+labs" in out
    saved = json.loads((tmp_path / "b" / "baseline.json").read_text())
    assert saved["kind"] == "ctk.distill.baseline" and len(saved["baselines"]) == 3
    code, _, err = run(
        ["distill", "baseline", "--cohort", str(planted_cohort), "--split", "val"], capsys
    )
    assert code == 2 and "no admission in split 'val'" in err
    code, _, err = run(
        ["distill", "baseline", "--cohort", str(planted_cohort), "--note-text", "x"], capsys
    )
    assert code == 2 and "--note-text" in err
