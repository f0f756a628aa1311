"""``ctk kg build --extractor llm``: concepts from a real OpenAI-compatible HTTP server, cached."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_run import run
from openai_server import FakeOpenAIServer

from ctk.kg.stores.embedded import EmbeddedStore


def _corpus(tmp_path: Path) -> Path:
    path = tmp_path / "abstracts.txt"
    path.write_text(
        "Heart failure presents with dyspnea. Furosemide relieves the dyspnea.\n", encoding="utf-8"
    )
    return path


def test_llm_extractor_from_the_cli_is_cached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    with FakeOpenAIServer(default="concepts") as srv:
        srv.concepts = {"heart failure": "disease", "dyspnea": "symptom", "furosemide": "drug"}
        argv = [
            "kg",
            "build",
            "--source",
            f"text:{corpus}",
            "--extractor",
            "llm",
            "--llm",
            "openai",
            "--base-url",
            srv.base_url,
            "--model",
            "fake",
            "--llm-option",
            "structured_output=none",
            "--store",
        ]
        code, _, err = run([*argv, str(tmp_path / "a.db")], capsys)
        assert code == 0, err
        calls = srv.calls
        assert calls == 2  # one per sentence
        with EmbeddedStore(tmp_path / "a.db", read_only=True) as store:
            ids = {c.id for c in store.iter_concepts()}
            assert {"ctk:congestive_heart_failure", "ctk:dyspnea", "ctk:furosemide"} <= ids
            assert store.stats().relations > 0
        # a second build, into another store with the same cache: no model call
        cache = tmp_path / "a.db.llm-cache"
        assert any(cache.rglob("*.txt"))
        code, _, err = run([*argv, str(tmp_path / "b.db"), "--llm-cache", str(cache)], capsys)
        assert code == 0, err
        assert srv.calls == calls
        with EmbeddedStore(tmp_path / "b.db", read_only=True) as store:
            assert {c.id for c in store.iter_concepts()} == ids


def test_llm_extractor_needs_a_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _corpus(tmp_path)
    argv = ["kg", "build", "--source", f"text:{corpus}", "--store", str(tmp_path / "k.db")]
    code, _, err = run([*argv, "--extractor", "llm"], capsys)
    assert code == 2 and "--llm openai" in err
    code, _, err = run([*argv, "--llm", "openai"], capsys)
    assert code == 2 and "--extractor llm" in err


def test_text_to_a_remote_backend_needs_allow_remote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    argv = [
        "kg",
        "build",
        "--source",
        f"text:{corpus}",
        "--store",
        str(tmp_path / "k.db"),
        "--extractor",
        "llm",
        "--llm",
        "openai",
        "--base-url",
        "https://api.example.org/v1",
        "--model",
        "m",
    ]
    code, _, err = run(argv, capsys)
    assert code == 2 and "allow-remote" in err
    assert not (tmp_path / "k.db").exists()  # refused before the store was opened


def test_llm_extractor_spreads_its_prompts_over_the_endpoints_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--endpoints FILE, as in `ctk rationale generate`: each server of the file is asked."""
    corpus = tmp_path / "abstracts.txt"
    corpus.write_text(
        "".join(f"Heart failure presents with dyspnea number {i}.\n" for i in range(8)),
        encoding="utf-8",
    )
    concepts = {"heart failure": "disease", "dyspnea": "symptom"}
    with FakeOpenAIServer(default="concepts") as a, FakeOpenAIServer(default="concepts") as b:
        a.concepts = b.concepts = concepts
        endpoints = tmp_path / "endpoints.txt"
        endpoints.write_text(f"# two servers of one model\n{a.base_url} 1\n{b.base_url} 1\n")
        argv = ["kg", "build", "--source", f"text:{corpus}", "--extractor", "llm"]
        argv += ["--llm", "openai", "--model", "fake", "--endpoints", str(endpoints)]
        argv += ["--llm-option", "structured_output=none", "--store", str(tmp_path / "k.db")]
        code, _, err = run(argv, capsys)
        assert code == 0, err
        assert a.calls + b.calls == 8  # one prompt per sentence, none lost
        assert a.calls > 0 and b.calls > 0
    with EmbeddedStore(tmp_path / "k.db", read_only=True) as store:
        assert "ctk:dyspnea" in {c.id for c in store.iter_concepts()}
