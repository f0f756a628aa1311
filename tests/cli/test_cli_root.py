from __future__ import annotations

import subprocess
import sys

import pytest

import ctk
from ctk.cli.main import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"ctk {ctk.__version__}"


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ctk.cli.main", "no-such-command"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "no-such-command" in proc.stderr


def test_help_lists_only_groups_that_exist() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ctk.cli.main", "--help"], capture_output=True, text=True, check=True
    )
    assert "Example:" in proc.stdout
    assert "not implemented" not in proc.stdout.lower()
