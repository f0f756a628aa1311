"""Exit codes scripts can trust: an input that yields nothing is not a success; counts >= 1."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from cli_run import run
from rationale_fixtures import build_store

from ctk.cohort import write_cohort


def _at_least_1(err: str) -> bool:
    """click's range error, read through the box rich draws around it."""
    return "greater than or equal to 1" in re.sub(r"[\s│╭╮╰╯─]+", " ", err)


@pytest.mark.parametrize("content", [b"", gzip.compress(b"")], ids=["0-byte", "empty-gzip"])
def test_kg_build_from_an_empty_corpus_file_exits_2_unless_allow_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    corpus = tmp_path / "empty.xml.gz"
    corpus.write_bytes(content)
    args = ["kg", "build", "--source", f"pubmed:{corpus}", "--store", str(tmp_path / "kg.db")]
    code, out, err = run([*args, "--workers", "1"], capsys)
    assert code == 2, out + err
    assert "yielded no document" in err and "--allow-empty" in err
    assert "bad records" in out  # the summary is printed before the error
    code, _, err = run([*args, "--workers", "1", "--allow-empty"], capsys)
    assert code == 0, err


def test_kg_build_rerun_of_a_finished_build_is_not_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A resumed build that finds every chunk done yields nothing new, and that is fine."""
    sample = (
        Path(__file__).resolve().parents[2] / "samples" / "corpora" / "pubmed_efetch_sample.xml"
    )
    args = ["kg", "build", "--source", f"pubmed:{sample}", "--store", str(tmp_path / "kg.db")]
    assert run([*args, "--workers", "1"], capsys)[0] == 0
    code, _, err = run([*args, "--workers", "1"], capsys)
    assert code == 0, err


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_kg_query_limit_must_be_at_least_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    build_store(tmp_path / "kg.db").close()
    code, out, err = run(
        ["kg", "query", "heart failure", "--store", str(tmp_path / "kg.db"), "--limit", limit],
        capsys,
    )
    assert code == 2 and "--limit" in err and _at_least_1(err)
    assert "no relations" not in out
    code, out, _ = run(
        ["kg", "query", "heart failure", "--store", str(tmp_path / "kg.db"), "--limit", "1"],
        capsys,
    )
    assert code == 0 and "heart failure" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["data", "synth", "--n", "0", "--out", "x"],
        ["data", "anomalies", "cohort", "--limit", "0"],
        ["kg", "vocab", "--top", "0", "--out", "vk.jsonl"],
        ["data", "import", "src", "--out", "c", "--max-hours", "0"],
    ],
    ids=["synth-n", "anomalies-limit", "vocab-top", "import-max-hours"],
)
def test_counts_below_1_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2 and _at_least_1(err)


def test_rationale_generate_on_a_cohort_with_no_admission_exits_2_unless_allow_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_store(tmp_path / "kg.db").close()
    write_cohort(tmp_path / "empty", [], source="synthetic")
    args = ["rationale", "generate", "--cohort", str(tmp_path / "empty"), "--llm", "template"]
    args += ["--store", str(tmp_path / "kg.db"), "--out", str(tmp_path / "r.jsonl")]
    code, _, err = run(args, capsys)
    assert code == 2 and "no admission to read" in err and "--allow-empty" in err
    assert not (tmp_path / "r.jsonl").exists()
    code, _, err = run([*args, "--allow-empty"], capsys)
    assert code == 0 and "nothing to generate" in err
