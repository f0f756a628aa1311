"""The Closeable base: ``with`` calls close, or abort when the block raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctk.closeable import Closeable
from ctk.cohort import CohortWriter
from ctk.records import Admission

_ADMISSION = Admission(admission_id="a1", subject_id="1", source="test")


class _Recorder(Closeable):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def close(self) -> None:
        self.calls.append("close")


class _Committer(_Recorder):
    def abort(self) -> None:
        self.calls.append("abort")


@pytest.mark.parametrize(
    ("kind", "after_error"),
    [
        (_Recorder, "close"),  # the default abort is close
        (_Committer, "abort"),  # a class with its own abort: abort instead of close
    ],
)
def test_exit_closes_after_success_and_aborts_after_an_error(
    kind: type[_Recorder], after_error: str
) -> None:
    with kind() as ok:
        pass
    failed = kind()
    with pytest.raises(KeyError), failed:
        raise KeyError("x")
    assert ok.calls == ["close"]
    assert failed.calls == [after_error]


def test_cohort_writer_close_commits_and_is_safe_twice(tmp_path: Path) -> None:
    writer = CohortWriter(tmp_path / "c", source="test")
    with writer:
        writer.write(_ADMISSION)
    writer.close()  # a second close changes nothing
    assert (tmp_path / "c" / "manifest.json").is_file()
    assert writer.manifest.admissions == 1


def test_cohort_writer_abort_keeps_only_the_partial_file(tmp_path: Path) -> None:
    out = tmp_path / "c"
    with pytest.raises(KeyError), CohortWriter(out) as writer:
        writer.write(_ADMISSION)
        raise KeyError("x")
    assert sorted(p.name for p in out.iterdir()) == ["admissions.jsonl.partial"]
