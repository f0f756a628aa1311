"""The V_k file: the knowledge vocabulary the student attends to (format and reader).

A V_k file is JSONL: a header line ``{"kind": "ctk.vocab", "format_version": 1,
...}`` then one :class:`~ctk.records.VocabEntry` per line, best first. It is
written by ``ctk kg vocab`` (:func:`ctk.kg.export.vocabulary.export_vocabulary`)
and read by the student (:mod:`ctk.distill`), so the format lives in the core that
both import.
"""

from __future__ import annotations

from pathlib import Path

from ctk.errors import ConfigError
from ctk.jsonl import JsonlHeader, read_jsonl
from ctk.records import VocabEntry

__all__ = ["VOCAB_FORMAT_VERSION", "VOCAB_KIND", "read_vocabulary"]

#: The ``kind`` of a V_k file's header line.
VOCAB_KIND = "ctk.vocab"
#: The V_k format version this ctk writes and reads.
VOCAB_FORMAT_VERSION = 1

_HEADER = JsonlHeader(
    kind=VOCAB_KIND,
    version=VOCAB_FORMAT_VERSION,
    what="V_k file",
    hint="write one with `ctk kg vocab --top K --out FILE`",
)


def read_vocabulary(path: str | Path) -> list[VocabEntry]:
    """Read a V_k file written by :func:`export_vocabulary`.

    Returns:
        The entries, in file order (best first).

    Raises:
        ConfigError: The file does not exist.
        FormatVersionError: The header names another kind or a newer version.
        RecordParseError: A line is not valid JSON or not a VocabEntry (names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"no V_k file at {path}", hint="write one with `ctk kg vocab --top K --out FILE`"
        )
    return list(read_jsonl(path, VocabEntry, what="V_k entry", header=_HEADER))
