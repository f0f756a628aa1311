"""Rationale generation end to end: template and openai backends, resume, cache, repair."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from rationale_fixtures import HF, build_store, make_admissions

from ctk.errors import ConfigError, DataPolicyError
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.plugins.llm.openai_compat import OpenAIBackend
from ctk.plugins.llm.template import TEMPLATE_LABEL, TemplateBackend
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.records import Rationale
from ctk.teacher import (
    GenerationConfig,
    RationaleWriter,
    generate_rationales,
    read_rationales,
)
from ctk.teacher.answer import parse_answer
from ctk.teacher.prompts import PromptTemplate, load_prompt

TESTS = Path(__file__).resolve().parents[2]


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = build_store(tmp_path / "kg.db")
    yield s
    s.close()


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def openai(server: FakeOpenAIServer, **extra: object) -> OpenAIBackend:
    opts: dict[str, object] = {
        "base_url": server.base_url,
        "model": "m",
        "backoff_s": 0.01,
        "timeout_s": 5.0,
        "structured_output": "json_object",
    }
    opts.update(extra)
    return OpenAIBackend(opts)


def test_template_rationales_are_grounded_and_labelled(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    summary = generate_rationales(
        make_admissions(3),
        retriever=GraphRetriever(store=store),
        backend=TemplateBackend(),
        out=out,
    )
    assert (summary.generated, summary.failed, summary.llm_calls) == (3, 0, 3)
    records = list(read_rationales(out))
    first = records[0]
    assert first.status == "ok" and first.backend == "template"
    assert first.model == "ctk-template-v1"
    assert first.note_rationale.startswith(TEMPLATE_LABEL)
    assert first.diagnoses == [HF]
    assert any("Heart rate is higher" in c for c in first.anomaly_captions)
    cited = [c.fact_id for c in first.cited_facts]
    assert cited and set(cited) <= set(first.evidence_ids)
    assert "ctk:dyspnea|symptom_of|ctk:heart_failure" in cited  # note concept -> diagnosis
    assert first.prompt_version == "teacher@1" and len(first.input_hash) == 64


def test_cached_rerun_makes_no_calls(store: EmbeddedStore, tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        kwargs = {
            "retriever": GraphRetriever(store=store),
            "backend": openai(srv, model=None),  # the model is discovered from /v1/models
            "config": GenerationConfig(cache_dir=tmp_path / "cache", concurrency=4),
        }
        first = generate_rationales(make_admissions(6), out=tmp_path / "a.jsonl", **kwargs)
        assert first.generated == 6 and srv.calls == 6
        fresh = openai(srv, model=None)  # a new process: the model is not known yet
        second = generate_rationales(
            make_admissions(6), out=tmp_path / "b.jsonl", **{**kwargs, "backend": fresh}
        )
        assert (second.cached, second.generated, second.llm_calls) == (6, 0, 0)
        assert srv.calls == 6
        a = {r.admission_id: r.note_rationale for r in read_rationales(tmp_path / "a.jsonl")}
        b = {r.admission_id: r.note_rationale for r in read_rationales(tmp_path / "b.jsonl")}
        assert a == b
        # a different model is a different input: no cache hit
        third = generate_rationales(
            make_admissions(1),
            out=tmp_path / "c.jsonl",
            **{**kwargs, "backend": openai(srv, model="other")},
        )
        assert third.cached == 0 and third.generated == 1


def test_resume_skips_done_and_repairs_a_torn_last_line(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    retriever = GraphRetriever(store=store)
    generate_rationales(
        make_admissions(3),
        retriever=retriever,
        backend=TemplateBackend(),
        out=out,
        config=GenerationConfig(use_cache=False),
    )
    with out.open("ab") as fh:  # a kill in the middle of a write
        fh.write(b'{"schema_version":1,"admission_id":"adm003","sta')
    summary = generate_rationales(
        make_admissions(5),
        retriever=retriever,
        backend=TemplateBackend(),
        out=out,
        config=GenerationConfig(use_cache=False),
    )
    assert (summary.skipped_existing, summary.generated) == (3, 2)
    ids = [r["admission_id"] for r in lines(out)]
    assert sorted(ids) == [f"adm{i:03d}" for i in range(5)]


def test_invalid_output_gets_one_repair_then_is_rejected_with_reason(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    with FakeOpenAIServer() as srv:
        # adm000: invalid then ok (repaired); adm001: invalid twice (rejected);
        # adm002: cites evidence it was not given, twice (rejected)
        srv.script("invalid_json", "ok", "invalid_json", "invalid_json", "bad_cite", "bad_cite")
        summary = generate_rationales(
            make_admissions(3),
            retriever=GraphRetriever(store=store),
            backend=openai(srv),
            out=out,
            config=GenerationConfig(concurrency=1),
        )
        assert srv.calls == 6
        # the repair turn shows the model its answer and the reason
        repair = srv.requests[1]["messages"]
        assert repair[-2]["role"] == "assistant" and "not json" in repair[-2]["content"]
        assert "could not be used" in repair[-1]["content"]
    assert (summary.generated, summary.rejected, summary.failed, summary.repaired) == (1, 2, 0, 1)
    by_id = {r.admission_id: r for r in read_rationales(out)}
    assert by_id["adm000"].status == "ok" and by_id["adm000"].repaired
    assert by_id["adm000"].usage["calls"] == 2
    assert by_id["adm001"].status == "rejected" and by_id["adm001"].repaired
    assert [f.reason for f in by_id["adm001"].gate_reasons] == ["not_json"]
    assert by_id["adm002"].status == "rejected"
    assert [f.reason for f in by_id["adm002"].gate_reasons] == ["unknown_fact"]
    assert "E999" in by_id["adm002"].gate_reasons[0].detail
    assert summary.gate_reasons == {"not_json": 1, "unknown_fact": 1}
    assert summary.failure_reasons == {}


def test_retry_failed_regenerates_only_failures(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    with FakeOpenAIServer() as srv:
        b = openai(srv, max_retries=0)
        srv.script("500")
        first = generate_rationales(
            make_admissions(3),
            retriever=GraphRetriever(store=store),
            backend=b,
            out=out,
            config=GenerationConfig(concurrency=1),
        )
        assert first.failed == 1
        again = generate_rationales(
            make_admissions(3),
            retriever=GraphRetriever(store=store),
            backend=b,
            out=out,
            config=GenerationConfig(retry_failed=True),
        )
        assert (again.skipped_existing, again.generated) == (2, 1)
    records = list(read_rationales(out))
    assert len(records) == 3 and all(r.status == "ok" for r in records)


def test_remote_backend_needs_consent(store: EmbeddedStore, tmp_path: Path) -> None:
    remote = OpenAIBackend({"base_url": "https://teacher.example.org/v1", "model": "m"})
    with pytest.raises(DataPolicyError):
        generate_rationales(
            make_admissions(1),
            retriever=GraphRetriever(store=store),
            backend=remote,
            out=tmp_path / "r.jsonl",
        )
    assert not (tmp_path / "r.jsonl").exists()


def test_concurrency_gives_throughput(store: EmbeddedStore, tmp_path: Path) -> None:
    latency = 0.2
    with FakeOpenAIServer(latency_s=latency) as srv:
        t0 = time.perf_counter()
        summary = generate_rationales(
            make_admissions(16),
            retriever=GraphRetriever(store=store),
            backend=openai(srv),
            out=tmp_path / "r.jsonl",
            config=GenerationConfig(concurrency=8, use_cache=False),
        )
        elapsed = time.perf_counter() - t0
    assert summary.generated == 16
    assert elapsed < 16 * latency / 2  # sequential: 3.2 s; 8 at a time: about 0.4 s


def test_kill_9_loses_and_duplicates_nothing(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    n = 40
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from rationale_fixtures import make_admissions
        from ctk.kg.stores.embedded import EmbeddedStore
        from ctk.plugins.llm.openai_compat import OpenAIBackend
        from ctk.plugins.retrievers.graph import GraphRetriever
        from ctk.teacher import GenerationConfig, generate_rationales
        store = EmbeddedStore({str(tmp_path / "kg.db")!r}, read_only=True)
        generate_rationales(make_admissions({n}), retriever=GraphRetriever(store=store),
            backend=OpenAIBackend({{"base_url": sys.argv[1], "model": "m",
                                    "structured_output": "json_object"}}),
            out={str(out)!r}, config=GenerationConfig(concurrency=4))
    """)
    with FakeOpenAIServer(latency_s=0.1) as srv:
        proc = subprocess.Popen([sys.executable, "-c", script, srv.base_url])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if out.exists() and len(out.read_bytes().splitlines()) >= 8:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        written = len(lines(out)) if out.exists() else 0
        assert 0 < written < n, "the run should have been killed part way"
        summary = generate_rationales(
            make_admissions(n),
            retriever=GraphRetriever(store=store),
            backend=openai(srv),
            out=out,
            config=GenerationConfig(concurrency=4),
        )
    ids = [r["admission_id"] for r in lines(out)]
    assert len(ids) == len(set(ids)) == n
    assert summary.skipped_existing + summary.generated + summary.cached == n


def test_parse_answer_accepts_fences_and_real_ids() -> None:
    aliases = {"E1": "a|causes|b", "E2": "a|causes|b#e0"}
    text = (
        '```json\n{"note_rationale": "x", "cited_facts": [{"fact_id": "[E1]"}, '
        '{"fact_id": "a|causes|b#e0"}]}\n```'
    )
    answer, cited = parse_answer(text, aliases)
    assert answer.note_rationale == "x"
    assert [c.fact_id for c in cited] == ["a|causes|b", "a|causes|b#e0"]


def test_writer_refuses_a_corrupt_middle_line(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    ok = Rationale(admission_id="a").model_dump_json()
    out.write_text(f"{ok}\nnot json\n{ok}\n", encoding="utf-8")
    with pytest.raises(Exception, match="line 2"):
        RationaleWriter(out)


def test_prompt_templates_are_versioned(tmp_path: Path) -> None:
    teacher = load_prompt("teacher")
    assert teacher.key == "teacher@1"
    assert {"note", "captions", "evidence", "diagnoses", "schema"} <= teacher.placeholders()
    assert load_prompt("teacher_v1").key == "teacher@1"
    custom = tmp_path / "mine.md"
    custom.write_text("<!-- id: mine -->\n<!-- version: 3 -->\n=== user ===\nHi $name\n")
    assert PromptTemplate.parse(custom.read_text()).render(name="x")[0].content == "Hi x"
    assert load_prompt(custom).key == "mine@3"
    with pytest.raises(ConfigError, match="needs values"):
        load_prompt(custom).render()
    with pytest.raises(ConfigError, match="no prompt template"):
        load_prompt("nope")


def test_a_failed_fsync_is_reported_not_swallowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ctk.teacher.output as output
    from ctk.errors import DataError

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    writer = RationaleWriter(tmp_path / "r.jsonl")
    monkeypatch.setattr(output.os, "fsync", no_space)
    writer.write(Rationale(admission_id="a"))  # flushed to the OS; the background fsync fails
    with pytest.raises(DataError, match=r"fsync failed.*No space left"):
        writer.close()
    assert [r.admission_id for r in read_rationales(tmp_path / "r.jsonl")] == ["a"]


def test_build_teacher_is_the_python_entry_point(store: EmbeddedStore, tmp_path: Path) -> None:
    from ctk.teacher import BackendSettings, TeacherConfig, build_teacher

    config = TeacherConfig(
        retriever="graph",
        retriever_options={"per_concept": 3},
        llm="template",
        # base_url does not apply to the template backend: it is not passed to it
        backend=BackendSettings(base_url="http://127.0.0.1:1/v1"),
        generation=GenerationConfig(k=4, use_cache=False),
    )
    with build_teacher(config, store=store) as teacher:
        assert teacher.retriever.options.per_concept == 3
        summary = teacher.generate(make_admissions(2), out=tmp_path / "r.jsonl", total=2)
    assert (summary.generated, summary.failed, summary.backend) == (2, 0, "template")
    assert all(len(r.evidence_ids) <= 4 for r in read_rationales(tmp_path / "r.jsonl"))

    with pytest.raises(ConfigError, match="unknown option for LLM backend 'template': speed"):
        build_teacher(config.model_copy(update={"llm_options": {"speed": 1}}), store=store)
    remote = config.model_copy(
        update={
            "llm": "openai",
            "backend": BackendSettings(base_url="https://teacher.example.org/v1", model="m"),
        }
    )
    with pytest.raises(DataPolicyError):
        build_teacher(remote, store=store)  # refused before any cohort is read
    with pytest.raises(ValueError, match="extra"):
        GenerationConfig(k=4, temprature=0.2)  # type: ignore[call-arg]
