"""``build_kg``: the library call behind ``ctk kg build``, its policies checked first."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.errors import ConfigError
from ctk.kg.builder import KGBuildConfig, build_kg
from ctk.kg.stores import open_store

REPO = Path(__file__).resolve().parents[2]
PUBMED = REPO / "samples" / "corpora" / "pubmed_efetch_sample.xml"


def test_build_kg_opens_the_store_and_builds(tmp_path: Path) -> None:
    store = tmp_path / "kg.db"
    config = KGBuildConfig(sources=[f"pubmed:{PUBMED}"], store=str(store), workers=1)
    summary = build_kg(config)
    assert summary.documents > 0 and summary.relations > 0
    with open_store(str(store)) as graph:
        assert graph.stats().relations == summary.relations
    # the same call again resumes: every chunk is already there
    again = build_kg(config)
    assert again.chunks_applied == 0 and again.chunks_skipped == summary.chunks_applied


def test_build_kg_into_an_open_store(tmp_path: Path) -> None:
    config = KGBuildConfig(sources=[f"pubmed:{PUBMED}"], workers=1, chunk_docs=2)
    with open_store(str(tmp_path / "kg.db")) as graph:
        summary = build_kg(config, graph)
        assert summary.chunks_applied == len(graph.done_chunks()) > 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"extractor": "llm", "llm": "openai", "engine": "ray"}, "one process, not on Ray"),
        ({"extractor": "llm"}, "needs a backend"),
        ({"llm": "openai"}, "--llm needs --extractor llm"),
        (
            {"extractor": "llm", "llm": "openai", "store": "bolt://127.0.0.1:1"},
            "needs --llm-cache",
        ),
        ({"engine": "spark"}, "unknown build engine"),
    ],
)
def test_policies_refuse_before_the_store_is_opened(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    store = tmp_path / "kg.db"
    fields: dict[str, object] = {"sources": [f"pubmed:{PUBMED}"], "store": str(store)}
    config = KGBuildConfig.model_validate({**fields, **changes})
    with pytest.raises(ConfigError, match=message):
        build_kg(config)
    assert not store.exists()


def test_a_plain_extractor_refuses_a_backend() -> None:
    from ctk.registry import EXTRACTORS, LLM_BACKENDS

    assert EXTRACTORS.get("llm").uses_llm and not EXTRACTORS.get("dictionary").uses_llm
    backend = LLM_BACKENDS.create("template")
    with pytest.raises(ConfigError, match="does not use an LLM backend"):
        EXTRACTORS.get("dictionary").with_backend(backend)
