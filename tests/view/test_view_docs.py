"""The Python example of docs/view.md runs, on real inputs, in a scratch folder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from view_fixtures import ViewInputs

ROOT = Path(__file__).resolve().parents[2]


def test_the_python_example_of_the_viewer_page_runs(
    view_inputs: ViewInputs,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocks = re.findall(
        r"^```python\n(.*?)^```", (ROOT / "docs" / "view.md").read_text("utf-8"), re.S | re.M
    )
    assert len(blocks) == 1
    shutil.copytree(view_inputs.cohort, tmp_path / "cohort")
    shutil.copytree(view_inputs.eval_dir, tmp_path / "eval")
    shutil.copy(view_inputs.rationales, tmp_path / "rationales.jsonl")
    shutil.copy(view_inputs.store, tmp_path / "kg.db")
    monkeypatch.chdir(tmp_path)
    exec(compile(blocks[0], "docs/view.md[python]", "exec"), {"__name__": "view_md"})
    out = capsys.readouterr().out
    assert out.startswith("7 {'ok': 5}")
    assert (
        "Dyspnea is a symptom of heart failure. -> ctk:dyspnea|symptom_of|ctk:heart_failure" in out
    )
