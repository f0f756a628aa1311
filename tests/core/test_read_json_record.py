"""ctk.jsonl.read_json_record: one JSON file into a model, one clear error otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from ctk.errors import DataError
from ctk.jsonl import read_json_record


class _Point(BaseModel):
    x: int
    y: int = 0


def test_valid_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"x": 3}', encoding="utf-8")
    assert read_json_record(path, _Point, what="a point", hint="h") == _Point(x=3)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "Invalid JSON"),
        (b'{"x": "three"}', "('x',)"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_bad_file_names_itself_the_record_and_the_first_problem(
    tmp_path: Path, body: bytes, detail: str
) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(body)
    with pytest.raises(DataError) as e:
        read_json_record(path, _Point, what="a point", hint="write a point")
    message = str(e.value)
    assert message.startswith(f"{path} is not a point: ") and detail in message
    assert "\n" not in message and e.value.hint == "write a point"
