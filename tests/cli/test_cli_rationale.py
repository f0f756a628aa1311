"""``ctk rationale generate/check`` through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run
from openai_server import FakeOpenAIServer
from rationale_fixtures import build_store, make_admissions

from ctk.cohort import write_cohort


@pytest.fixture()
def cohort(tmp_path: Path) -> tuple[Path, Path]:
    build_store(tmp_path / "kg.db").close()
    write_cohort(tmp_path / "cohort", make_admissions(4), source="synthetic")
    return tmp_path / "cohort", tmp_path / "kg.db"


def test_generate_template_then_check(
    cohort: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, kg = cohort
    out = tmp_path / "r.jsonl"
    args = [
        "rationale",
        "generate",
        "--cohort",
        str(folder),
        "--store",
        str(kg),
        "--retriever",
        "graph",
        "--llm",
        "template",
        "--out",
        str(out),
    ]
    code, stdout, stderr = run(args, capsys)
    assert code == 0, stderr
    assert "4 generated" in stdout and "no language model" in stdout
    assert "rationales" in stderr and "failed" in stderr  # the progress bar
    code, stdout, _ = run(args, capsys)
    assert "4 already done" in stdout
    assert len(out.read_text().splitlines()) == 4
    report = tmp_path / "check.json"
    code, stdout, _ = run(
        ["rationale", "check", str(out), "--store", str(kg), "--out", str(report)], capsys
    )
    assert code == 0
    assert "citations found" in stdout and "4 checked" in stdout
    data = json.loads(report.read_text())
    assert data["citation_rate"] == 1.0 and len(data["admissions"]) == 4
    # --kg is the old name of --store: still taken for a release, with a warning
    code, stdout, stderr = run(["rationale", "check", str(out), "--kg", str(kg)], capsys)
    assert code == 0 and "4 checked" in stdout and "--kg is now --store" in stderr
    code, _, stderr = run(
        ["rationale", "check", str(out), "--kg", str(kg), "--store", str(tmp_path / "x.db")],
        capsys,
    )
    assert code == 2 and "two graphs" in stderr
    code, _, stderr = run(["rationale", "check", str(out)], capsys)
    assert code == 2 and "--store" in stderr


def test_generate_openai_with_bm25_and_key_from_env(
    cohort: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, kg = cohort
    monkeypatch.setenv("MY_TEACHER_KEY", "sk-cli-key")
    with FakeOpenAIServer(api_key="sk-cli-key") as srv:
        code, stdout, stderr = run(
            [
                "rationale",
                "generate",
                "--cohort",
                str(folder),
                "--store",
                str(kg),
                "--retriever",
                "bm25",
                "--index",
                str(tmp_path / "idx"),
                "--llm",
                "openai",
                "--base-url",
                srv.base_url,
                "--api-key-env",
                "MY_TEACHER_KEY",
                "--structured-output",
                "none",
                "--concurrency",
                "2",
                "--limit",
                "3",
                "--out",
                str(tmp_path / "r.jsonl"),
            ],
            capsys,
        )
        assert code == 0, stderr
        assert srv.calls == 3
        assert "response_format" not in srv.requests[0]
    assert "3 generated" in stdout and "3 backend calls" in stdout
    assert "sk-cli-key" not in stdout + stderr
    records = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert all(r["backend"] == "openai" and r["model"] == "fake-teacher" for r in records)
    assert all("#e" in c["fact_id"] for r in records for c in r["cited_facts"])


def test_remote_needs_allow_remote_and_warns(
    cohort: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, kg = cohort
    args = [
        "rationale",
        "generate",
        "--cohort",
        str(folder),
        "--store",
        str(kg),
        "--llm",
        "openai",
        "--base-url",
        "http://192.0.2.1:9/v1",
        "--model",
        "m",
        "--out",
        str(tmp_path / "r.jsonl"),
    ]
    code, _, stderr = run(args, capsys)
    assert code == 2
    assert "not this machine" in stderr and "--allow-remote" in stderr
    code, _, stderr = run(
        [
            *args,
            "--allow-remote",
            "--no-cache",
            "--limit",
            "1",
            "--llm-option",
            "max_retries=0",
            "--timeout",
            "0.5",
        ],
        capsys,
    )
    assert "data-use warning" in stderr


def test_generate_over_several_servers(
    cohort: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--base-url repeated and --endpoints FILE: the admissions are spread over every server."""
    folder, kg = cohort
    with (
        FakeOpenAIServer(latency_s=0.1) as a,
        FakeOpenAIServer(latency_s=0.1) as b,
        FakeOpenAIServer(latency_s=0.1) as c,
    ):
        endpoints = tmp_path / "endpoints.txt"
        endpoints.write_text(f"# a replica\n{c.base_url} 16\n")
        code, stdout, stderr = run(
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
                a.base_url,
                "--base-url",
                b.base_url,
                "--endpoints",
                str(endpoints),
                "--structured-output",
                "json_object",
                "--no-cache",
                "--out",
                str(tmp_path / "r.jsonl"),
            ],
            capsys,
        )
        assert code == 0, stderr
        assert a.answered + b.answered + c.answered == 4
        assert min(a.answered, b.answered, c.answered) >= 1  # concurrency: the pool's capacity
    assert "4 generated" in stdout
    code, _, stderr = run(
        [
            "rationale",
            "generate",
            "--cohort",
            str(folder),
            "--llm",
            "template",
            "--base-url",
            "http://127.0.0.1:1/v1",
            "--base-url",
            "http://127.0.0.1:2/v1",
            "--out",
            str(tmp_path / "t.jsonl"),
        ],
        capsys,
    )
    assert code == 2 and "--llm openai" in stderr
