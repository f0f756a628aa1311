"""Every command's --help: an example, a description for every option, no flag placeholders."""

from __future__ import annotations

import re
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


_TYPE_LABEL = re.compile(
    r"<(?:path|file|directory|str|int|float|bool|datetime|list\[[^\]]*\])[^>]*>"
)


def _squeezed(text: str) -> str:
    """The text without borders and whitespace: a wrapped or folded value reads whole."""
    return re.sub(r"[\s│╭╮╰╯─]+", "", text)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_help_reads_whole_at_80_columns(path: list[str]) -> None:
    """No option name or default cut, no line over 80, values named in words, no braces."""
    cmd = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    out = result.output
    where = f"ctk {' '.join(path)} --help at 80 columns"
    assert "…" not in out, f"{where} cuts something:\n{out}"
    assert max(len(line) for line in out.splitlines()) <= 80, where
    assert not _TYPE_LABEL.search(out), f"{where} names a value by its Python type:\n{out}"
    usage = next(line for line in out.splitlines() if "Usage:" in line)
    assert "{" not in usage and "}" not in usage, f"{where}: {usage.strip()}"
    squeezed = _squeezed(out)
    for param in cmd.params:
        if param.hidden:
            continue
        for name in [*param.opts, *param.secondary_opts]:
            if name.startswith("-"):
                assert name in out, f"{where} does not show {name} whole"
        default = param.default
        shows_default = param.param_type_name == "option" and param.show_default
        if shows_default and not param.is_flag and default not in (None, []):
            shown = ",".join(map(str, default)) if isinstance(default, list) else str(default)
            assert _squeezed(shown) in squeezed, f"{where} cuts the default {shown!r}"


def test_placeholders_are_words() -> None:
    from ctk.cli.help_format import placeholder

    assert placeholder("<path>") == "PATH"
    assert placeholder("<list[str]>") == "TEXT"
    assert placeholder("<list[Path]>") == "PATH"
    assert placeholder("<int range>") == "N"
    assert placeholder("<float>") == "NUMBER"
    assert placeholder("<a|b>") == "a|b"


def test_no_option_takes_a_secret_on_the_command_line() -> None:
    """Passwords and keys come from the environment (a flag stands in shell history and `ps`)."""
    secret_flags = [
        (" ".join(path), opt)
        for path, cmd in COMMANDS
        for param in cmd.params
        for opt in param.opts
        if re.search(r"password|secret|api-key$|token$", opt)
    ]
    assert secret_flags == []


def test_the_neo4j_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ctk.cli import options

    monkeypatch.setenv("CTK_NEO4J_PASSWORD", "from-env")
    options.settings.cache_clear()
    try:
        login = options.cli_store_options(user="neo4j", database="ctk")
    finally:
        options.settings.cache_clear()
    assert login.password is not None and login.password.get_secret_value() == "from-env"
    assert (login.user, login.database) == ("neo4j", "ctk")
    refused = CliRunner().invoke(app, ["kg", "stats", "--neo4j-password", "x"])
    assert refused.exit_code == 2 and "--neo4j-password" in refused.output
