"""benchmarks/ka_variants.py: variant names, protocols, the constant-answer control, the table.

No model is trained here (a run is minutes of SmolLM2 on CPU): the parts of the
script that decide what a run is and how it is reported are checked on their own,
the control on a real synthetic cohort of 60 admissions.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def kav() -> ModuleType:
    """The benchmark script, imported from its file (it imports its sibling scripts)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location("ka_variants", REPO / "benchmarks/ka_variants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variant_names_become_student_overrides(kav: ModuleType, tmp_path: Path) -> None:
    assert kav.variant_overrides("projection", {}) == {
        "student": {"use_knowledge": False},
        "data": {},
    }
    assert kav.variant_overrides("residual_scaled", {})["student"]["lab_path_init"] == "token_norm"
    combined = kav.variant_overrides("gated_random_p8", {})["student"]
    assert combined == {
        "use_knowledge": True,
        "ka_variant": "gated",
        "vocab_init": "random",
        "n_prototypes": 8,
    }
    vk = tmp_path / "vk.jsonl"
    chosen = kav.variant_overrides("residual_vk=nb", {"nb": vk})
    assert chosen["data"] == {"vocabulary": str(vk)}
    assert chosen["student"]["vocab_init"] == "names"


@pytest.mark.parametrize(
    "name", ["attention", "paper_randomly", "residual_vk=missing", "paper_scaled"]
)
def test_bad_variant_names_stop_before_training(kav: ModuleType, name: str) -> None:
    with pytest.raises(SystemExit, match="variant"):
        kav.variant_overrides(name, {})


def test_a_bad_variant_stops_the_script_before_any_run(kav: ModuleType, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit, match="unknown variant"):
        kav.main(["--student", "smollm2", "--out", str(out), "--variants", "residual,nope"])
    assert not out.exists()


def test_protocols_keep_the_mechanism_check_reachable(kav: ModuleType) -> None:
    mechanism = kav.SMOLLM2_PROTOCOLS["mechanism"]
    assert (mechanism["n"], mechanism["steps"], mechanism["batch_size"]) == (2500, "150", 8)
    assert mechanism["max_test"] == 64
    cpu = kav.SMOLLM2_PROTOCOLS["cpu"]
    # the cheaper protocol trains on fewer examples and scores the same test admissions
    assert int(cpu["steps"]) * cpu["batch_size"] < 150 * 8
    assert cpu["n"] == mechanism["n"] and cpu["max_test"] == mechanism["max_test"]


def test_constant_answer_is_the_best_on_train_and_scored_on_test(
    kav: ModuleType, tmp_path: Path
) -> None:
    from mechanism import _cohort
    from mechanism_pretrained import _lab_only_cohort

    from ctk.distill.evaluation import classification_scores
    from ctk.synth import LAB_ONLY_PHENOTYPES

    cohort = _lab_only_cohort(tmp_path, _cohort(tmp_path, 60, 3, 48))
    result = kav.constant_answer_f1(cohort, 8)

    records = [json.loads(x) for x in (cohort / "admissions.jsonl").read_text().splitlines()]
    assert all(set(r["phenotypes"]) <= set(LAB_ONLY_PHENOTYPES) for r in records)
    train = [r["phenotypes"] for r in records if r["split"] == "train"]
    test = [r["phenotypes"] for r in records if r["split"] == "test"][:8]
    answer = [] if result["answer"] == ["none"] else result["answer"]

    def f1(truth: list[list[str]], guess: list[str]) -> float:
        return float(classification_scores(truth, [guess] * len(truth))[0]["f1"])

    assert result["lab_only_micro_f1"] == pytest.approx(f1(test, answer))
    for single in LAB_ONLY_PHENOTYPES:  # no one-phenotype answer beats it on train
        assert f1(train, answer) >= f1(train, [single])


def test_smollm2_table_has_the_control_spread_and_per_seed_values(kav: ModuleType) -> None:
    def run(variant: str, seed: int, loss: float, f1: float) -> dict[str, object]:
        return {
            "variant": variant,
            "seed": seed,
            "test_loss": loss,
            "lab_only_micro_f1": f1,
            "train_cpu_seconds": 100.0,
            "eval_cpu_seconds": 20.0,
            "gate": None,
        }

    runs = {
        "paper-s2": run("paper", 2, 1.0, 0.2),
        "paper-s1": run("paper", 1, 2.0, 0.4),
        "residual-s1": run("residual", 1, 0.5, 0.6),
    }
    constant = {"answer": ["Essential hypertension"], "lab_only_micro_f1": 0.414}
    lines = kav.table(runs, "smollm2", constant).splitlines()
    assert lines[2].startswith("| constant answer (Essential hypertension) |")
    assert "0.414" in lines[2]
    paper = lines[3].split(" | ")
    assert paper[1] == "1,2"  # seeds sorted
    assert paper[2] == "1.500 ± 0.707" and paper[3] == "0.300 ± 0.141"
    assert paper[4] == "2.000 / 0.400; 1.000 / 0.200"
    assert lines[4].split(" | ")[2] == "0.500 ± 0.000"


@pytest.mark.parametrize("variant", ["residual", "projection"])
def test_scaled_variant_starts_the_lab_path_at_the_token_norm(
    kav: ModuleType, tmp_path: Path, variant: str
) -> None:
    import torch
    from mechanism import _cohort

    from ctk.distill.config import StudentConfig, TinyLMSpec
    from ctk.distill.modeling.student import ClinRaGenStudent
    from ctk.distill.tiny import build_tiny_lm, cohort_texts

    cohort = _cohort(tmp_path, 40, 2, 48)
    spec = TinyLMSpec(d_model=32, d_ff=64, num_layers=1, num_heads=2, d_kv=16)
    lm = build_tiny_lm(tmp_path / "lm", cohort_texts(cohort), spec)
    student_cfg = StudentConfig.model_validate(
        {
            "lm_path": str(lm),
            "lab_d_model": 16,
            "lab_layers": 1,
            "lab_heads": 2,
            "n_prototypes": 8,
            "ka_heads": 2,
            **kav.variant_overrides(f"{variant}_scaled", {})["student"],
        }
    )
    student = ClinRaGenStudent.build(student_cfg, seed=0)
    path = student.ka.lab_path if variant == "residual" else student.lab_projection
    tokens = student.lm.get_input_embeddings().weight.detach().norm(dim=1).mean()
    with torch.no_grad():
        z = torch.randn(512, 16, generator=torch.Generator().manual_seed(5))
        norm = path(z).norm(dim=1).mean()
    assert float(norm) == pytest.approx(float(tokens), rel=0.1)
