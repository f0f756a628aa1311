"""The V_k file: the knowledge vocabulary the student attends to (format and reader).

A V_k file is JSONL: a header line ``{"kind": "ctk.vocab", "format_version": 1,
...}`` then one :class:`~ctk.records.VocabEntry` per line, best first. It is
written by ``ctk kg vocab`` (:func:`ctk.kg.export.vocabulary.export_vocabulary`)
and read by the student (:mod:`ctk.distill`), so the format lives in the core that
both import.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ctk.errors import ConfigError, FormatVersionError, RecordParseError
from ctk.records import VocabEntry

__all__ = ["VOCAB_FORMAT_VERSION", "VOCAB_KIND", "read_vocabulary"]

#: The ``kind`` of a V_k file's header line.
VOCAB_KIND = "ctk.vocab"
#: The V_k format version this ctk writes and reads.
VOCAB_FORMAT_VERSION = 1


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
    entries: list[VocabEntry] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as e:
                raise RecordParseError(f"not JSON: {e}", source=str(path), position=lineno) from e
            if lineno == 1:
                if not isinstance(data, dict) or data.get("kind") != VOCAB_KIND:
                    raise FormatVersionError(
                        f"{path} is not a V_k file (first line lacks kind={VOCAB_KIND!r})",
                        hint="write one with `ctk kg vocab --top K --out FILE`",
                    )
                version = data.get("format_version")
                if version != VOCAB_FORMAT_VERSION:
                    raise FormatVersionError(
                        f"{path} has V_k format version {version!r}; this ctk reads "
                        f"{VOCAB_FORMAT_VERSION}",
                        hint="re-export it with this ctk or upgrade clinragen-toolkit",
                    )
                continue
            try:
                entries.append(VocabEntry.model_validate(data))
            except ValidationError as e:
                raise RecordParseError(
                    f"not a V_k entry: {e.errors()[0]['msg']}", source=str(path), position=lineno
                ) from e
    return entries
