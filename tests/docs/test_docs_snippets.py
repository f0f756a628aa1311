"""The plugin guide's code runs, and the generated API reference is up to date.

As httpx and Typer test their documentation: every ```python block of
docs/plugins.md is executed, in order, in one namespace, in a scratch folder; a
plugin built from the guide alone must work through the library and the CLI.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

from ctk.registry import LLM_BACKENDS, RETRIEVERS

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    """The fenced ``python`` blocks of a Markdown page, in order."""
    return _BLOCK.findall(page.read_text(encoding="utf-8"))


def _renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_plugin_api", ROOT / "tools" / "render_plugin_api.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_guide_snippets_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = python_blocks(ROOT / "docs" / "plugins.md")
    assert len(blocks) >= 5, "the guide's worked example is missing"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "plugins_md"}
    try:
        for n, block in enumerate(blocks, start=1):
            code = compile(block, f"docs/plugins.md[python block {n}]", "exec")
            exec(code, namespace)
    finally:
        RETRIEVERS.unregister("recent")
        graph = namespace.get("graph")
        close = getattr(graph, "close", None)
        if callable(close):
            close()
    # what the guide built is really there
    assert (tmp_path / "r.jsonl").exists() and "recent" not in RETRIEVERS.names()
    assert "echo" not in LLM_BACKENDS.names()


def test_plugin_api_reference_is_current() -> None:
    renderer = _renderer()
    page = ROOT / "docs" / "plugin-api.md"
    assert page.read_text(encoding="utf-8") == renderer.render(), (
        "docs/plugin-api.md is stale: run python tools/render_plugin_api.py"
    )


def test_reference_covers_what_a_plugin_author_needs() -> None:
    text = (ROOT / "docs" / "plugin-api.md").read_text(encoding="utf-8")
    for needed in (
        "ctk.retrieval.Retriever",
        "ctk.llm.LLMBackend",
        "ctk.extraction.ConceptExtractor",
        "find_concepts",
        "neighbours",
        "get_relation",
        "iter_relations",
        "ctk.records.Relation",
        "ctk.records.Evidence",
        "| `year` |",
        "source_id|type|target_id",
        "ConceptSeeder",
        "PluginConstructionError",
    ):
        assert needed in text, needed
