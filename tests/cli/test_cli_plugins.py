"""``ctk plugins list/show``: statuses from a real construction attempt, options with
types and defaults, a near miss answered with "did you mean"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from cli_run import run
from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import PluginConstructionError, PluginNotFoundError
from ctk.registry import RETRIEVERS
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever


class _BoomOptions(BaseModel):
    """Settings of the exploding retriever.

    Attributes:
        depth: How deep it digs.
    """

    model_config = ConfigDict(extra="forbid")

    depth: int = Field(default=3, ge=1)


class _Boom(Retriever):
    """A retriever whose constructor raises."""

    name: ClassVar[str] = "boom"
    Options: ClassVar[type[BaseModel]] = _BoomOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        raise RuntimeError("no GPU found\nsecond line of a long message")

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        return []


class _NeedsPathOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Where the snippets are.")


class _NeedsPath(Retriever):
    """A retriever with a required option."""

    name: ClassVar[str] = "needs-path"
    Options: ClassVar[type[BaseModel]] = _NeedsPathOptions

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        return []


@pytest.fixture()
def registered() -> Iterator[None]:
    RETRIEVERS.register("boom", _Boom)
    RETRIEVERS.register("needs-path", _NeedsPath)
    try:
        yield
    finally:
        RETRIEVERS.unregister("boom")
        RETRIEVERS.unregister("needs-path")


def test_create_names_the_plugin_in_one_line(registered: None) -> None:
    with pytest.raises(PluginConstructionError) as info:
        RETRIEVERS.create("boom")
    message = info.value.message
    assert message.startswith("retriever 'boom'") and "RuntimeError: no GPU found" in message
    assert "\n" not in message
    assert isinstance(info.value.__cause__, RuntimeError)


def test_list_reports_what_cannot_be_constructed(
    registered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["plugins", "list", "--json", "--group", "ctk.retrievers"], capsys)
    assert code == 0
    rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
    assert rows["boom"]["status"] == "error" and "no GPU found" in rows["boom"]["error"]
    assert rows["needs-path"]["status"] == "untried"
    assert "path" in rows["needs-path"]["note"]
    assert rows["graph"]["status"] == "ok" and "knowledge graph" in rows["graph"]["note"]
    code, out, _ = run(["plugins", "list", "--group", "ctk.retrievers"], capsys)
    assert "cannot be used: boom" in out


def test_list_flags_backends_and_extractors_that_need_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["plugins", "list", "--json"], capsys)
    assert code == 0
    rows = {(r["group"], r["name"]): r for r in map(json.loads, out.splitlines())}
    transformers = rows[("ctk.llm_backends", "transformers")]
    assert transformers["status"] == "untried" and "model folder" in transformers["note"]
    llm_extractor = rows[("ctk.extractors", "llm")]
    assert llm_extractor["status"] == "untried" and "generator" in llm_extractor["note"]
    assert rows[("ctk.llm_backends", "template")]["status"] == "ok"


def test_show_lists_options_with_types_defaults_and_descriptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(["plugins", "show", "graph", "--json"], capsys)
    assert code == 0
    [shown] = [json.loads(line) for line in out.splitlines()]
    assert shown["kind"] == "retriever" and shown["group"] == "ctk.retrievers"
    assert shown["distribution"] == "clinragen-toolkit" and shown["needs_store"] is True
    options = {o["name"]: o for o in shown["options"]}
    assert options["per_concept"]["type"] == "int" and options["per_concept"]["default"] == "10"
    assert options["min_weight"]["type"] == "float | None"
    assert "Ignore edges below" in options["min_weight"]["description"]
    code, out, _ = run(["plugins", "show", "openai"], capsys)
    assert code == 0
    assert "LLM backend" in out and "max_retries" in out and "Retries on 429" in out


def test_show_of_a_registered_plugin_and_a_required_option(
    registered: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["plugins", "show", "needs-path", "--json"], capsys)
    [shown] = [json.loads(line) for line in out.splitlines()]
    [path] = shown["options"]
    assert path["required"] is True and path["description"] == "Where the snippets are."
    code, out, _ = run(["plugins", "show", "boom"], capsys)
    assert code == 0
    assert "depth" in out and "How deep it digs." in out


def test_show_suggests_a_near_name(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["plugins", "show", "grahp"], capsys)
    assert code == 2
    assert "did you mean 'graph'?" in err
    with pytest.raises(PluginNotFoundError, match="did you mean 'bm25'"):
        RETRIEVERS.get("bm52")


def test_generate_help_lists_installed_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rationale", "generate", "--help"], capsys)
    assert code == 0
    assert "installed:" in out
    for name in (*RETRIEVERS.names(), "langchain", "openai", "template", "transformers"):
        assert name in out
