"""Bad input is found before the first record: ``ctk data validate`` and ``rationale generate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_run import run
from rationale_fixtures import build_store, make_admissions

from ctk.cohort import validate_cohort, write_cohort
from ctk.errors import RecordParseError


@pytest.fixture()
def cohort(tmp_path: Path) -> Path:
    write_cohort(tmp_path / "cohort", make_admissions(6), source="synthetic")
    return tmp_path / "cohort"


def _generate(cohort: Path, *extra: str) -> list[str]:
    return ["rationale", "generate", "--cohort", str(cohort), "--llm", "template", *extra]


def _break_line(cohort: Path, number: int) -> None:
    path = cohort / "admissions.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[number - 1] = lines[number - 1][:40] + "\n"  # cut mid-record, as a bad copy would
    path.write_text("".join(lines))


def test_validate_counts_a_clean_cohort(cohort: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = validate_cohort(cohort)
    assert report.admissions == 6 and report.problems == []
    assert sum(report.splits.values()) == 6
    code, out, _ = run(["data", "validate", str(cohort)], capsys)
    assert code == 0 and "6 admissions" in out and out.strip().endswith("valid")
    code, out, _ = run(["data", "validate", str(cohort), "--json"], capsys)
    assert code == 0 and json.loads(out)["admissions"] == 6


def test_a_corrupt_line_is_named_with_its_file_and_line(
    cohort: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _break_line(cohort, 4)
    with pytest.raises(RecordParseError, match=r"admissions.jsonl \(at line 4\)"):
        validate_cohort(cohort)
    code, _, err = run(["data", "validate", str(cohort)], capsys)
    assert code == 2 and "line 4" in err and "Traceback" not in err


def test_duplicates_a_wrong_manifest_and_an_empty_split_are_problems(
    cohort: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = cohort / "admissions.jsonl"
    first = path.read_text().splitlines()[0]
    path.write_text(path.read_text() + first + "\n")
    report = validate_cohort(cohort)
    assert any("duplicate admission id" in p for p in report.problems)
    assert any("manifest declares 6" in p and "holds 7" in p for p in report.problems)
    code, out, _ = run(["data", "validate", str(cohort)], capsys)
    assert code == 1 and "problem: 1 duplicate" in out
    empty = validate_cohort(cohort, split="no-such-split")
    assert empty.empty and "no admission of split 'no-such-split'" in empty.problems[-1]


def test_generate_stops_on_a_corrupt_line_before_writing_anything(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_store(tmp_path / "kg.db").close()
    _break_line(cohort, 4)
    out = tmp_path / "r.jsonl"
    code, _, err = run(
        _generate(cohort, "--store", str(tmp_path / "kg.db"), "--out", str(out)),
        capsys,
    )
    assert code == 2 and "line 4" in err
    assert not out.exists()


def test_generate_refuses_an_empty_selection(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_store(tmp_path / "kg.db").close()
    out = tmp_path / "r.jsonl"
    code, _, err = run(
        _generate(cohort, "--store", str(tmp_path / "kg.db"), "--split", "val", "--out", str(out)),
        capsys,
    )
    assert "val" not in validate_cohort(cohort).splits  # every fixture admission is train
    assert code == 2 and "no admission of split 'val'" in err and not out.exists()


def test_the_graph_retriever_without_a_store_fails_before_an_output_file_exists(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    code, _, err = run(
        _generate(cohort, "--out", str(out)),
        capsys,
    )
    assert code == 2 and "needs a knowledge graph" in err and "--store" in err
    assert "--kg" not in err
    assert not out.exists()


def test_an_admission_without_note_and_labs_is_a_warning_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admissions = make_admissions(3)
    admissions[1] = admissions[1].model_copy(update={"note": None, "labs": None})
    write_cohort(tmp_path / "c", admissions, source="synthetic")
    report = validate_cohort(tmp_path / "c")
    assert report.problems == []
    assert report.warnings == [
        f"1 admission(s) with neither note nor labs, e.g. {admissions[1].admission_id}"
    ]
    code, out, _ = run(["data", "validate", str(tmp_path / "c")], capsys)
    assert code == 0 and "warning: 1 admission(s)" in out
