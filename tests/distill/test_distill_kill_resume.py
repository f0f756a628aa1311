"""Faults: ``kill -9`` in the middle of a phase, then ``--resume`` ends with the same weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import tiny_run_config
from safetensors.torch import load_file

from ctk.distill.config import RunConfig
from ctk.distill.trainer import latest_checkpoint, train

_STEPS = 40


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    state = load_file(str(folder / "student.safetensors"))
    state.update(
        {f"lm.{k}": v for k, v in load_file(str(folder / "lm" / "model.safetensors")).items()}
    )
    return state


def _config(cohort: Path, lm: Path, out: Path) -> dict[str, object]:
    raw = tiny_run_config(cohort, lm, out, steps=_STEPS)
    raw["train"]["cpu_threads"] = 1  # type: ignore[index]
    raw["train"]["save_every"] = 3  # type: ignore[index]
    return raw


def _cli(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "ctk.cli.main", "distill", "run", "--config", str(config), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_kill_9_mid_phase_then_resume_gives_the_same_weights(
    tiny_cohort: Path, tiny_lm: Path, tmp_path: Path
) -> None:
    reference = train(RunConfig.model_validate(_config(tiny_cohort, tiny_lm, tmp_path / "ref")))
    assert reference.model_dir is not None

    out = tmp_path / "killed"
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(json.loads(json.dumps(_config(tiny_cohort, tiny_lm, out)))))
    proc = _cli(config)
    phase2 = out / "phase2"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        ckpt = latest_checkpoint(phase2) if phase2.is_dir() else None
        if ckpt is not None and int(ckpt.name.split("-")[1]) >= 6:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed mid-phase"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (out / "phase1" / "final" / "phase_done.json").is_file()
    assert not (phase2 / "final" / "phase_done.json").exists()  # killed inside phase 2

    resumed = _cli(config, "--resume")
    _, err = resumed.communicate(timeout=900)
    assert resumed.returncode == 0, err.decode()[-2000:]
    a, b = _weights(reference.model_dir), _weights(out / "model")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    steps = [json.loads(x)["step"] for x in (phase2 / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, _STEPS + 1))  # lines past the checkpoint were dropped


def test_a_half_written_checkpoint_is_not_resumed_from(tmp_path: Path) -> None:
    good = tmp_path / "checkpoint-00000004"
    partial = tmp_path / "checkpoint-00000006.partial"
    for folder in (good, partial):
        folder.mkdir()
        (folder / "trainer_state.json").write_text("{}")
    assert latest_checkpoint(tmp_path) == good
