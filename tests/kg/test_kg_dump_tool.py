"""``tools/kg_dump.py``: the canonical dump that proves two builds give the same graph."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from ctk.kg.build import build_graph
from ctk.kg.stores import open_store

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT / "samples" / "corpora"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kg_dump", ROOT / "tools" / "kg_dump.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(path: Path, *sources: str) -> Path:
    with open_store(str(path)) as store:
        build_graph(list(sources), store, workers=1)
    return path


def test_same_build_is_identical_and_another_corpus_is_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tool = _tool()
    sample = f"pubmed:{CORPORA / 'pubmed_efetch_sample.xml'}"
    first = _build(tmp_path / "a.db", sample)
    second = _build(tmp_path / "b.db", sample)
    other = _build(tmp_path / "c.db", f"pubmed:{CORPORA / 'pubmed_baseline_sample.xml.gz'}")
    lines = list(tool.dump_lines(first))
    kinds = {line.split("\t", 1)[0] for line in lines}
    assert {"chunks", "meta", "concept", "relation", "evidence"} <= kinds
    assert tool.main([str(first), str(second), "--compare"]) == 0
    assert "identical" in capsys.readouterr().out
    assert tool.main([str(first), str(other), "--compare"]) == 1
    assert "differs" in capsys.readouterr().out
    out = tmp_path / "a.txt"
    assert tool.main([str(first), str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines() == lines
