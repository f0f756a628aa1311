"""The example third-party plugin package (examples/ctk-example-retriever), when installed."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest
from rationale_fixtures import build_store

from ctk.cli.main import main
from ctk.registry import RETRIEVERS
from ctk.retrieval import RetrievalQuery

# tools/bootstrap.sh installs the example, so in CI (CI=true) it must be there: no skip.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ctk_example_retriever") is None
    and os.environ.get("CI", "").lower() not in {"1", "true", "yes"},
    reason="example plugin not installed: pip install -e examples/ctk-example-retriever",
)


def test_listed_by_ctk_plugins_list(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        main(["plugins", "list", "--json", "--group", "ctk.retrievers"])
    except SystemExit as e:
        assert not e.code
    rows = {r["name"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    row = rows["example-keyword"]
    assert row["status"] == "ok"
    assert row["distribution"] == "ctk-example-retriever" and row["version"] == "0.1.0"


def test_loads_through_the_registry_and_uses_the_graph(tmp_path: Path) -> None:
    cls = RETRIEVERS.get("example-keyword")
    store = build_store(tmp_path / "kg.db")
    found = cls(store=store).retrieve(RetrievalQuery(note_text="insulin lowers glucose"), k=1)
    store.close()
    assert found[0].fact_ids == ["ctk:insulin|treats|ctk:diabetes"]
    assert found[0].retriever == "example-keyword"
