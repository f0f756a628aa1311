"""A dead teacher server stops ``ctk rationale generate`` in seconds, recording nothing.

The server is a real closed loopback port (bound, then closed), so every
connection is refused by the kernel, as with a teacher that is not running.
"""

from __future__ import annotations

import inspect
import socket
import time
from pathlib import Path

import pytest
from cli_run import run
from rationale_fixtures import build_store, make_admissions

from ctk.cohort import write_cohort
from ctk.errors import LLMConnectionError, LLMUnavailableError
from ctk.plugins.llm.openai_compat import OpenAIBackend, OpenAIBackendOptions
from ctk.teacher.backend import ChatMessage, LLMRequest


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed on leaving the block: connections are refused


@pytest.fixture()
def cohort40(tmp_path: Path) -> tuple[Path, Path]:
    build_store(tmp_path / "kg.db").close()
    write_cohort(tmp_path / "cohort", make_admissions(40), source="synthetic")
    return tmp_path / "cohort", tmp_path / "kg.db"


@pytest.mark.parametrize("servers", [1, 2])
def test_a_closed_port_stops_40_admissions_within_15_s_and_records_nothing(
    cohort40: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], servers: int
) -> None:
    folder, kg = cohort40
    out = tmp_path / "r.jsonl"
    urls = [
        arg
        for _ in range(servers)
        for arg in ("--base-url", f"http://127.0.0.1:{_closed_port()}/v1")
    ]
    started = time.monotonic()
    code, _, stderr = run(
        [
            "rationale",
            "generate",
            "--cohort",
            str(folder),
            "--store",
            str(kg),
            "--llm",
            "openai",
            "--model",
            "m",
            *urls,
            "--out",
            str(out),
        ],
        capsys,
    )
    elapsed = time.monotonic() - started
    assert code == 2, stderr
    assert elapsed < 15, f"took {elapsed:.1f}s"
    assert "cannot connect" in stderr and "no admission was recorded" in stderr
    assert "ctk teacher serve" in stderr and "--base-url" in stderr
    lines = out.read_text().splitlines() if out.exists() else []
    assert lines == [], "nothing may be written for a dead server"


def test_without_model_the_probe_fails_at_once_and_says_what_to_do(
    cohort40: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, kg = cohort40
    started = time.monotonic()
    code, _, stderr = run(
        [
            "rationale",
            "generate",
            "--cohort",
            str(folder),
            "--store",
            str(kg),
            "--llm",
            "openai",
            "--base-url",
            f"http://127.0.0.1:{_closed_port()}/v1",
            "--out",
            str(tmp_path / "r.jsonl"),
        ],
        capsys,
    )
    assert code == 2, stderr
    assert time.monotonic() - started < 5
    assert "probe" in stderr and "--model NAME" in stderr and "ctk teacher serve" in stderr


def test_the_default_base_url_is_the_one_teacher_serve_listens_on() -> None:
    from ctk.cli.teacher import serve

    port = inspect.signature(serve).parameters["port"].default
    assert OpenAIBackendOptions().base_url == f"http://127.0.0.1:{port}/v1"


def test_a_short_outage_within_the_grace_time_is_retried_not_fatal() -> None:
    """Connection failures spanning less than ``unreachable_after_s`` are ordinary retries."""
    backend = OpenAIBackend(
        {
            "base_url": f"http://127.0.0.1:{_closed_port()}/v1",
            "model": "m",
            "max_retries": 2,
            "backoff_s": 0.01,
            "unreachable_after_s": 60.0,
        }
    )
    request = LLMRequest(messages=[ChatMessage(role="user", content="hi")])
    with pytest.raises(LLMConnectionError):
        backend.generate(request)
    fatal = OpenAIBackend(
        {
            "base_url": f"http://127.0.0.1:{_closed_port()}/v1",
            "model": "m",
            "max_retries": 6,
            "backoff_s": 0.01,
            "max_connect_failures": 3,
            "unreachable_after_s": 0.0,
        }
    )
    with pytest.raises(LLMUnavailableError, match="3 connection attempts in a row"):
        fatal.generate(request)
