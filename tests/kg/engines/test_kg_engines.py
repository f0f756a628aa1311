"""Build engines: the local pool and Ray give the graph of one process, and resume each other.

The graphs are compared in the real embedded store, evidence and weights included.
The Ray tests run against a local Ray cluster (``ray.init(num_cpus=2)``).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ctk.errors import ConfigError
from ctk.extraction import Mention
from ctk.kg.build import BuildProgress, build_graph
from ctk.kg.chunk import ChunkResult
from ctk.kg.engines import BuildWorkerError, make_engine
from ctk.kg.engines.local import LocalEngine
from ctk.kg.engines.work import InOrder, UnitChunk, UnitDone, plan_units
from ctk.kg.sources.pubmed import PubMedFormat
from ctk.kg.stores import GraphDelta, GraphStore, open_store
from ctk.plugins.extractors import DictionaryExtractor
from ctk.report import ProblemReport

REPO = Path(__file__).resolve().parents[3]
CORPORA = REPO / "samples" / "corpora"
BASELINE = f"pubmed:{CORPORA / 'pubmed_baseline_sample.xml.gz'}"
SOURCES = [
    BASELINE,
    f"pubmed:{CORPORA / 'pubmed_efetch_sample.xml'}",
    f"wikipedia:{CORPORA / 'enwiki_medical_sample.xml.bz2'}",
]
PARENT = os.getpid()


def snapshot(store: GraphStore) -> tuple[Any, ...]:
    """Everything a build writes: concepts, relations with evidence and weights, totals."""
    concepts = sorted(c.model_dump_json() for c in store.iter_concepts())
    relations = sorted(r.model_dump_json() for r in store.iter_relations(with_evidence=True))
    s = store.stats()
    return concepts, relations, (s.concepts, s.relations, s.evidence, s.sentences, s.documents)


@pytest.fixture(scope="module")
def extractor() -> DictionaryExtractor:
    return DictionaryExtractor()


def _build(tmp: Path, name: str, sources: list[str], **options: Any) -> tuple[Any, ...]:
    with open_store(str(tmp / f"{name}.db")) as store:
        build_graph(sources, store, chunk_docs=7, **options)
        return snapshot(store)


@pytest.fixture(scope="module")
def reference(extractor: DictionaryExtractor, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The graph of the three sample corpora built in this process."""
    return _build(tmp_path_factory.mktemp("ref"), "ref", SOURCES, extractor=extractor, workers=1)


def _interrupt_after(chunks: int, store: GraphStore, extractor: Any, workers: int) -> None:
    """A local build stopped (as by Ctrl-C) once ``chunks`` chunks are applied."""

    def stop(p: BuildProgress) -> None:
        if p.chunks_applied == chunks:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_graph(
            SOURCES, store, extractor=extractor, workers=workers, chunk_docs=7, progress=stop
        )


# --------------------------------------------------------------------------- order


def _result(index: int) -> ChunkResult:
    from collections import Counter

    return ChunkResult(f"f:{index}", GraphDelta(), ProblemReport(), Counter(), 0)


def test_in_order_puts_shards_back_in_corpus_order() -> None:
    files = [(CORPORA / "a.xml", PubMedFormat(), "fa"), (CORPORA / "b.xml", PubMedFormat(), "fb")]
    units = plan_units(files, {"fa:1"}, workers=4, chunk_docs=10, max_evidence=5)
    assert [(u.file_number, u.shard, u.shards) for u in units] == [
        (0, 0, 2),
        (0, 1, 2),
        (1, 0, 2),
        (1, 1, 2),
    ]
    assert units[0].done == frozenset({1}) and units[2].done == frozenset()
    order = InOrder(units)
    out: list[Any] = []
    # file b finishes first, file a's shard 1 (chunks 1, 3) before shard 0 (chunks 0, 2)
    out += order.feed(UnitChunk(2, 0, _result(100)))
    out += order.feed(UnitDone(2, 1))
    out += order.feed(UnitDone(3, 1))
    out += order.feed(UnitChunk(1, 3, _result(3)))
    out += order.feed(UnitDone(1, 4))
    assert out == []
    out += order.feed(UnitChunk(0, 0, _result(0)))
    assert [x if isinstance(x, int) else getattr(x, "chunk_id", "report") for x in out] == [
        "f:0",
        1,  # chunk 1 was in the store already
    ]
    out += order.feed(UnitChunk(0, 2, _result(2)))
    out += order.feed(UnitDone(0, 4))
    names = [x if isinstance(x, int) else getattr(x, "chunk_id", "report") for x in out]
    assert names == ["f:0", 1, "f:2", "f:3", "report", "f:100", "report"]
    assert order.finished


# --------------------------------------------------------------------------- local pool


def test_pool_shards_a_single_file_and_gives_the_same_graph(
    extractor: DictionaryExtractor, tmp_path: Path
) -> None:
    one = _build(tmp_path, "one", [BASELINE], extractor=extractor, workers=1)
    two = _build(tmp_path, "two", [BASELINE], extractor=extractor, workers=2)
    assert two == one and one[2][4] == 39


def test_pool_gives_the_same_graph_over_several_files(
    extractor: DictionaryExtractor, reference: Any, tmp_path: Path
) -> None:
    assert _build(tmp_path, "pool", SOURCES, extractor=extractor, workers=2) == reference


def test_interrupted_build_resumes_in_a_pool(
    extractor: DictionaryExtractor, reference: Any, tmp_path: Path
) -> None:
    with open_store(str(tmp_path / "kg.db")) as store:
        _interrupt_after(4, store, extractor, workers=2)
        assert len(store.done_chunks()) == 4
        resumed = build_graph(SOURCES, store, extractor=extractor, workers=2, chunk_docs=7)
        assert resumed.chunks_skipped == 4 and resumed.chunks_applied > 0
        assert snapshot(store) == reference


class _DyingExtractor(DictionaryExtractor):
    """Kills its worker process (SIGKILL, like the OOM killer) on a sentence about hyperkalemia."""

    def extract_document(self, sentences: Sequence[str]) -> list[list[Mention]]:
        if os.getpid() != PARENT and any("Hyperkalemia" in t for t in sentences):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().extract_document(sentences)


class _FailingExtractor(DictionaryExtractor):
    def extract_document(self, sentences: Sequence[str]) -> list[list[Mention]]:
        if os.getpid() != PARENT and any("Hyperkalemia" in t for t in sentences):
            raise RuntimeError("extractor bug")
        return super().extract_document(sentences)


def test_killed_worker_is_reported_and_the_build_resumes(
    extractor: DictionaryExtractor, reference: Any, tmp_path: Path
) -> None:
    with open_store(str(tmp_path / "kg.db")) as store:
        with pytest.raises(BuildWorkerError, match="died \\(killed by signal 9\\)"):
            build_graph(SOURCES, store, extractor=_DyingExtractor(), workers=2, chunk_docs=7)
        again = build_graph(SOURCES, store, extractor=extractor, workers=2, chunk_docs=7)
        assert again.chunks_applied > 0
        assert snapshot(store) == reference


def test_worker_exception_is_reported_with_its_traceback(tmp_path: Path) -> None:
    with (
        open_store(str(tmp_path / "kg.db")) as store,
        pytest.raises(BuildWorkerError, match="RuntimeError: extractor bug") as err,
    ):
        build_graph(SOURCES, store, extractor=_FailingExtractor(), workers=2, chunk_docs=7)
    assert "a build worker failed on " + str(CORPORA) in str(err.value) and err.value.hint


def test_engine_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="unknown build engine"):
        make_engine("spark")
    with pytest.raises(ConfigError, match="Ray address"):
        make_engine("local", ray_address="auto")
    assert isinstance(make_engine("local", workers=3), LocalEngine)


# --------------------------------------------------------------------------- Ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def test_ray_engine_gives_the_local_graph(
    local_ray: None, extractor: DictionaryExtractor, reference: Any, tmp_path: Path
) -> None:
    got = _build(tmp_path, "ray", SOURCES, extractor=extractor, engine="ray", workers=2)
    assert got == reference


def test_ray_resumes_a_local_build(
    local_ray: None, extractor: DictionaryExtractor, reference: Any, tmp_path: Path
) -> None:
    with open_store(str(tmp_path / "kg.db")) as store:
        _interrupt_after(3, store, extractor, workers=1)
        resumed = build_graph(SOURCES, store, extractor=extractor, engine="ray", chunk_docs=7)
        assert resumed.chunks_skipped == 3 and resumed.workers == 2
        assert snapshot(store) == reference


def test_cli_build_on_ray(local_ray: None, tmp_path: Path) -> None:
    from ctk.cli.kg import app

    args = ["build", "--source", BASELINE, "--store", str(tmp_path / "kg.db"), "--chunk-docs", "7"]
    result = CliRunner().invoke(app, [*args, "--engine", "ray"])
    assert result.exit_code == 0, result.output
    assert "ray engine" in result.output and "6 / 0" in result.output
    wrong = CliRunner().invoke(app, [*args, "--ray-address", "auto"])
    assert wrong.exit_code != 0 and "Ray address" in str(wrong.exception or wrong.output)
