"""``ctk rationale generate/check`` through the real CLI entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from cli_run import run
from openai_server import FakeOpenAIServer
from rationale_fixtures import build_store, make_admissions

from ctk.cohort import write_cohort
from ctk.registry import RETRIEVERS
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever


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
    assert "citations found" in stdout and "4 ok" in stdout
    data = json.loads(report.read_text())
    assert data["citation_rate"] == 1.0 and len(data["admissions"]) == 4
    # --kg is the old name of --store: still taken for a release, with a warning
    code, stdout, stderr = run(["rationale", "check", str(out), "--kg", str(kg)], capsys)
    assert code == 0 and "4 ok" in stdout and "--kg is now --store" in stderr
    code, _, stderr = run(
        ["rationale", "check", str(out), "--kg", str(kg), "--store", str(tmp_path / "x.db")],
        capsys,
    )
    assert code == 2 and "two graphs" in stderr
    code, _, stderr = run(["rationale", "check", str(out)], capsys)
    assert code == 2 and "--store" in stderr
    # machine-readable and Markdown reports; a floor on the supported share
    check = ["rationale", "check", str(out), "--store", str(kg)]
    code, stdout, _ = run([*check, "--format", "json"], capsys)
    assert code == 0 and json.loads(stdout)["checked"] == 4
    code, stdout, _ = run([*check, "--format", "markdown", "--min-support", "0.5"], capsys)
    assert code == 0 and "| admission | status |" in stdout and "| records | reason |" in stdout
    code, _, stderr = run([*check, "--min-support", "1.0"], capsys)
    share = data["support_rate"]
    assert (code == 1 and "below --min-support" in stderr) if share < 1.0 else code == 0
    code, _, stderr = run([*check, "--format", "yaml"], capsys)
    assert code == 2 and "--format" in stderr


def test_check_refuses_a_folder_and_an_empty_file(
    cohort: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, kg = cohort
    code, _, stderr = run(["rationale", "check", str(tmp_path), "--store", str(kg)], capsys)
    assert code == 2 and "is a folder" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) <= 2  # the error and its hint
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, _, stderr = run(["rationale", "check", str(empty), "--store", str(kg)], capsys)
    assert code == 1 and "holds no rationale" in stderr
    args = ["rationale", "check", str(empty), "--store", str(kg), "--allow-empty"]
    assert run(args, capsys)[0] == 0


def test_check_counts_rejected_records_by_reason(
    cohort: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, kg = cohort
    path = tmp_path / "r.jsonl"
    rows = [
        {
            "admission_id": "a1",
            "status": "rejected",
            "gate_reasons": [
                {"reason": "truncated", "detail": "cut"},
                {"reason": "claim_off_fact", "detail": "off", "fact_id": "x"},
            ],
        },
        {"admission_id": "a2", "status": "ok", "note_rationale": "Dyspnea points to CHF and"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, stdout, _ = run(
        ["rationale", "check", str(path), "--store", str(kg), "--format", "json"], capsys
    )
    data = json.loads(stdout)
    assert code == 0 and data["rejected"] == 1 and data["checked"] == 1
    assert data["rejected_reasons"] == {"truncated": 1, "claim_off_fact": 1}
    assert data["kept_issues"] == {"truncated": 1}
    code, stdout, _ = run(["rationale", "check", str(path), "--store", str(kg)], capsys)
    assert "quality gate: records by reason" in stdout and "claim_off_fact" in stdout


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


# --------------------------------------------------------------------------- plugin failures,
# partial runs and provenance


class _Exploding(Retriever):
    """Its constructor raises: the CLI must name it in one line and exit 2."""

    name: ClassVar[str] = "exploding"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        raise RuntimeError("index folder is locked")

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        return []


class _Flaky(Retriever):
    """Fails on every other admission."""

    name: ClassVar[str] = "flaky"

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        if int(query.admission_id[-1]) % 2:
            raise RuntimeError("backend index unavailable")
        return [
            EvidenceRecord(
                id="ctk:dyspnea|symptom_of|ctk:heart_failure",
                text="Dyspnea is a symptom of heart failure.",
                score=1,
            )
        ]


@pytest.fixture()
def registered() -> Iterator[None]:
    RETRIEVERS.register("exploding", _Exploding)
    RETRIEVERS.register("flaky", _Flaky)
    try:
        yield
    finally:
        RETRIEVERS.unregister("exploding")
        RETRIEVERS.unregister("flaky")


def _generate(folder: Path, kg: Path, out: Path, *extra: str) -> list[str]:
    return [
        "rationale",
        "generate",
        "--cohort",
        str(folder),
        "--store",
        str(kg),
        "--out",
        str(out),
        "--no-cache",
        *extra,
    ]


def test_a_retriever_whose_constructor_raises_is_one_line_exit_2(
    registered: None,
    cohort: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, kg = cohort
    out = tmp_path / "r.jsonl"
    code, _, stderr = run(_generate(folder, kg, out, "--retriever", "exploding"), capsys)
    assert code == 2
    first = stderr.strip().splitlines()[0]
    assert "retriever 'exploding'" in first and "RuntimeError: index folder is locked" in first
    assert "Traceback" not in stderr
    assert not out.exists()


def test_partial_failure_exits_1_and_says_how_to_retry(
    registered: None,
    cohort: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, kg = cohort
    out = tmp_path / "r.jsonl"
    code, stdout, stderr = run(_generate(folder, kg, out, "--retriever", "flaky"), capsys)
    assert code == 1
    assert "2 failed" in stdout and "RetrievalError" in stdout
    assert "2 admission(s) failed" in stderr and "--retry-failed" in stderr
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert sorted(r["status"] for r in records) == ["failed", "failed", "ok", "ok"]
    # a resumed run keeps reporting the failures still in the file
    code, _, stderr = run(_generate(folder, kg, out, "--retriever", "flaky"), capsys)
    assert code == 1 and "2 from earlier runs" in stderr
    code, _, _ = run(_generate(folder, kg, out, "--retriever", "flaky", "--allow-partial"), capsys)
    assert code == 0


def test_records_carry_provenance_and_a_resume_with_another_retriever_is_refused(
    cohort: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, kg = cohort
    out = tmp_path / "r.jsonl"
    first = _generate(folder, kg, out, "--limit", "2", "--retriever-option", "per_concept=5")
    code, _, stderr = run(first, capsys)
    assert code == 0, stderr
    records = [json.loads(x) for x in out.read_text().splitlines()]
    for r in records:
        assert r["schema_version"] == 3
        assert r["retriever"]["name"] == "graph"
        assert r["retriever"]["distribution"] == "clinragen-toolkit"
        assert r["retriever"]["version"] == RETRIEVERS.describe("graph").version
        assert r["retriever"]["options"]["per_concept"] == 5
        assert r["llm"]["name"] == "template" and r["llm"]["options"] == {"max_citations": 4}
    before = out.read_bytes()

    code, _, stderr = run(_generate(folder, kg, out, "--retriever", "bm25"), capsys)
    assert code == 2
    assert "made with retriever 'graph'" in stderr and "this run uses 'bm25'" in stderr
    assert "--allow-mixed" in stderr
    assert out.read_bytes() == before  # nothing written, nothing lost

    code, _, stderr = run(_generate(folder, kg, out), capsys)  # other options: refused too
    assert code == 2 and '"per_concept": 10' in stderr

    code, _, stderr = run(
        [
            *_generate(folder, kg, out, "--retriever", "bm25", "--index", str(tmp_path / "idx")),
            "--allow-mixed",
        ],
        capsys,
    )
    assert code == 0, stderr
    flat = " ".join(stderr.split())  # rich wraps long lines
    assert "note: appended as allowed" in flat and "made with retriever 'graph'" in flat
    assert "warning:" not in stderr  # asked for: a note, printed once
    names = [json.loads(x)["retriever"]["name"] for x in out.read_text().splitlines()]
    assert names == ["graph", "graph", "bm25", "bm25"]


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
