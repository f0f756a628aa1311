"""Issue 23's leftovers: messages name --store, a folder is no rationale file, docs agree."""

from __future__ import annotations

from pathlib import Path

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
