"""Run the ``ctk`` command in-process for tests: exit code, stdout, stderr."""

from __future__ import annotations

import pytest

from ctk.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``ctk ARGV``: the exit code (0 when ``main`` returns) and the captured output."""
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
