"""The ``openai`` backend against a real HTTP server on loopback (no patched HTTP)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest
from openai_server import FakeOpenAIServer

from ctk.errors import DataPolicyError, LLMError, LLMResponseError, RetryableLLMError
from ctk.plugins.llm.openai_compat import OpenAIBackend, negotiated_modes
from ctk.teacher.backend import ChatMessage, LLMRequest, check_data_policy, is_loopback_url

SCHEMA = {"type": "object", "properties": {"note_rationale": {"type": "string"}}}


def request(schema: bool = True) -> LLMRequest:
    return LLMRequest(
        messages=[ChatMessage(role="user", content="Evidence: [E1] a [E2] b")],
        json_schema=SCHEMA if schema else None,
        max_tokens=64,
    )


@pytest.fixture()
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def backend(server: FakeOpenAIServer, **options: object) -> OpenAIBackend:
    opts: dict[str, object] = {
        "base_url": server.base_url,
        "backoff_s": 0.01,
        "timeout_s": 2.0,
        "structured_output": "json_object",
    }
    opts.update(options)
    return OpenAIBackend(opts)


def test_answer_usage_and_model_discovery(server: FakeOpenAIServer) -> None:
    b = backend(server)
    r = b.generate(request())
    assert '"fact_id": "E1"' in r.text
    assert r.model == "fake-teacher"  # found through GET /v1/models
    assert r.prompt_tokens > 0 and r.completion_tokens > 0
    assert b.stats.calls == 1 and b.stats.prompt_tokens == r.prompt_tokens
    sent = server.requests[0]
    assert sent["response_format"] == {"type": "json_object", "schema": SCHEMA}
    assert sent["max_tokens"] == 64


@pytest.mark.parametrize("fault", ["429", "500", "hang"])
def test_transient_faults_are_retried(server: FakeOpenAIServer, fault: str) -> None:
    server.hang_s = 1.5
    b = backend(server, timeout_s=0.5)
    server.script(fault, fault)
    r = b.generate(request())
    assert server.behaviours == [fault, fault, "ok"]
    assert b.stats.retries == 2
    assert "note_rationale" in r.text


def test_retries_exhausted_raise_retryable(server: FakeOpenAIServer) -> None:
    b = backend(server, max_retries=2)
    server.script("500", "500", "500", "500")
    with pytest.raises(RetryableLLMError, match="HTTP 500"):
        b.generate(request())
    assert server.calls == 3
    assert b.stats.failures == 1


def test_connection_refused_is_retryable() -> None:
    with FakeOpenAIServer() as srv:
        url = srv.base_url
    b = OpenAIBackend({"base_url": url, "model": "m", "max_retries": 1, "backoff_s": 0.01})
    with pytest.raises(RetryableLLMError, match="cannot reach"):
        b.generate(request())
    assert b.stats.retries == 1


def test_body_not_json_is_a_response_error(server: FakeOpenAIServer) -> None:
    server.script("bad_body")
    with pytest.raises(LLMResponseError, match="not JSON"):
        backend(server, model="m").generate(request())


def test_client_errors_are_not_retried(server: FakeOpenAIServer) -> None:
    b = OpenAIBackend(
        {"base_url": server.base_url.replace("/v1", "/nope"), "model": "m", "backoff_s": 0.01}
    )
    with pytest.raises(LLMError, match="HTTP 404") as info:
        b.generate(request(schema=False))
    assert not isinstance(info.value, RetryableLLMError)
    assert server.calls == 0  # the fake server counts only /v1/chat/completions


def test_api_key_is_sent_and_401_hints_at_it() -> None:
    with FakeOpenAIServer(api_key="sk-right") as srv:
        ok = OpenAIBackend({"base_url": srv.base_url, "model": "m", "api_key": "sk-right"})
        assert ok.generate(request(schema=False)).text
        bad = OpenAIBackend({"base_url": srv.base_url, "model": "m", "api_key": "sk-wrong"})
        with pytest.raises(LLMError, match="HTTP 401") as info:
            bad.generate(request(schema=False))
        assert info.value.hint is not None and "API key" in info.value.hint
        assert "sk-wrong" not in str(info.value)


def test_auto_negotiation_falls_back_like_llama_cpp(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeOpenAIServer(reject_json_schema=True) as srv:
        b = OpenAIBackend(
            {
                "base_url": srv.base_url,
                "model": "m",
                "backoff_s": 0.01,
                "structured_output": "auto",
                "api_key": "sk-secret-123",
            }
        )
        b.generate(request())
        formats = [(r.get("response_format") or {}).get("type") for r in srv.requests]
        # the 500's body names response_format: no second try of the same form
        assert formats == ["json_schema", "json_object"]
        assert negotiated_modes()[f"{srv.base_url} m"] == "json_object"
        b.generate(request())  # remembered: straight to json_object
        assert (srv.requests[-1]["response_format"] or {})["type"] == "json_object"
        assert srv.calls == 3
    assert "sk-secret-123" not in caplog.text
    assert "sk-secret-123" not in repr(b.options)


def test_concurrency_runs_requests_in_parallel() -> None:
    with FakeOpenAIServer(latency_s=0.2) as srv:
        b = OpenAIBackend({"base_url": srv.base_url, "model": "m", "max_concurrency": 8})

        async def many() -> float:
            t0 = time.perf_counter()
            await asyncio.gather(*(b.agenerate(request()) for _ in range(8)))
            await b.aclose()
            return time.perf_counter() - t0

        elapsed = asyncio.run(many())
        assert srv.calls == 8
        assert elapsed < 0.2 * 8 * 0.5  # parallel, not sequential


def test_data_policy_loopback_and_remote() -> None:
    assert is_loopback_url("http://127.0.0.1:8000/v1")
    assert is_loopback_url("http://localhost:11434")
    assert is_loopback_url("http://[::1]:8000/v1")
    assert not is_loopback_url("https://api.openai.com/v1")
    remote = OpenAIBackend({"base_url": "https://api.example.com/v1", "model": "m"})
    assert remote.is_remote
    with pytest.raises(DataPolicyError, match=r"api\.example\.com"):
        check_data_policy(remote, allow_remote=False)
    check_data_policy(remote, allow_remote=True)  # consent given: no error


def test_retry_after_header_forms() -> None:
    from ctk.plugins.llm.openai_compat import _retry_after

    assert _retry_after("2") == 2.0
    assert _retry_after(None) is None
    assert _retry_after("soon") is None  # malformed: no hint, never a crash
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
