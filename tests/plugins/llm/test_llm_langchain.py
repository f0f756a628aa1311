"""The ``langchain`` backend: a real LangChain ChatOpenAI pointed at the loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from rationale_fixtures import build_store, make_admissions

from ctk.errors import ConfigError, RetryableLLMError
from ctk.teacher.backend import ChatMessage, LLMRequest

pytest.importorskip("langchain_openai")

from ctk.plugins.llm.langchain import LangChainBackend
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.teacher import GenerationConfig, generate_rationales, read_rationales


@pytest.fixture()
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def backend(server: FakeOpenAIServer, **extra: object) -> LangChainBackend:
    opts: dict[str, object] = {
        "chat_model": "langchain_openai.ChatOpenAI",
        "base_url": server.base_url,
        "model": "lc-model",
        "api_key": "sk-test",
        "backoff_s": 0.01,
        "timeout_s": 2.0,
    }
    opts.update(extra)
    return LangChainBackend(opts)


def request() -> LLMRequest:
    return LLMRequest(
        messages=[
            ChatMessage(role="system", content="be brief"),
            ChatMessage(role="user", content="[E1] x [E2] y"),
        ],
        max_tokens=50,
    )


def test_chat_model_answers_with_usage(server: FakeOpenAIServer) -> None:
    b = backend(server)
    assert not b.is_remote and b.model_name == "lc-model"
    r = b.generate(request())
    assert b.generate(request()).text == r.text  # a second blocking call reuses the model
    assert '"fact_id": "E1"' in r.text
    assert r.prompt_tokens > 0 and r.completion_tokens > 0
    sent = server.requests[0]
    assert sent["model"] == "lc-model"
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]


def test_429_and_500_are_retried_by_ctk(server: FakeOpenAIServer) -> None:
    b = backend(server)
    server.script("429", "500")
    assert b.generate(request()).text
    assert server.behaviours == ["429", "500", "ok"]  # LangChain's own retries are off
    assert b.stats.retries == 2


def test_timeout_is_retryable_then_fails(server: FakeOpenAIServer) -> None:
    server.hang_s = 1.0
    b = backend(server, timeout_s=0.3, max_retries=1)
    server.script("hang", "hang")
    with pytest.raises(RetryableLLMError):
        b.generate(request())
    assert server.calls == 2


def test_generation_with_repair_through_langchain(server: FakeOpenAIServer, tmp_path: Path) -> None:
    store = build_store(tmp_path / "kg.db")
    server.script("invalid_json")
    b = backend(server)
    summary = generate_rationales(
        make_admissions(2),
        retriever=GraphRetriever(store=store),
        backend=b,
        out=tmp_path / "r.jsonl",
        config=GenerationConfig(concurrency=2),
    )
    # the same backend in a second run (a new event loop) still works
    again = generate_rationales(
        make_admissions(2),
        retriever=GraphRetriever(store=store),
        backend=b,
        out=tmp_path / "r2.jsonl",
        config=GenerationConfig(use_cache=False),
    )
    store.close()
    assert (summary.generated, summary.repaired, summary.failed) == (2, 1, 0)
    assert (again.generated, again.failed) == (2, 0)
    assert all(
        r.backend == "langchain" and r.cited_facts for r in read_rationales(tmp_path / "r.jsonl")
    )


def test_destination_and_bad_class() -> None:
    hosted = LangChainBackend(
        {"chat_model": "langchain_openai.ChatOpenAI", "model": "gpt-x", "api_key": "k"}
    )
    assert hosted.is_remote  # no base URL: the hosted API
    with pytest.raises(ConfigError, match="no class"):
        LangChainBackend({"chat_model": "langchain_openai.NoSuchChat"})
    with pytest.raises(ConfigError, match="cannot import") as info:
        LangChainBackend({"chat_model": "no_such_pkg_xyz.Chat"})
    assert info.value.hint == "pip install no-such-pkg-xyz"
