"""The tiny LM's tokenizer texts come from the training split only."""

from __future__ import annotations

from pathlib import Path

from ctk.cohort import write_cohort
from ctk.distill.tiny import cohort_texts
from ctk.records import Admission, ClinicalNote


def _cohort(folder: Path) -> Path:
    admissions = [
        Admission(
            admission_id=f"a{i}",
            split=split,
            note=ClinicalNote(text=f"Patient admitted with {word}."),
            phenotypes=[],
            source="test",
        )
        for i, (split, word) in enumerate(
            [("train", "trainword"), ("val", "valword"), ("test", "testword"), (None, "noneword")]
        )
    ]
    write_cohort(folder, admissions, source="test")
    return folder


def test_cohort_texts_read_no_validation_or_test_note(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path / "cohort")
    words = {w.strip(".") for t in cohort_texts(cohort) for w in t.split()}
    assert {"trainword", "noneword"} <= words
    assert not {"valword", "testword"} & words


def test_cohort_texts_splits_widen_what_is_read(tmp_path: Path) -> None:
    cohort = _cohort(tmp_path / "cohort")
    texts = cohort_texts(cohort, splits=("train", "test"))
    words = {w.strip(".") for t in texts for w in t.split()}
    assert {"trainword", "testword"} <= words
    assert "valword" not in words
