"""End to end against the REAL local teacher: llama.cpp's OpenAI-compatible server
with SmolLM2-135M-Instruct (``local_teacher_url``), the compact prompt and the
grammar-constrained schema, for the ``openai`` and ``langchain`` backends."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from rationale_fixtures import build_store, make_admissions

from ctk.plugins.llm.openai_compat import OpenAIBackend, negotiated_modes
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.records import Rationale
from ctk.teacher import GenerationConfig, GenerationSummary, generate_rationales, read_rationales

pytestmark = pytest.mark.llm_server

N = 3
_WORDS = re.compile(r"[A-Za-z]{3,}")


def _run(backend: object, tmp: Path, out: str = "r.jsonl") -> GenerationSummary:
    store = build_store(tmp / f"kg-{out}.db")
    try:
        return generate_rationales(
            make_admissions(N),
            retriever=GraphRetriever(store=store),
            backend=backend,
            out=tmp / out,
            config=GenerationConfig(
                cache_dir=tmp / "cache", k=4, concurrency=1, prompt="teacher_compact"
            ),
        )
    finally:
        store.close()


def _check(records: list[Rationale]) -> list[Rationale]:
    assert len(records) == N
    ok = [r for r in records if r.status == "ok"]
    for r in records:
        if r.status == "ok":
            assert {c.fact_id for c in r.cited_facts} <= set(r.evidence_ids)
        else:
            assert r.error
    return ok


def _non_trivial(text: str) -> bool:
    return len(text) > 20 and len(_WORDS.findall(text)) >= 3


def test_openai_backend_then_cache(
    local_teacher_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ctk")
    backend = OpenAIBackend({"base_url": local_teacher_url, "timeout_s": 120, "max_retries": 1})
    summary = _run(backend, tmp_path)
    assert negotiated_modes()[f"{local_teacher_url} {backend.model_name}"] == "json_object"
    # llama-cpp-python is recognised from /models: no request it must reject (HTTP 500)
    assert "rejected response_format" not in caplog.text
    assert summary.generated + summary.failed == N
    assert 0 < summary.completion_tokens < N * 2 * 384  # bounded answers, no run-away
    ok = _check(list(read_rationales(tmp_path / "r.jsonl")))
    assert any(_non_trivial(r.note_rationale) and r.cited_facts for r in ok)

    # (b) the same inputs again, into a new file: all from the cache, no backend call
    calls_before = backend.stats.calls
    again = _run(backend, tmp_path, out="r2.jsonl")
    assert again.cached == summary.generated and again.llm_calls == 0
    assert backend.stats.calls == calls_before
    cached = {r.admission_id: r for r in read_rationales(tmp_path / "r2.jsonl")}
    for r in ok:
        assert cached[r.admission_id].note_rationale == r.note_rationale


def test_langchain_backend(local_teacher_url: str, tmp_path: Path) -> None:
    pytest.importorskip("langchain_openai")
    from ctk.plugins.llm.langchain import LangChainBackend

    backend = LangChainBackend(
        {
            "base_url": local_teacher_url,
            "model": "smollm2",
            "api_key": "sk-local",
            "timeout_s": 120,
            "max_retries": 1,
            "structured_output": "json_object",
        }
    )
    summary = _run(backend, tmp_path)
    assert summary.llm_calls >= N and summary.completion_tokens > 0
    ok = _check(list(read_rationales(tmp_path / "r.jsonl")))
    assert ok, summary.failure_reasons
