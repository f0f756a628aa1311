"""Every command's --help: an example, a description for every option, no flag placeholders."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ctk.cli.main import app


def _commands() -> Iterator[tuple[list[str], Any]]:
    root = typer.main.get_command(app)

    # typer may bring its own copy of click: look at the objects' shape, not their class
    def walk(path: list[str], cmd: Any) -> Iterator[tuple[list[str], Any]]:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                if not sub.hidden:
                    yield from walk([*path, name], sub)
        else:
            yield path, cmd

    yield from walk([], root)


COMMANDS = list(_commands())


def test_the_walk_finds_the_commands() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"data import", "kg build", "kg query", "rationale generate", "diagnose"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_help_describes_every_option_and_shows_an_example(path: list[str]) -> None:
    cmd = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    undocumented = [
        p.opts[0]
        for p in cmd.params
        if p.param_type_name == "option" and not p.hidden and not (p.help or "").strip()
    ]
    assert not undocumented, f"ctk {' '.join(path)}: options without a description"
    assert "Example" in (cmd.help or ""), f"ctk {' '.join(path)} --help shows no example"
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
