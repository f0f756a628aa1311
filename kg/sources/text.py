"""Plain-text and JSON Lines documents.

* ``.txt`` (or ``.txt.gz``...): one document per file; id = the file name without
  its suffixes, title = the first line when it is short and followed by a blank line.
* ``.jsonl``: one document per line, ``{"id": ..., "text": ..., "title": ..., "year": ...}``
  (``title`` and ``year`` optional). A line that is not JSON, or lacks ``id`` or
  ``text``, is skipped and reported with its line number.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from ctk.kg.sources.base import SourceFormat
from ctk.kg.sources.compressed import Truncation, read_blocks
from ctk.kg.sources.document import Deletion, Document
from ctk.kg.sources.xml_records import RawRecord
from ctk.report import ProblemReport

__all__ = ["TextFormat"]

_COMPRESSED = (".gz", ".bz2")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    return name.rsplit(".", 1)[0] if "." in name else name


def _is_jsonl(path: Path) -> bool:
    name = path.name
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    return name.endswith((".jsonl", ".ndjson"))


class TextFormat(SourceFormat):
    """``text:PATH``: ``.txt`` files (one document each) or ``.jsonl`` (one per line)."""

    name: ClassVar[str] = "text"
    suffixes: ClassVar[tuple[str, ...]] = (".txt", ".jsonl", ".ndjson")

    def records(self, path: Path, report: ProblemReport) -> Iterator[RawRecord]:
        """Yield one record per JSON line, or the whole ``.txt`` file as one record."""
        if not _is_jsonl(path):
            data = bytearray()
            for block in read_blocks(path):
                if isinstance(block, Truncation):
                    report.add("truncated file", str(path), f"byte {block.offset}", block.reason)
                    break
                data += block
            yield RawRecord(bytes(data), str(path), 1, 0)
            return
        pending = b""
        line_no = 0
        index = 0
        for block in read_blocks(path):
            if isinstance(block, Truncation):
                report.add(
                    "truncated file",
                    str(path),
                    f"line {line_no + 1}, after record {index - 1}",
                    block.reason,
                )
                return
            lines = (pending + block).split(b"\n")
            pending = lines.pop()
            for raw in lines:
                line_no += 1
                if raw.strip():
                    yield RawRecord(raw, str(path), line_no, index)
                    index += 1
        if pending.strip():
            yield RawRecord(pending, str(path), line_no + 1, index)

    def parse(
        self, record: RawRecord, report: ProblemReport, skipped: Counter[str]
    ) -> list[Document | Deletion]:
        """Read one ``.txt`` file or one JSON line."""
        path = Path(record.path)
        try:
            text = record.data.decode("utf-8")
        except UnicodeDecodeError as e:
            report.add("not UTF-8 text", record.path, record.position, str(e))
            return []
        if not _is_jsonl(path):
            title = ""
            head, sep, rest = text.partition("\n\n")
            if sep and "\n" not in head.strip() and len(head.strip()) <= 200:
                title, text = head.strip(), rest
            if not text.strip():
                skipped["text: empty document"] += 1
                return []
            return [
                Document(
                    source="text",
                    doc_id=_stem(path),
                    title=title,
                    text=text.strip(),
                    position=record.position,
                )
            ]
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            report.add("malformed JSON line", record.path, record.position, str(e))
            return []
        if not isinstance(obj, dict) or "id" not in obj or not isinstance(obj.get("text"), str):
            report.add("JSON line without id or text", record.path, record.position)
            return []
        year = obj.get("year")
        raw_title = obj.get("title")
        return [
            Document(
                source="text",
                doc_id=str(obj["id"]),
                title=raw_title if isinstance(raw_title, str) else "",
                text=obj["text"],
                year=year if isinstance(year, int) else None,
                position=record.position,
            )
        ]
