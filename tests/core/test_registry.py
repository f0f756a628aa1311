"""Entry-point plugins: built-ins load through the same path as third-party ones; a
broken distribution is reported and the others still load."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ctk.cli.main import main
from ctk.errors import ConfigError, PluginLoadError, PluginNotFoundError
from ctk.extraction import ConceptExtractor
from ctk.registry import EXTRACTORS, LLM_BACKENDS, REGISTRIES, RETRIEVERS, registry_for
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever
from ctk.teacher.backend import LLMBackend

BUILTIN_RETRIEVERS = {"graph", "vector", "bm25", "hybrid"}
BUILTIN_BACKENDS = {"openai", "langchain", "transformers", "template"}


def run_ctk(argv: list[str]) -> int:
    """Run the ``ctk`` entry point; its exit status."""
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


@pytest.fixture()
def broken_distribution(tmp_path: Path) -> Iterator[None]:
    """A fake installed distribution whose retriever raises ImportError on import."""
    dist = tmp_path / "ctk_broken_plugin-0.0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ctk-broken-plugin\nVersion: 0.0.1\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[ctk.retrievers]\nbroken = ctk_broken_plugin_mod:Broken\n"
        "[ctk.llm_backends]\nnot-a-backend = json:JSONDecoder\n",
        encoding="utf-8",
    )
    (tmp_path / "ctk_broken_plugin_mod.py").write_text(
        "raise ImportError('needs a library that is not installed')\n", encoding="utf-8"
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("ctk_broken_plugin_mod", None)


def test_builtins_are_entry_points() -> None:
    retrievers, backends = RETRIEVERS, LLM_BACKENDS
    assert set(retrievers.names()) >= BUILTIN_RETRIEVERS
    assert set(backends.names()) >= BUILTIN_BACKENDS
    for name in BUILTIN_RETRIEVERS:
        assert retrievers.get(name).name == name
    for name in BUILTIN_BACKENDS:
        assert backends.get(name).name == name
    with pytest.raises(PluginNotFoundError, match="graph"):
        retrievers.get("nope")


def test_broken_plugin_is_reported_and_others_load(
    broken_distribution: None, capsys: pytest.CaptureFixture[str]
) -> None:
    retrievers = RETRIEVERS
    with pytest.raises(PluginLoadError, match=r"ctk-broken-plugin 0\.0\.1 failed to import"):
        retrievers.get("broken")
    assert retrievers.get("bm25").name == "bm25"
    with pytest.raises(PluginLoadError, match="not a subclass"):
        LLM_BACKENDS.get("not-a-backend")

    assert run_ctk(["plugins", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_name = {(r["group"], r["name"]): r for r in rows}
    broken = by_name[("ctk.retrievers", "broken")]
    assert broken["status"] == "error" and "needs a library" in broken["error"]
    assert broken["distribution"] == "ctk-broken-plugin" and broken["version"] == "0.0.1"
    for name in BUILTIN_RETRIEVERS:
        row = by_name[("ctk.retrievers", name)]
        assert row["status"] == "ok" and row["distribution"] == "clinragen-toolkit"
    assert by_name[("ctk.llm_backends", "template")]["status"] == "ok"


def test_plugins_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_ctk(["plugins", "list", "--group", "ctk.llm_backends"]) == 0
    out = capsys.readouterr().out
    for name in BUILTIN_BACKENDS:
        assert name in out
    assert "clinragen-toolkit" in out and "ctk.retrievers" not in out


def test_one_registry_per_kind_with_its_base() -> None:
    assert REGISTRIES == {
        "ctk.extractors": EXTRACTORS,
        "ctk.retrievers": RETRIEVERS,
        "ctk.llm_backends": LLM_BACKENDS,
    }
    assert (EXTRACTORS.base, RETRIEVERS.base, LLM_BACKENDS.base) == (
        ConceptExtractor,
        Retriever,
        LLMBackend,
    )
    assert registry_for("ctk.retrievers") is RETRIEVERS
    with pytest.raises(ConfigError, match="unknown plugin group"):
        registry_for("ctk.nope")


class _Fixed(Retriever):
    name = "fixed-in-process"

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        return [EvidenceRecord(id="f1", text="fixed", score=1.0)]


def test_a_plugin_registered_in_python_reaches_the_cli_and_the_hybrid_retriever(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ctk.plugins.retrievers.hybrid import HybridRetriever

    RETRIEVERS.register("fixed-in-process", _Fixed)
    try:
        assert run_ctk(["plugins", "list", "--json", "--group", "ctk.retrievers"]) == 0
        rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        mine = [r for r in rows if r["name"] == "fixed-in-process"]
        assert mine and mine[0]["distribution"] == "(registered in process)"
        hybrid = HybridRetriever(options={"retrievers": ["fixed-in-process"]})
        got = hybrid.retrieve(RetrievalQuery(), 3)
        assert [r.id for r in got] == ["f1"]
    finally:
        RETRIEVERS.unregister("fixed-in-process")
    assert "fixed-in-process" not in RETRIEVERS.names()
