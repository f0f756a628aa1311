"""The trainer: exact resume, checkpoints, CLI end to end (run, eval, diagnose)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import torch
import yaml
from conftest import tiny_run_config
from safetensors.torch import load_file

from ctk.cli.main import main
from ctk.cohort import iter_admissions
from ctk.distill.config import RunConfig
from ctk.distill.rationale_consistency import phenotype_mentions
from ctk.distill.trainer import latest_checkpoint, train
from ctk.errors import CheckpointError


class _InterruptError(Exception):
    pass


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    state = load_file(str(folder / "student.safetensors"))
    state.update(
        {f"lm.{k}": v for k, v in load_file(str(folder / "lm" / "model.safetensors")).items()}
    )
    return state


def test_resume_reaches_the_same_weights(tiny_cohort: Path, tiny_lm: Path, tmp_path: Path) -> None:
    full_cfg = RunConfig.model_validate(
        tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "full", steps=5)
    )
    full = train(full_cfg, 2)  # phase 2 from scratch: lab encoder + KA, dropout on, aux loss
    assert full.phases[0].steps == 5

    cut_cfg = RunConfig.model_validate(
        tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "cut", steps=5)
    )

    def stop_at_3(phase: int, step: int, metrics: dict[str, float]) -> None:
        if step == 3:
            raise _InterruptError

    with pytest.raises(_InterruptError):
        train(cut_cfg, 2, on_step=stop_at_3)
    ckpt = latest_checkpoint(tmp_path / "cut" / "phase2")
    assert ckpt is not None and ckpt.name == "checkpoint-00000002"
    state = json.loads((ckpt / "trainer_state.json").read_text())
    assert state["global_step"] == 2 and state["batch_in_epoch"] == 2
    with (ckpt / "rng.pkl").open("rb") as fh:
        assert {"python", "numpy", "torch"} <= set(pickle.load(fh))
    assert state["versions"]["torch"] and state["config"]["train"]["seed"] == 7
    with pytest.raises(CheckpointError):  # an existing run needs --resume
        train(cut_cfg, 2)
    resumed = train(cut_cfg, 2, resume=True)
    assert resumed.phases[0].steps == 5
    a, b = _weights(full.phases[0].model_dir), _weights(resumed.phases[0].model_dir)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # metrics: one line per step; the resumed run drops the interrupted run's step 3
    lines = (tmp_path / "full" / "phase2" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2, 3, 4, 5]
    assert "aux_loss" in json.loads(lines[0])
    cut_lines = (tmp_path / "cut" / "phase2" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in cut_lines] == [1, 2, 3, 4, 5]
    assert [json.loads(x)["loss"] for x in cut_lines] == [json.loads(x)["loss"] for x in lines]
    # resume of a finished phase skips it
    again = train(cut_cfg, 2, resume=True)
    assert again.phases[0].skipped


def test_cli_run_eval_diagnose(
    tiny_cohort: Path,
    tiny_lm: Path,
    tiny_rationales: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "out", steps=2)
    raw["data"]["rationales"] = str(tiny_rationales)  # type: ignore[index]
    raw["train"]["grad_accum"] = 2  # type: ignore[index]
    raw["train"]["gradient_checkpointing"] = True  # type: ignore[index]
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(json.loads(json.dumps(raw))))
    with pytest.raises(SystemExit) as exit_info:
        main(["distill", "run", "--config", str(config), "--phase", "all"])
    assert exit_info.value.code in (0, None)
    out = capsys.readouterr().out
    assert "phase 3: 2 steps" in out
    model = tmp_path / "out" / "model"
    assert (model / "ctk_config.json").is_file()

    with pytest.raises(SystemExit):
        main(
            [
                "distill",
                "eval",
                "--model",
                str(model),
                "--cohort",
                str(tiny_cohort),
                "--rationales",
                str(tiny_rationales),
                "--out",
                str(tmp_path / "eval"),
                "--max-new-tokens",
                "8",
            ]
        )
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert report["n"] == 6 and len(report["per_phenotype"]) == 25
    assert 0.0 <= report["micro"]["f1"] <= 1.0
    assert report["rationale"]["bleu"] is not None or any("BLEU" in n for n in report["notes"])
    assert (tmp_path / "eval" / "report.md").read_text().startswith("# Evaluation")

    from ctk.kg.stores.embedded import EmbeddedStore

    with EmbeddedStore(tmp_path / "kg.db"):
        pass  # an empty graph: the diagnose layer joins no facts, and says so by an empty list
    with pytest.raises(SystemExit):
        main(
            [
                "diagnose",
                "--model",
                str(model),
                "--cohort",
                str(tiny_cohort),
                "--id",
                "a3",
                "--json",
                "--max-new-tokens",
                "8",
                "--store",
                str(tmp_path / "kg.db"),
            ]
        )
    printed = capsys.readouterr().out
    result = json.loads(printed[printed.index("{") :])
    assert result["admission_id"] == "a3" and result["graph_facts"] == []
    # the rationale names no phenotype outside the predicted set
    named = {name for *_, name in phenotype_mentions(result["rationale"])}
    assert named <= set(result["diagnoses"]), (named, result["diagnoses"])
    assert set(result["rationale_removed"]).isdisjoint(result["diagnoses"])
    assert isinstance(result["diagnoses"], list) and result["knowledge_used"]
    assert (
        any("Heart rate" in c for c in result["anomaly_captions"])
        or result["anomaly_captions"] == []
    )

    one = tmp_path / "one.json"
    adm = next(a for a in iter_admissions(tiny_cohort) if a.admission_id == "a0")
    one.write_text(adm.model_dump_json())
    with pytest.raises(SystemExit):
        main(["diagnose", "--model", str(model), "--admission", str(one), "--max-new-tokens", "8"])
    text = capsys.readouterr().out
    assert "Admission a0" in text and "Diagnoses:" in text and "Knowledge used:" in text

    # --admission is one admission; a cohort folder there still works, with a warning
    with pytest.raises(SystemExit):
        main(["diagnose", "-m", str(model), "--admission", str(tiny_cohort), "--id", "a1"])
    out, err = capsys.readouterr()
    assert "Admission a1" in out and "--cohort" in err
    with pytest.raises(SystemExit) as neither:
        main(["diagnose", "--model", str(model)])
    assert neither.value.code == 2 and "--cohort" in capsys.readouterr().err

    with pytest.raises(SystemExit) as bad:
        main(["distill", "run", "--config", str(tmp_path / "missing.yaml")])
    assert bad.value.code == 2


@pytest.mark.gpu
def test_bf16_step_on_gpu(tiny_cohort: Path, tiny_lm: Path, tmp_path: Path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    cfg = RunConfig.model_validate(tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "gpu", steps=2))
    result = train(cfg, "all")
    assert [p.steps for p in result.phases] == [2, 2, 2]


def test_cli_init_tiny_writes_lm_and_config(tiny_cohort: Path, tmp_path: Path) -> None:
    from ctk.distill.config import load_run_config

    with pytest.raises(SystemExit) as done:
        main(
            [
                "distill",
                "init-tiny",
                "--cohort",
                str(tiny_cohort),
                "--out",
                str(tmp_path / "lm"),
                "--d-model",
                "32",
                "--layers",
                "1",
                "--heads",
                "2",
                "--vocab-size",
                "300",
                "--write-config",
                str(tmp_path / "run.yaml"),
                "--steps",
                "4",
            ]
        )
    assert done.value.code in (0, None)
    assert (tmp_path / "lm" / "config.json").is_file()
    cfg = load_run_config(tmp_path / "run.yaml")
    assert cfg.student.lm_path == str((tmp_path / "lm").resolve())
    assert cfg.output_dir == (tmp_path / "out").resolve()
    assert cfg.train.phases[2].max_steps == 4
    # a tiny LM trains in phase 2 too; a head over pooled states, words and lab summaries,
    # trained in every phase (its lab term in phase 2); word tokens
    assert cfg.train.phases[2].train == ["lm", "lab_encoder", "fusion", "head"]
    assert cfg.student.classifier and cfg.student.classifier_words
    assert cfg.student.classifier_word_counts
    assert cfg.student.classifier_labs and cfg.train.phases[2].head_lr == 3e-2
    assert (tmp_path / "lm" / "tokenizer.json").is_file()
    result = train(cfg, "all")
    assert [p.steps for p in result.phases] == [4, 4, 4]
    assert result.model_dir is not None
    extras = load_file(str(result.model_dir / "student.safetensors"))
    assert "head.words.weight" in extras and "head.labs.weight" in extras
    assert extras["head.labs.weight"].abs().sum() > 0  # the lab term learnt


def test_lora_run_exports_merged_weights(tiny_cohort: Path, tiny_lm: Path, tmp_path: Path) -> None:
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "lora", steps=2)
    raw["train"]["lora"] = {"enabled": True, "r": 4, "target_modules": ["q", "v"]}  # type: ignore[index]
    result = train(RunConfig.model_validate(raw), 1)
    weights = _weights(result.phases[0].model_dir)
    assert not any("lora" in k for k in weights)
    base = load_file(str(tiny_lm / "model.safetensors"))
    changed = [k for k, v in base.items() if not torch.equal(v, weights[f"lm.{k}"])]
    # only the adapted projections (q, v) changed, through the merge
    assert changed and all(k.endswith((".q.weight", ".v.weight")) for k in changed)
