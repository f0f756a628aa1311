"""benchmarks/student_rationale_claims.py counts what the graph holds of a student's rationale."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from rationale_fixtures import build_store

REPO = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    path = REPO / "benchmarks/student_rationale_claims.py"
    spec = importlib.util.spec_from_file_location("student_rationale_claims", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_counts_restrictions_and_supported_pairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_store(tmp_path / "kg.db").close()
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    text = (
        "### Disease Diagnosed: congestive heart failure. ### Rationale: "
        "The clinical note is consistent with the diagnoses: congestive heart failure; sepsis. "
        "Known: Furosemide treats heart failure. [E1] Dyspnea and edema are related."
    )
    row = {"admission_id": "a1", "predicted": ["Congestive heart failure; nonhypertensive"]}
    (eval_dir / "predictions.jsonl").write_text(json.dumps({**row, "text": text}) + "\n")
    results = _script().main(["--eval", str(eval_dir), "--store", str(tmp_path / "kg.db")])
    student = results["student"]
    assert student["rationales"] == 1 and student["names_unpredicted"] == 1  # sepsis
    assert student["sentences_unsupported"] == 1  # dyspnea-edema: no edge
    assert (student["pairs"], student["pairs_supported"]) == (2, 1)
    assert "| student | 1 |" in capsys.readouterr().out
