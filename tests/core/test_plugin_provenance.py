"""Provenance of rationale records: what a plugin stamp holds, and how a resumed
output file compares the stamps of its records with the run's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest

from ctk.errors import ConfigError
from ctk.plugin import describe_options, plugin_stamp
from ctk.plugins.llm.openai_compat import OpenAIBackend
from ctk.records import PluginStamp, Rationale
from ctk.registry import LLM_BACKENDS
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever
from ctk.teacher import RationaleWriter


class _Local(Retriever):
    name: ClassVar[str] = "local"

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        return []


def test_stamp_leaves_secrets_out_and_splits_run_settings() -> None:
    backend = OpenAIBackend(
        {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "sk-very-secret"}
    )
    try:
        stamp = plugin_stamp(backend)
    finally:
        backend.close()
    dumped = stamp.model_dump_json()
    assert "sk-very-secret" not in dumped and "api_key" not in dumped
    assert stamp.name == "openai" and stamp.distribution == "clinragen-toolkit"
    assert stamp.version == LLM_BACKENDS.describe("openai").version
    assert stamp.options["model"] == "m" and "timeout_s" not in stamp.options
    assert stamp.settings["base_url"] == "http://127.0.0.1:9/v1"
    pooled = OpenAIBackend(
        {
            "endpoints": [{"base_url": "http://127.0.0.1:9/v1"}, {"base_url": "http://[::1]:9/v1"}],
            "model": "m",
            "api_key": "sk-x",
        }
    )
    try:
        assert plugin_stamp(pooled).settings["endpoints"][0]["base_url"].endswith(":9/v1")
        assert "sk-x" not in plugin_stamp(pooled).model_dump_json()
    finally:
        pooled.close()
    local = plugin_stamp(_Local())
    assert local.distribution is None and local.version is None and local.options == {}


def test_option_errors_name_the_valid_options_in_the_exception() -> None:
    template = LLM_BACKENDS.get("template")
    with pytest.raises(ConfigError) as info:
        template({"max_citation": 2})
    assert "valid options: max_citations" in str(info.value)
    [doc] = describe_options(template.Options)
    assert (doc.name, doc.type, doc.default) == ("max_citations", "int", "4")


def _write(path: Path, *records: Rationale) -> None:
    path.write_text("".join(r.model_dump_json() + "\n" for r in records), encoding="utf-8")


def test_writer_warns_on_another_version_and_on_unstamped_records(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    old = PluginStamp(name="graph", version="0.0.9", options={"per_concept": 10})
    _write(
        out,
        Rationale(admission_id="a", retriever=old),
        Rationale(admission_id="b", schema_version=1),
    )
    mine = old.model_copy(update={"version": "0.1.0"})
    with RationaleWriter(out, retriever=mine) as writer:
        assert writer.done == {"a", "b"}
    assert any("version 0.0.9" in w for w in writer.warnings)
    assert any("older ctk" in w for w in writer.warnings)


def test_writer_refuses_other_options_before_touching_the_file(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    theirs = PluginStamp(name="graph", version="0.1.0", options={"per_concept": 10})
    _write(
        out,
        Rationale(admission_id="a", status="failed", error="x", retriever=theirs),
        Rationale(admission_id="b", retriever=theirs),
    )
    with out.open("ab") as fh:
        fh.write(b'{"admission_id": "torn')  # a torn tail, which a run would repair
    before = out.read_bytes()
    mine = theirs.model_copy(update={"options": {"per_concept": 5}})
    with pytest.raises(ConfigError, match="per_concept") as info:
        RationaleWriter(out, retriever=mine, retry_failed=True)
    assert info.value.hint is not None and "--allow-mixed" in info.value.hint
    assert out.read_bytes() == before
    with RationaleWriter(out, retriever=mine, allow_mixed=True) as writer:
        assert writer.failed_kept == 1 and any("per_concept" in n for n in writer.notes)
    assert json.loads(out.read_text().splitlines()[0])["retriever"]["options"] == {
        "per_concept": 10
    }
