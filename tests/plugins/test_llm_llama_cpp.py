"""The ``openai`` backend against the real llama.cpp server (SmolLM2-135M): negotiation
falls back from ``json_schema`` (HTTP 500 there) to ``json_object`` + schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from rationale_fixtures import build_store, make_admissions

from ctk.plugins.llm.openai_compat import OpenAIBackend, negotiated_modes
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.rationales import generate_rationales, read_rationales

pytestmark = [pytest.mark.llm_server, pytest.mark.slow]


def test_generation_negotiates_json_object(local_teacher_url: str, tmp_path: Path) -> None:
    store = build_store(tmp_path / "kg.db")
    backend = OpenAIBackend(
        {
            "base_url": local_teacher_url,
            "structured_output": "auto",
            "timeout_s": 120,
            "max_retries": 1,
        }
    )
    summary = generate_rationales(
        make_admissions(2),
        retriever=GraphRetriever(store=store),
        backend=backend,
        out=tmp_path / "r.jsonl",
        k=4,
        max_tokens=200,
        concurrency=1,
    )
    store.close()
    assert backend.model_name is not None  # discovered through GET /v1/models
    assert negotiated_modes()[f"{local_teacher_url} {backend.model_name}"] == "json_object"
    assert summary.generated + summary.failed == 2
    assert summary.completion_tokens > 0
    for r in read_rationales(tmp_path / "r.jsonl"):
        # a 135M model may cite badly: then the record says why, and the run goes on
        if r.status == "ok":
            assert r.note_rationale
            assert {c.fact_id for c in r.cited_facts} <= set(r.evidence_ids)
        else:
            assert r.error
