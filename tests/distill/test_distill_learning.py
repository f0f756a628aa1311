"""Phase 2 learns on planted signal; a phase that does not is said in words; runs that would
train nothing are refused before any step."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from conftest import tiny_run_config

from ctk.cli.main import main
from ctk.distill.config import RunConfig
from ctk.distill.learning import check_learning
from ctk.distill.trainer import train


def _losses(path: Path, key: str) -> list[float]:
    return [json.loads(x)[key] for x in path.read_text().splitlines() if x.strip()]


def test_phase_two_learns_when_the_tiny_lm_trains_too(
    tiny_cohort: Path, tiny_rationales: Path, tiny_lm: Path, tmp_path: Path
) -> None:
    """The tiny cohort plants shock in the heart rate. With the LM trainable in phase 2
    (the init-tiny setting) its LM loss and caption loss fall well below their start and
    below a uniform guess; frozen (the paper's setting for a pretrained LM), the caption
    loss stays above a uniform guess and the verdict says so."""
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "out", steps=40)
    raw["data"]["rationales"] = str(tiny_rationales)  # type: ignore[index]
    raw["train"]["phases"][2]["train"] = ["lm", "lab_encoder", "fusion"]  # type: ignore[index]
    raw["train"]["phases"][2]["max_steps"] = 120  # type: ignore[index]
    raw["train"]["save_every"] = 0  # type: ignore[index]
    result = train(RunConfig.model_validate(raw), "all")
    p2 = result.phases[1]
    assert p2.learning is not None and p2.learning.learned, p2.learning
    uniform = p2.learning.uniform
    assert math.isclose(
        uniform,
        math.log(len(__import__("transformers").AutoTokenizer.from_pretrained(str(tiny_lm)))),
    )
    metrics = tmp_path / "out" / "phase2" / "metrics.jsonl"
    for key in ("lm_loss", "aux_loss"):
        values = _losses(metrics, key)
        start, end = sum(values[:5]) / 5, sum(values[-5:]) / 5
        assert end < 0.5 * start and end < uniform, (key, start, end)
    assert "learned" in p2.learning.message and "caption loss" in p2.learning.message

    frozen = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "frozen", steps=40)
    frozen["data"]["rationales"] = str(tiny_rationales)  # type: ignore[index]
    frozen["train"]["save_every"] = 0  # type: ignore[index]
    frozen["train"]["phases"][2]["max_steps"] = 120  # type: ignore[index]
    cfg = RunConfig.model_validate(frozen)
    cfg.output_dir.mkdir(parents=True)
    import shutil

    shutil.copytree(tmp_path / "out" / "phase1", cfg.output_dir / "phase1")
    verdict = train(cfg, 2).phases[0].learning
    assert verdict is not None and not verdict.learned
    assert "ended without learning" in verdict.message and "uniform guess" in verdict.message


def test_check_learning_reads_a_flat_curve(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    rows = [
        {"phase": 2, "step": i, "lm_loss": 7.8 - 0.001 * i, "aux_loss": 14.0} for i in range(40)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    verdict = check_learning(path, 2, 800)
    assert verdict is not None and not verdict.learned
    assert "fell by less than 10%" in verdict.message and "6.68" in verdict.message
    path.write_text(json.dumps(rows[0]) + "\n")
    assert check_learning(path, 2, 800) is None  # too short to judge


def _run(
    tmp_path: Path, raw: dict[str, object], capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    """``ctk distill run`` on ``raw``: exit status and what it printed (stdout + stderr)."""
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SystemExit) as done:
        main(["distill", "run", "--config", str(path), *extra])
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out + err


def test_a_phase_that_would_train_nothing_is_refused(
    tiny_cohort: Path, tiny_lm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "out")
    raw["train"]["phases"][2]["train"] = []  # type: ignore[index]
    code, out = _run(tmp_path, raw, capsys)
    assert code == 2, out
    assert "phase 2 would train nothing" in out
    assert not (tmp_path / "out" / "phase1").exists()  # refused before any step

    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "out")
    raw["train"]["phases"][1]["train"] = ["head"]  # type: ignore[index]  # no head here
    code, out = _run(tmp_path, raw, capsys)
    assert code == 2 and "phase 1 would train nothing" in out


def test_vocabulary_the_tokenizer_cannot_encode(
    tiny_cohort: Path, tiny_lm: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vk = tmp_path / "vk.jsonl"
    header = {"kind": "ctk.vocab", "format_version": 1}

    def entries(names: list[str]) -> str:
        rows = [header] + [
            {"id": f"c:{i}", "name": n, "type": "finding", "weight": 1.0}
            for i, n in enumerate(names)
        ]
        return "\n".join(json.dumps(r) for r in rows) + "\n"

    vk.write_text(entries(["zzqx wobble", "flurbination"]))
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "out")
    raw["data"]["vocabulary"] = str(vk)  # type: ignore[index]
    code, out = _run(tmp_path, raw, capsys)
    assert code == 2, out
    assert "none of the 2 V_k names" in out
    assert not (tmp_path / "out" / "phase1").exists()

    vk.write_text(entries(["shock", "flurbination", "sepsis zzqx"]))
    code, out = _run(tmp_path, raw, capsys, "--phase", "1")
    assert code == 0, out
    assert "2 of 3 V_k names" in out and "1 wholly" in out
