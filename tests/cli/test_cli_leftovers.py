"""Issue 23's leftovers: messages name --store, a folder is no rationale file, docs agree."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from cli_run import run
from rationale_fixtures import build_store

ROOT = Path(__file__).resolve().parents[2]


def test_plugins_show_names_store_not_kg(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["plugins", "show", "graph"], capsys)
    assert code == 0 and "needs a knowledge graph (--store)" in out and "--kg" not in out


def test_a_folder_given_as_rationale_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_store(tmp_path / "kg.db").close()
    (tmp_path / "folder").mkdir()
    code, _, err = run(
        ["rationale", "check", str(tmp_path / "folder"), "--store", str(tmp_path / "kg.db")],
        capsys,
    )
    assert code == 2 and "is a folder, not a rationale file" in err
    assert "Traceback" not in err


def test_relation_count_is_documented_as_documents_everywhere() -> None:
    from ctk.records import Relation

    assert "Number of documents supporting it" in (Relation.__doc__ or "")
    api = (ROOT / "docs" / "plugin-api.md").read_text(encoding="utf-8")
    assert "count: Number of documents" in api and "count: Number of sentences" not in api


def _commands() -> dict[str, Any]:
    import typer

    from ctk.cli.main import app

    found: dict[str, Any] = {}

    def walk(path: list[str], cmd: Any) -> None:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk([*path, name], sub)
        else:
            found[" ".join(path)] = cmd

    walk([], typer.main.get_command(app))
    return found


def test_a_short_flag_means_one_thing_in_every_command() -> None:
    meaning: dict[str, set[str]] = {}
    for cmd in _commands().values():
        for param in cmd.params:
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts if len(o) == 2 and o.startswith("-")):
                meaning.setdefault(short, set()).update(longs)
    assert {k: v for k, v in meaning.items() if len(v) > 1} == {}
    assert meaning["-c"] == {"--cohort"}


def test_store_defaults_to_kg_db_in_every_kg_command_that_opens_one() -> None:
    defaults = {
        name: param.default
        for name, cmd in _commands().items()
        if name.startswith("kg ")
        for param in cmd.params
        if "--store" in param.opts
    }
    assert {"kg build", "kg query", "kg stats", "kg vocab", "kg export"} <= set(defaults)
    ignored = {"kg load"}  # its --store is the Neo4j server the import is opened with
    assert {n: d for n, d in defaults.items() if n not in ignored and d != "kg.db"} == {}


def test_rationale_check_help_says_it_reads_ctk_kg_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["rationale", "check", "--help"], capsys)
    assert code == 0 and "CTK_KG_STORE" in out


def test_the_kg_group_example_names_files_that_exist() -> None:
    from ctk.cli.kg import app

    help_text = app.info.help or ""
    paths = re.findall(r"(?:pubmed|wikipedia|text):(\S+)", help_text)
    assert paths and all((ROOT / p).is_file() for p in paths), paths
