"""The ablation harness: grid expansion, cached runs, the table, CSV and plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
import yaml
from conftest import tiny_run_config, tiny_student_config

from ctk.cli.main import main
from ctk.distill.ablation import GridSpec, expand_grid, load_grid
from ctk.distill.config import RunConfig, StudentConfig
from ctk.distill.modeling.student import ClinRaGenStudent, embed_names
from ctk.distill.phases import apply_phase
from ctk.distill.trainer import phases_to_run
from ctk.errors import ConfigError

_AXES = {
    "knowledge": {
        "ka": {"student.use_knowledge": True},
        "projection": {"student.use_knowledge": False},
    },
    "vk_source": {"builtin": {"data.vocabulary": None}, "random": {"student.vocab_init": "random"}},
    "schedule": {
        "three_phase": {"train.schedule": "three_phase"},
        "single_phase": {"train.schedule": "single_phase"},
    },
}


def test_expand_one_at_a_time_and_product() -> None:
    grid = GridSpec.model_validate({"axes": _AXES})
    names = [v.name for v in expand_grid(grid)]
    assert names == ["base", "knowledge=projection", "vk_source=random", "schedule=single_phase"]
    base = expand_grid(grid)[0]
    assert base.overrides["student.use_knowledge"] is True
    single = expand_grid(grid)[3]
    assert single.overrides["train.schedule"] == "single_phase"
    assert single.overrides["student.use_knowledge"] is True  # other axes stay at base
    product = expand_grid(GridSpec.model_validate({"axes": _AXES, "mode": "product"}))
    assert len(product) == 8 and len({v.name for v in product}) == 8


def test_bad_grid_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.yaml"
    bad.write_text(yaml.safe_dump({"axes": {}, "seeds": [1]}))
    with pytest.raises(ConfigError):
        load_grid(bad)
    with pytest.raises(ConfigError):
        load_grid(tmp_path / "missing.yaml")


def test_random_vk_keeps_norms_but_not_directions(tiny_lm: Path) -> None:
    names = ClinRaGenStudent.build(StudentConfig.model_validate(tiny_student_config(tiny_lm)))
    rand = ClinRaGenStudent.build(
        StudentConfig.model_validate(tiny_student_config(tiny_lm, vocab_init="random")), seed=0
    )
    real = embed_names(rand.config.vocab_names, rand.tokenizer, rand.lm.get_input_embeddings())
    assert torch.allclose(names.vocab_embeddings, real)
    assert torch.allclose(rand.vocab_embeddings.norm(dim=1), real.norm(dim=1), atol=1e-5)
    cos = torch.nn.functional.cosine_similarity(rand.vocab_embeddings, real, dim=1)
    assert cos.abs().mean() < 0.5
    rand.refresh_vocab_embeddings()  # the control stays random
    assert not torch.allclose(rand.vocab_embeddings, real)


def test_single_phase_schedule_trains_everything_in_phase_3(
    tiny_cohort: Path, tiny_lm: Path, tmp_path: Path
) -> None:
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "o")
    raw["train"]["schedule"] = "single_phase"  # type: ignore[index]
    cfg = RunConfig.model_validate(raw)
    assert phases_to_run(cfg, "all") == [3]
    with pytest.raises(ConfigError):
        phases_to_run(cfg, 2)
    student = ClinRaGenStudent.build(cfg.student, seed=0)
    names = apply_phase(student, 3, train_all=True)
    assert any(n.startswith("lab_encoder.") for n in names)
    assert any(n.startswith("lm.") for n in names)
    assert not any(n.startswith("lab_encoder.") for n in apply_phase(student, 3))


@pytest.mark.slow
def test_cli_ablate_writes_table_and_reuses_runs(
    tiny_cohort: Path, tiny_lm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "base", steps=1)
    raw["train"]["save_every"] = 0  # type: ignore[index]
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(json.loads(json.dumps(raw))))
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        yaml.safe_dump(
            {"seeds": [1, 2], "axes": _AXES, "eval": {"max_new_tokens": 6}}, sort_keys=False
        )
    )
    out = tmp_path / "abl"
    args = ["distill", "ablate", "--config", str(config), "--grid", str(grid), "--out", str(out)]
    with pytest.raises(SystemExit) as ok:
        main(args)
    assert ok.value.code in (0, None)
    printed = capsys.readouterr().out
    assert "8 run(s) trained, 0 reused" in printed
    runs = sorted((out / "runs").iterdir())
    assert len(runs) == 8  # 4 variants x 2 seeds, one folder per config hash
    single = [r for r in runs if json.loads((r / "result.json").read_text())["variant"]
              == "schedule=single_phase"]  # fmt: skip
    assert single and all(not (r / "run" / "phase1").exists() for r in single)
    rows = list(csv.DictReader((out / "ablation.csv").open()))
    assert rows[0]["variant"] == "base" and len(rows) == 4
    assert {"micro_f1_mean", "micro_f1_sd", "macro_f1_mean", "f1:Shock"} <= set(rows[0])
    assert all(0.0 <= float(r["micro_f1_mean"]) <= 1.0 for r in rows)
    md = (out / "ablation.md").read_text()
    assert "| knowledge=projection |" in md and "Per-phenotype F1" in md
    assert (out / "ablation.png").stat().st_size > 1000
    # a lost result (a run killed before it was scored) is redone; the rest is reused
    (runs[0] / "result.json").unlink()
    with pytest.raises(SystemExit):
        main(args)
    assert "1 run(s) trained, 7 reused" in capsys.readouterr().out
