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
            # the backends' plumbing is under test here; the gate has its own tests
            config=GenerationConfig(
                cache_dir=tmp / "cache", k=4, concurrency=1, prompt="teacher_compact", gate=False
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
            assert r.error or r.gate_reasons
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
    assert summary.generated + summary.failed + summary.rejected == N
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


def test_grounded_schema_holds_on_the_real_server(local_teacher_url: str, tmp_path: Path) -> None:
    """llama.cpp enforces the grounded schema: fact ids come only from each diagnosis's enum."""
    from ctk.teacher.gate import ConceptLexicon
    from ctk.teacher.grounded import parse_grounded_answer
    from ctk.teacher.inputs import build_request, build_teacher_input
    from ctk.teacher.prompts import load_prompt

    store = build_store(tmp_path / "kg.db")
    try:
        (admission,) = make_admissions(1)
        inp = build_teacher_input(admission, GraphRetriever(store=store), k=4)
        lexicon = ConceptLexicon(store)
        request = build_request(
            inp, load_prompt("teacher_grounded"), max_tokens=200, lexicon=lexicon
        )
        backend = OpenAIBackend({"base_url": local_teacher_url, "timeout_s": 600, "max_retries": 1})
        response = backend.generate(request)
        answer, cited = parse_grounded_answer(response.text, inp.evidence, lexicon)
    finally:
        store.close()
    support = request.json_schema["properties"]["support"]["properties"]  # type: ignore[index]
    assert isinstance(answer.support, dict) and set(answer.support) == set(support)
    for key, picked in answer.support.items():
        assert set(picked) <= set(support[key]["items"]["enum"]), (key, picked)
    assert cited and {c.fact_id for c in cited} <= {ev.id for ev in inp.evidence}
    assert answer.note_rationale.endswith(".") and answer.note_rationale[0].isupper()


def test_grounded_records_claim_only_graph_edges(local_teacher_url: str, tmp_path: Path) -> None:
    """The grounded prompt end to end on the real 135M model: every kept record's claimed
    concept pairs are graph edges (ctk drops the model's sentences that are not)."""
    from ctk.teacher import check_rationales

    store = build_store(tmp_path / "kg.db")
    try:
        summary = generate_rationales(
            make_admissions(N),
            retriever=GraphRetriever(store=store),
            backend=OpenAIBackend({"base_url": local_teacher_url, "timeout_s": 600}),
            out=tmp_path / "g.jsonl",
            store=store,
            config=GenerationConfig(
                k=4, concurrency=1, use_cache=False, prompt="teacher_grounded", max_tokens=600
            ),
        )
        records = list(read_rationales(tmp_path / "g.jsonl"))
        report = check_rationales(records, store)
    finally:
        store.close()
    ok = _check(records)
    assert ok, [r.gate_reasons for r in records]
    kept_or_dropped = summary.model_sentences_kept + sum(summary.model_sentences_dropped.values())
    assert kept_or_dropped > 0  # the model wrote sentences and each one was judged
    for r in ok:
        text = f"{r.note_rationale} {r.lab_rationale}"
        assert r.cited_facts and all(
            c.claim.rstrip(".").lower() in text.lower() for c in r.cited_facts
        )
        assert all(f.detail.startswith("dropped: ") for f in r.gate_reasons)
    assert report.pairs > 0 and report.supported_pairs == report.pairs, report.admissions
    assert not report.kept_issues  # no kept record cut off or with a repeated claim
