"""The student wrapper: lab-token placement, save/load, phases, LoRA."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import phase_batch, tiny_student_config

from ctk.distill.config import LoraSettings, StudentConfig
from ctk.distill.lora import add_lora, merge_lora
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.distill.phases import PHASE_GROUPS, apply_phase


def _student(lm: Path, **overrides: object) -> ClinRaGenStudent:
    cfg = StudentConfig.model_validate(tiny_student_config(lm, **overrides))
    return ClinRaGenStudent.build(cfg, seed=0)


def _batch(student: ClinRaGenStudent, cohort: Path, phase: int, n: int = 4) -> dict[str, object]:
    return phase_batch(student, cohort, phase, n)


def test_lab_tokens_follow_the_text_and_ignore_padding(tiny_lm: Path, tiny_cohort: Path) -> None:
    student = _student(tiny_lm).eval()
    batch = _batch(student, tiny_cohort, 3)
    embeds, mask = student.encoder_inputs(
        batch["input_ids"], batch["attention_mask"], batch["labs"], batch["lab_mask"]
    )
    n_text = batch["attention_mask"].sum(1)
    assert embeds.shape[1] == batch["input_ids"].shape[1] + 11
    assert mask.sum(1).tolist() == (n_text + 11).tolist()
    # each row: text tokens, then 11 lab tokens, then padding
    for row, n in enumerate(n_text.tolist()):
        assert mask[row, : n + 11].all() and not mask[row, n + 11 :].any()
    # a row alone gives the same loss as inside a padded batch
    with torch.no_grad():
        full = student(**batch).logits
        one = student(**{k: v[1:2] for k, v in batch.items()}).logits
    assert torch.allclose(full[1:2, : one.shape[1]], one, atol=1e-5)


def test_save_load_round_trip_identical(tiny_lm: Path, tiny_cohort: Path, tmp_path: Path) -> None:
    student = _student(tiny_lm, append_lab_tokens=True).eval()
    batch = _batch(student, tiny_cohort, 3)
    with torch.no_grad():
        before = student(**batch).logits
    student.save_pretrained(tmp_path / "s")
    loaded = ClinRaGenStudent.from_pretrained(tmp_path / "s")
    assert loaded.config == student.config
    with torch.no_grad():
        after = loaded(**batch).logits
    assert torch.equal(before, after)
    gen_a = student.generate(
        batch["input_ids"],
        batch["attention_mask"],
        batch["labs"],
        batch["lab_mask"],
        max_new_tokens=5,
    )
    gen_b = loaded.generate(
        batch["input_ids"],
        batch["attention_mask"],
        batch["labs"],
        batch["lab_mask"],
        max_new_tokens=5,
    )
    assert torch.equal(gen_a, gen_b)
    assert 0 < len(loaded.knowledge_used()) <= 9


@pytest.mark.parametrize("phase", [1, 2, 3])
def test_phase_gradients_reach_exactly_the_trained_modules(
    tiny_lm: Path, tiny_cohort: Path, phase: int
) -> None:
    student = _student(tiny_lm)
    trainable = set(apply_phase(student, phase))
    groups = {
        "lm": {n for n, _ in student.named_parameters() if n.startswith("lm.")},
        "lab_encoder": {n for n, _ in student.named_parameters() if n.startswith("lab_encoder.")},
        "fusion": {n for n, _ in student.named_parameters() if n.startswith("ka.")},
        "head": {n for n, _ in student.named_parameters() if n.startswith("head.")},
    }
    expected = set().union(*(groups[g] for g in PHASE_GROUPS[phase]))
    assert trainable == expected
    before = {n: p.detach().clone() for n, p in student.named_parameters()}
    batch = _batch(student, tiny_cohort, phase)
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-2)
    student.train()
    out = student(**batch, aux_weight=0.5)
    out.loss.backward()
    got_grad = {n for n, p in student.named_parameters() if p.grad is not None}
    assert got_grad <= expected
    # every trained module receives gradient somewhere
    for g in PHASE_GROUPS[phase]:
        assert got_grad & groups[g] or not groups[g], g
    opt.step()
    for n, p in student.named_parameters():
        if n in expected:
            continue
        assert torch.equal(p.detach(), before[n]), f"frozen {n} changed in phase {phase}"
    if phase == 2:
        assert out.aux_loss is not None


def test_lora_merge_equals_unmerged(tiny_lm: Path, tiny_cohort: Path) -> None:
    student = _student(tiny_lm)
    add_lora(
        student, LoraSettings(enabled=True, r=4, alpha=8, dropout=0.0, target_modules=["q", "v"])
    )
    trainable = apply_phase(student, 3)
    lm_trainable = [n for n in trainable if n.startswith("lm.")]
    assert lm_trainable and all("lora_" in n for n in lm_trainable)
    # make the adapters non-trivial (lora_B starts at zero)
    with torch.no_grad():
        for n, p in student.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    student.eval()
    batch = _batch(student, tiny_cohort, 3)
    with torch.no_grad():
        unmerged = student(**batch).logits
        base = student.lm.get_base_model()
        merge_lora(student)
        merged = student(**batch).logits
    assert not hasattr(student.lm, "peft_config")
    assert student.lm is base
    assert (unmerged - merged).abs().max() < 1e-4 * unmerged.abs().max()


def test_a_bad_phase_is_a_config_error(tiny_lm: Path) -> None:
    from ctk.errors import ConfigError

    student = _student(tiny_lm)
    with pytest.raises(ConfigError, match="unknown phase 7"):
        apply_phase(student, 7)
    notes_only = _student(tiny_lm, use_labs=False)
    with pytest.raises(ConfigError, match="trains nothing"):
        apply_phase(notes_only, 2)
