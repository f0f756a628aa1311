"""Examples from cohort + rationales + V_k, and the phase collator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_admissions
from transformers import AutoTokenizer

from ctk.distill.data.collator import PhaseCollator
from ctk.distill.data.examples import build_examples, read_vocabulary_names
from ctk.distill.tiny import cohort_texts
from ctk.errors import FormatVersionError
from ctk.lab_variables import PAPER_VARIABLES
from ctk.records import TEMPLATE_LABEL, strip_template_label


def test_examples_join_rationales(tiny_cohort: Path, tiny_rationales: Path) -> None:
    data = build_examples(
        tiny_cohort, list(PAPER_VARIABLES), 16, split="train", rationales=tiny_rationales
    )
    assert len(data.examples) == 18
    by_id = {e.admission_id: e for e in data.examples}
    assert by_id["a0"].note_rationale == "The note says so."
    assert by_id["a0"].lab_rationale == "Heart rate is high."  # a0 has shock
    # a2's only line is "failed", a3 has none: empty rationale, diagnoses kept
    assert by_id["a2"].note_rationale == "" and data.problems.counts["rationale_failed"] == 1
    assert by_id["a3"].lab_rationale == "" and data.problems.counts["no_rationale"] == 2
    assert by_id["a2"].diagnoses == make_admissions()[2].phenotypes
    assert data.with_rationale == 16
    e = by_id["a0"]
    assert e.labs is not None and e.lab_mask is not None
    assert e.labs.shape == (11, 16) and e.lab_mask.shape == (11, 16)
    assert 0 < e.lab_mask.mean() < 1
    assert any("Heart rate is higher than normal" in c for c in e.captions)


def test_vocabulary_file(tmp_path: Path) -> None:
    path = tmp_path / "vk.jsonl"
    lines = [
        {"kind": "ctk.vocab", "format_version": 1},
        {"id": "c:1", "name": "tachycardia", "type": "finding", "weight": 2.0},
        {"id": "c:2", "name": "lactate", "type": "lab_test", "weight": 1.0},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert read_vocabulary_names(path) == ["tachycardia", "lactate"]
    path.write_text(json.dumps({"kind": "ctk.vocab", "format_version": 9}) + "\n")
    with pytest.raises(FormatVersionError):
        read_vocabulary_names(path)


def test_collator_phases(tiny_cohort: Path, tiny_rationales: Path, tiny_lm: Path) -> None:
    tok = AutoTokenizer.from_pretrained(str(tiny_lm))
    data = build_examples(
        tiny_cohort, list(PAPER_VARIABLES), 64, split="train", rationales=tiny_rationales
    )
    ex = data.examples[:3]
    decode = lambda ids: tok.decode([i for i in ids if i >= 0], skip_special_tokens=True)  # noqa: E731
    b1 = PhaseCollator(tok, 1, n_variables=11, use_labs=True)(ex)
    assert "labs" not in b1 and "aux_labels" not in b1
    assert "The note says so." in decode(b1["labels"][0].tolist())
    b2 = PhaseCollator(tok, 2, n_variables=11, use_labs=True)(ex)
    assert b2["labs"].shape == (3, 11, 20) and "aux_labels" in b2
    assert decode(b2["input_ids"][0].tolist()) == "Diagnose from the lab tests."
    assert "The note says so." not in decode(b2["labels"][0].tolist())
    b3 = PhaseCollator(tok, 3, n_variables=11, use_labs=True)(ex)
    target = decode(b3["labels"][0].tolist())
    assert target.startswith("### Disease Diagnosed:") and "Heart rate is high." in target


def test_rejected_rationales_are_skipped_and_counted(
    tiny_cohort: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.jsonl"
    rows = [
        {"admission_id": "a0", "status": "ok", "note_rationale": "Kept."},
        {
            "admission_id": "a1",
            "status": "rejected",
            "note_rationale": "The lab results confirm that theyve",
            "gate_reasons": [{"reason": "truncated", "detail": "ends mid-sentence"}],
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    caplog.set_level("INFO", logger="ctk")
    data = build_examples(tiny_cohort, list(PAPER_VARIABLES), 16, split="train", rationales=path)
    by_id = {e.admission_id: e for e in data.examples}
    assert by_id["a0"].note_rationale == "Kept." and by_id["a1"].note_rationale == ""
    assert data.problems.counts["rationale_rejected"] == 1 and data.with_rationale == 1
    assert "skipped 1 rationale(s) rejected" in caplog.text


def test_the_template_label_is_provenance_not_training_text(
    tiny_cohort: Path, tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    row = {
        "admission_id": "a0",
        "status": "ok",
        "backend": "template",
        "note_rationale": f"{TEMPLATE_LABEL} The note names sepsis. [E1]",
        "lab_rationale": f"{TEMPLATE_LABEL}  Lab anomalies: none.",
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    data = build_examples(tiny_cohort, list(PAPER_VARIABLES), 16, split="train", rationales=path)
    a0 = {e.admission_id: e for e in data.examples}["a0"]
    assert a0.note_rationale == "The note names sepsis. [E1]"
    assert a0.lab_rationale == "Lab anomalies: none."
    texts = list(cohort_texts(tiny_cohort, rationales=path))
    assert not [t for t in texts if TEMPLATE_LABEL in t]
    assert strip_template_label("no label here") == "no label here"
