"""Run the ``ctk`` entry point in-process, as a user's shell would (CtkError -> exit 2)."""

from __future__ import annotations

import pytest

from ctk.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``ctk ARGV``; its exit status, stdout and stderr."""
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
