"""Several processes through torchrun (gloo on CPU): one data-parallel run, not copies."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import tiny_run_config

pytestmark = pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not on PATH")


def test_torchrun_two_processes_share_the_data(
    tiny_cohort: Path, tiny_lm: Path, tmp_path: Path
) -> None:
    raw = tiny_run_config(tiny_cohort, tiny_lm, tmp_path / "out", steps=2)
    raw["train"]["cpu_threads"] = 1  # type: ignore[index]
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(json.loads(json.dumps(raw))))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [shutil.which("torchrun") or "torchrun", "--nproc_per_node", "2",
         "-m", "ctk.cli.main", "distill", "run", "--config", str(config), "--phase", "1"],
        capture_output=True, text=True, env=env, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    losses = re.findall(r"phase 1: 2 steps, loss ([0-9.]+)", proc.stdout)
    assert len(losses) == 2, proc.stdout
    # each rank saw its own shard of every batch: a copy-per-process run would agree exactly
    assert losses[0] != losses[1]
    assert (tmp_path / "out" / "phase1").is_dir()
