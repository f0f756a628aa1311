"""KA variants (paper, residual, gated): forward/backward, the lab token's path, the config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import phase_batch, tiny_student_config

from ctk.distill.config import StudentConfig
from ctk.distill.modeling.ka_attention import KA_VARIANTS, KnowledgeAugmentedAttention
from ctk.distill.modeling.student import CONFIG_FILE, ClinRaGenStudent

D_LAB, D_LLM, K, P = 16, 24, 12, 4


def _ka(variant: str, seed: int = 0) -> KnowledgeAugmentedAttention:
    torch.manual_seed(seed)
    return KnowledgeAugmentedAttention(
        D_LAB,
        D_LLM,
        K,
        P,
        n_heads=2,
        dropout=0.0,
        variant=variant,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("variant", KA_VARIANTS)
def test_each_variant_runs_forward_and_every_parameter_gets_a_gradient(variant: str) -> None:
    ka = _ka(variant)
    torch.manual_seed(1)
    labs, vocab = torch.randn(3, 5, D_LAB), torch.randn(K, D_LLM)
    out = ka(labs, vocab)
    assert out.shape == (3, 5, D_LLM) and torch.isfinite(out).all()
    assert ka.last_attention is not None and ka.last_attention.shape == (3, 5, P)
    (out**2).sum().backward()
    for name, param in ka.named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, f"{variant}: no gradient reaches {name}"
    extra = {n for n, _ in ka.named_parameters()} - {n for n, _ in _ka("paper").named_parameters()}
    expected = {"paper": set(), "residual": {"lab_path.weight", "lab_path.bias"}}.get(
        variant, {"lab_path.weight", "lab_path.bias", "gate.weight", "gate.bias"}
    )
    assert extra == expected


def test_the_gate_starts_halfway_and_moves_when_trained() -> None:
    ka = _ka("gated")
    torch.manual_seed(2)
    labs, vocab = torch.randn(4, 5, D_LAB), torch.randn(K, D_LLM)
    ka(labs, vocab)
    assert ka.last_gate == pytest.approx(0.5)
    optim = torch.optim.SGD(ka.parameters(), lr=0.5)
    target = ka.lab_path(labs).detach() * 3  # type: ignore[misc]  # only the lab path can reach it
    for _ in range(20):
        optim.zero_grad()
        ((ka(labs, vocab) - target) ** 2).mean().backward()
        optim.step()
    assert ka.last_gate is not None and ka.last_gate > 0.55


def test_with_uniform_attention_only_residual_and_gated_carry_the_lab_value() -> None:
    """Zero queries make the attention uniform over prototypes: the paper's output then
    no longer depends on the lab token at all, residual and gated still do."""
    torch.manual_seed(3)
    vocab = torch.randn(K, D_LLM)
    a, b = torch.randn(1, 5, D_LAB), torch.randn(1, 5, D_LAB)
    for variant in KA_VARIANTS:
        ka = _ka(variant).eval()
        with torch.no_grad():
            ka.query.weight.zero_()
            ka.query.bias.zero_()
            out_a, out_b = ka(a, vocab), ka(b, vocab)
        assert ka.last_attention is not None
        assert torch.allclose(ka.last_attention, torch.full_like(ka.last_attention, 1 / P))
        differs = not torch.allclose(out_a, out_b, atol=1e-6)
        assert differs == (variant != "paper"), variant


def test_an_unknown_variant_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown KA variant"):
        _ka("sideways")
    with pytest.raises(ValueError):
        StudentConfig(lm_path="x", ka_variant="sideways")  # type: ignore[arg-type]


@pytest.mark.parametrize("variant", ["residual", "gated"])
def test_a_student_saves_and_loads_its_variant(
    variant: str, tiny_lm: Path, tiny_cohort: Path, tmp_path: Path
) -> None:
    cfg = StudentConfig.model_validate(
        tiny_student_config(tiny_lm, ka_variant=variant, lab_dropout=0.0)
    )
    student = ClinRaGenStudent.build(cfg, seed=0).eval()
    assert student.ka is not None and student.ka.variant == variant
    batch = phase_batch(student, tiny_cohort, 3)
    out = student(**batch)
    assert out.loss is not None and torch.isfinite(out.loss)
    out.loss.backward()
    assert student.ka.lab_path is not None and student.ka.lab_path.weight.grad is not None
    assert student.ka.lab_path.weight.grad.abs().sum() > 0
    student.zero_grad()
    student.save_pretrained(tmp_path / "s")
    saved = json.loads((tmp_path / "s" / CONFIG_FILE).read_text(encoding="utf-8"))
    assert saved["student"]["ka_variant"] == variant
    loaded = ClinRaGenStudent.from_pretrained(tmp_path / "s")
    assert loaded.ka is not None and loaded.ka.variant == variant
    with torch.no_grad():
        again = loaded(**batch)
        before = student(**batch)
    assert torch.allclose(before.logits, again.logits, atol=1e-5)


def test_a_student_saved_before_variants_loads_as_paper(tiny_lm: Path, tmp_path: Path) -> None:
    cfg = StudentConfig.model_validate(tiny_student_config(tiny_lm, ka_variant="paper"))
    ClinRaGenStudent.build(cfg, seed=0).save_pretrained(tmp_path / "old")
    path = tmp_path / "old" / CONFIG_FILE
    raw = json.loads(path.read_text(encoding="utf-8"))
    del raw["student"]["ka_variant"]  # what an older ctk wrote
    path.write_text(json.dumps(raw), encoding="utf-8")
    loaded = ClinRaGenStudent.from_pretrained(tmp_path / "old")
    assert loaded.config.student.ka_variant == "paper"
    assert loaded.ka is not None and loaded.ka.lab_path is None


def _lab_path_norm(path: torch.nn.Linear) -> float:
    with torch.no_grad():
        z = torch.randn(512, path.in_features, generator=torch.Generator().manual_seed(5))
        return float(path(z).norm(dim=1).mean())


@pytest.mark.parametrize(
    ("knowledge", "variant"), [(True, "residual"), (True, "gated"), (False, "paper")]
)
def test_token_norm_init_starts_the_lab_path_at_the_lms_token_norm(
    tiny_lm: Path, knowledge: bool, variant: str
) -> None:
    def path_of(student: ClinRaGenStudent) -> torch.nn.Linear:
        path = student.ka.lab_path if student.ka is not None else student.lab_projection
        assert path is not None
        return path

    settings = tiny_student_config(tiny_lm, ka_variant=variant, use_knowledge=knowledge)
    default = ClinRaGenStudent.build(StudentConfig.model_validate(settings), seed=0)
    scaled = ClinRaGenStudent.build(
        StudentConfig.model_validate({**settings, "lab_path_init": "token_norm"}), seed=0
    )
    tokens = float(scaled.lm.get_input_embeddings().weight.detach().norm(dim=1).mean())
    assert _lab_path_norm(path_of(scaled)) == pytest.approx(tokens, rel=0.1)
    assert _lab_path_norm(path_of(default)) != pytest.approx(tokens, rel=0.1)
    # only the lab path moves: the lab encoder starts the same
    for a, b in zip(default.lab_encoder.parameters(), scaled.lab_encoder.parameters(), strict=True):
        assert torch.equal(a, b)


def test_token_norm_init_without_a_lab_path_is_refused(tiny_lm: Path) -> None:
    with pytest.raises(ValueError, match="needs a lab path"):
        StudentConfig.model_validate(
            tiny_student_config(tiny_lm, ka_variant="paper", lab_path_init="token_norm")
        )
