"""``ctk view`` refuses bad inputs with one line and exit 2, before any server starts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_run import run
from starlette.testclient import TestClient
from view_fixtures import ViewInputs

from ctk.errors import DataError, DataPolicyError
from ctk.view import AdmissionIndex, Viewer, check_bind_address, create_app


def _view(inputs: ViewInputs, tmp_path: Path, *extra: str) -> list[str]:
    return ["view", "--cache-dir", str(tmp_path / "cache"), "--port", "0", *extra]


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str], *words: str) -> str:
    code, out, err = run(argv, capsys)
    assert code == 2, (out, err)
    assert [line for line in err.splitlines() if line.startswith("error: ")], err
    assert err.count("error: ") == 1, err  # one line, no traceback
    assert "Traceback" not in err
    assert "ctk view: http" not in out  # no server was started
    for word in words:
        assert word in err, err
    return err


def test_a_missing_cohort(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    _fails(
        _view(view_inputs, tmp_path, "--cohort", str(tmp_path / "nope")), capsys, "does not exist"
    )


def test_a_corrupt_cohort(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    cohort = tmp_path / "cohort"
    shutil.copytree(view_inputs.cohort, cohort)
    with (cohort / "admissions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"admission_id": "x", "split": "somewhere"\n')
    _fails(_view(view_inputs, tmp_path, "--cohort", str(cohort)), capsys, "line 8", "not JSON")


def test_a_missing_or_corrupt_rationale_file(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _view(view_inputs, tmp_path, "--cohort", str(view_inputs.cohort))
    _fails([*base, "--rationales", str(tmp_path / "none.jsonl")], capsys, "does not exist")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"admission_id": "adm000", "status": "splendid"}\n', encoding="utf-8")
    _fails([*base, "--rationales", str(bad)], capsys, "invalid rationale", "line 1")


def test_a_rationale_file_of_another_cohort(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.jsonl"
    lines = view_inputs.rationales.read_text(encoding="utf-8").splitlines()
    other.write_text(
        "".join(
            json.dumps({**json.loads(x), "admission_id": f"z{i}"}) + "\n"
            for i, x in enumerate(lines)
        ),
        encoding="utf-8",
    )
    err = _fails(
        [
            *_view(view_inputs, tmp_path, "--cohort", str(view_inputs.cohort)),
            "--rationales",
            str(other),
        ],
        capsys,
        f"none of the {len(lines)} rationale records",
    )
    assert "another cohort" in err
    # partly from another cohort: served, with the count of unmatched records said
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(
        view_inputs.rationales.read_text(encoding="utf-8") + other.read_text(), encoding="utf-8"
    )
    index = AdmissionIndex.open(view_inputs.cohort, rationales=mixed, cache_dir=tmp_path / "cache")
    assert index.summary.unmatched_rationales == len(lines)
    assert index.summary.matched_rationales == len(lines)
    html = (
        TestClient(create_app(Viewer(index)), base_url="http://127.0.0.1").get("/admissions").text
    )
    assert f"{len(lines)} of the {2 * len(lines)} rationale records match no admission" in html
    index.close()


def test_a_missing_or_corrupt_store(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _view(view_inputs, tmp_path, "--cohort", str(view_inputs.cohort))
    _fails([*base, "--store", str(tmp_path / "none.db")], capsys)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    _fails([*base, "--store", str(junk)], capsys)


def test_a_folder_without_an_evaluation(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _view(view_inputs, tmp_path, "--cohort", str(view_inputs.cohort))
    _fails([*base, "--eval", str(tmp_path)], capsys, "no report.json")


def test_the_cache_may_not_live_in_the_cohort(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    cohort = tmp_path / "cohort"
    shutil.copytree(view_inputs.cohort, cohort)
    argv = ["view", "--cohort", str(cohort), "--cache-dir", str(cohort / "cache")]
    _fails(argv, capsys, "inside the cohort folder")
    assert not (cohort / "cache").exists()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_a_reachable_address_needs_the_data_use_flag(
    host: str, tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*_view(view_inputs, tmp_path, "--cohort", str(view_inputs.cohort)), "--host", host]
    err = _fails(argv, capsys, "data use agreement", "--allow-remote")
    assert not (tmp_path / "cache").exists()  # refused before any work
    assert err.count("error:") == 1
    with pytest.raises(DataPolicyError):
        check_bind_address(host, allow_remote=False)
    check_bind_address(host, allow_remote=True)  # consent given: allowed (with a warning)
    for loopback in ("127.0.0.1", "localhost", "::1"):
        check_bind_address(loopback, allow_remote=False)


def test_an_empty_cohort_is_a_reported_problem(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort.jsonl"
    cohort.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no admissions"):
        AdmissionIndex.open(cohort, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*"))  # no half-built index left behind


def test_predictions_of_another_cohort_are_counted(
    tmp_path: Path, view_inputs: ViewInputs, capsys: pytest.CaptureFixture[str]
) -> None:
    eval_dir = tmp_path / "eval"
    shutil.copytree(view_inputs.eval_dir, eval_dir)
    with (eval_dir / "predictions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"admission_id": "elsewhere", "predicted": [], "true": []}) + "\n")
    argv = [
        *_view(view_inputs, tmp_path, "--cohort", str(view_inputs.cohort)),
        "--eval",
        str(eval_dir),
        "--store",
        str(tmp_path / "missing.db"),  # stops the command before it serves
    ]
    err = _fails(argv, capsys, "no knowledge graph")
    assert "warning: 1 of 3 predictions are for admissions not in the cohort" in err
