"""The teacher over several OpenAI-protocol servers: spreading, failover, cache and resume.

Every server is a real HTTP server on loopback (``openai_server.FakeOpenAIServer``);
the one that dies is killed for real: its listening socket closes and its open
connections are reset while requests are in flight on it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openai_server import FakeOpenAIServer
from rationale_fixtures import build_store, make_admissions

from ctk.errors import ConfigError, RetryableLLMError
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.plugins.llm.endpoint_pool import read_endpoints
from ctk.plugins.llm.openai_compat import OpenAIBackend
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.teacher import ChatMessage, GenerationConfig, LLMRequest, generate_rationales


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = build_store(tmp_path / "kg.db")
    yield s
    s.close()


def pool_backend(servers: list[FakeOpenAIServer], capacity: int = 4, **extra: Any) -> OpenAIBackend:
    opts: dict[str, Any] = {
        "endpoints": [{"base_url": s.base_url, "max_concurrency": capacity} for s in servers],
        "model": "m",
        "timeout_s": 5.0,
        "backoff_s": 0.01,
        "structured_output": "json_object",
        "cooldown_s": 0.2,
        "max_cooldown_s": 1.0,
    }
    opts.update(extra)
    return OpenAIBackend(opts)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def request() -> LLMRequest:
    return LLMRequest(messages=[ChatMessage(role="user", content="Evidence: [E1] [E2]")])


def test_requests_go_where_capacity_is_free() -> None:
    with (
        FakeOpenAIServer(latency_s=0.15) as small,
        FakeOpenAIServer(latency_s=0.15) as big,
    ):
        backend = OpenAIBackend(
            {
                "endpoints": [
                    {"base_url": small.base_url, "max_concurrency": 1},
                    {"base_url": big.base_url, "max_concurrency": 3},
                ],
                "model": "m",
                "structured_output": "json_object",
            }
        )
        assert backend.pool is not None and backend.pool.capacity == 4

        async def many() -> None:
            await asyncio.gather(*(backend.agenerate(request()) for _ in range(16)))
            await backend.arelease()

        t0 = time.perf_counter()
        asyncio.run(many())
        elapsed = time.perf_counter() - t0
    assert small.answered + big.answered == 16
    assert big.answered >= 2 * small.answered > 0  # 3 slots against 1
    assert elapsed < 16 * 0.15  # four at a time, not one (1 at a time: 2.4 s)
    assert backend.stats.calls == 16


def test_one_server_dies_mid_run_nothing_lost_nothing_twice(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    """Three servers; one answers three requests, takes more, then is killed with them in flight."""
    n = 30
    out = tmp_path / "r.jsonl"
    with (
        FakeOpenAIServer(latency_s=0.05) as a,
        FakeOpenAIServer(latency_s=0.05) as b,
        FakeOpenAIServer(latency_s=0.05, default="hang", hang_s=60) as dying,
    ):
        dying.script("ok", "ok", "ok")
        backend = pool_backend([a, b, dying], capacity=3)
        done: dict[str, Any] = {}

        def run() -> None:
            done["summary"] = generate_rationales(
                make_admissions(n),
                retriever=GraphRetriever(store=store),
                backend=backend,
                out=out,
                config=GenerationConfig(concurrency=9, use_cache=False),
            )

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 30
        while (dying.answered < 3 or dying.in_flight < 2) and time.monotonic() < deadline:
            time.sleep(0.01)
        in_flight_at_kill = dying.in_flight
        assert in_flight_at_kill >= 2, "the dying server never had requests in flight"
        dying.kill()
        worker.join(timeout=60)
        assert not worker.is_alive()
        summary = done["summary"]
        assert backend.pool is not None
        states = {s.base_url: s for s in backend.pool.states()}
    # nothing lost: every admission once, every one ok
    got = records(out)
    assert sorted(r["admission_id"] for r in got) == sorted(
        a.admission_id for a in make_admissions(n)
    )
    assert all(r["status"] == "ok" for r in got)
    assert summary.generated == n and summary.failed == 0
    # nothing generated twice: the answers delivered add up to the admissions exactly
    assert dying.answered == 3
    assert a.answered + b.answered + dying.answered == n
    assert states[dying.base_url].failures >= in_flight_at_kill
    assert states[dying.base_url].consecutive_failures >= 1  # still out
    assert states[a.base_url].consecutive_failures == 0 == states[b.base_url].consecutive_failures

    # resume: a re-run finds everything done and calls no server
    with FakeOpenAIServer() as c, FakeOpenAIServer() as d:
        again = generate_rationales(
            make_admissions(n),
            retriever=GraphRetriever(store=store),
            backend=pool_backend([c, d]),
            out=out,
        )
        assert again.skipped_existing == n and c.calls + d.calls == 0


def test_the_cache_is_shared_with_a_single_server_run(store: EmbeddedStore, tmp_path: Path) -> None:
    """The cache key holds backend and model, not the server: a pool reuses a one-server cache."""
    cache = tmp_path / "cache"
    with FakeOpenAIServer() as one:
        first = generate_rationales(
            make_admissions(6),
            retriever=GraphRetriever(store=store),
            backend=OpenAIBackend(
                {"base_url": one.base_url, "model": "m", "structured_output": "json_object"}
            ),
            out=tmp_path / "one.jsonl",
            config=GenerationConfig(cache_dir=cache),
        )
    assert first.generated + first.cached == 6 and first.generated > 0
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        second = generate_rationales(
            make_admissions(6),
            retriever=GraphRetriever(store=store),
            backend=pool_backend([a, b]),
            out=tmp_path / "pool.jsonl",
            config=GenerationConfig(cache_dir=cache),
        )
        assert a.calls + b.calls == 0
    assert second.cached == 6


def test_a_stalled_server_is_taken_out_and_taken_back() -> None:
    """Requests that time out on a stalled server go elsewhere; after its cool-down it serves."""
    with (
        FakeOpenAIServer(latency_s=0.05, hang_s=3) as stalls,
        FakeOpenAIServer(latency_s=0.05) as fine,
    ):
        stalls.script("hang", "hang")
        backend = pool_backend([stalls, fine], capacity=2, timeout_s=0.5, cooldown_s=0.3)

        async def batches() -> None:
            for _ in range(6):
                await asyncio.gather(*(backend.agenerate(request()) for _ in range(4)))
                await asyncio.sleep(0.1)
            await backend.arelease()

        asyncio.run(batches())
        assert backend.pool is not None
        state = backend.pool.states()[0]
    assert stalls.answered + fine.answered == 24
    assert state.failures >= 1  # the two hung requests timed out
    assert backend.stats.retries >= 2  # and were sent again
    assert stalls.answered > 0 and state.consecutive_failures == 0  # back in the pool


def test_every_server_down_fails_the_request_instead_of_hanging() -> None:
    servers = [FakeOpenAIServer().start(), FakeOpenAIServer().start()]
    backend = pool_backend(servers, cooldown_s=0.05, max_cooldown_s=0.1, max_retries=1)
    for s in servers:
        s.kill()
    t0 = time.perf_counter()
    with pytest.raises(RetryableLLMError, match="failed on every try"):
        backend.generate(request())
    assert time.perf_counter() - t0 < 10


def test_model_is_discovered_from_a_live_server() -> None:
    dead = FakeOpenAIServer().start()
    dead.kill()
    with FakeOpenAIServer(model="served-model") as live:
        backend = OpenAIBackend(
            {
                "endpoints": [{"base_url": dead.base_url}, {"base_url": live.base_url}],
                "structured_output": "json_object",
                "max_retries": 0,
                "cooldown_s": 0.05,
            }
        )
        response = backend.generate(request())
    assert backend.model_name == "served-model" and response.model == "served-model"
    assert all(c.model_name == "served-model" for c in backend.pool.clients)  # type: ignore[union-attr]


def test_endpoints_file(tmp_path: Path) -> None:
    f = tmp_path / "endpoints.txt"
    f.write_text(
        "# replicas\nhttp://127.0.0.1:8001/v1 8\n\nhttp://127.0.0.1:8002/v1  # default capacity\n"
    )
    specs = read_endpoints(f)
    assert [(s.base_url, s.max_concurrency) for s in specs] == [
        ("http://127.0.0.1:8001/v1", 8),
        ("http://127.0.0.1:8002/v1", None),
    ]
    f.write_text("http://x/v1 eight\n")
    with pytest.raises(ConfigError, match=":1:"):
        read_endpoints(f)
    f.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="no endpoint"):
        read_endpoints(f)
    with pytest.raises(ConfigError, match="twice"):
        OpenAIBackend({"endpoints": [{"base_url": "http://a/v1"}, {"base_url": "http://a/v1"}]})
    with pytest.raises(ConfigError, match="http://"):
        OpenAIBackend({"endpoints": [{"base_url": "http://a/v1"}, {"base_url": "ftp://b"}]})
    remote = OpenAIBackend(
        {"endpoints": [{"base_url": "http://127.0.0.1:1/v1"}, {"base_url": "http://10.1.1.1/v1"}]}
    )
    assert remote.is_remote  # one remote server is enough for the data policy
