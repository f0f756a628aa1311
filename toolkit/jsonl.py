"""One reader for ctk's versioned JSONL files (cohorts, rationales, the V_k file).

Each file is read line by line (bounded memory, ``.gz`` transparently) into a
pydantic model, with the same errors everywhere: a line that is not JSON or not a
valid record is a :class:`~ctk.errors.RecordParseError` naming the file and the
line; an unknown format or record version is a :class:`~ctk.errors.FormatVersionError`;
a truncated ``.gz`` is a ``RecordParseError`` that says so.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from ctk.errors import DataError, FormatVersionError, RecordParseError, TruncatedFileError

__all__ = ["JsonlHeader", "open_text", "read_json_record", "read_jsonl"]

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class JsonlHeader:
    """The header line a file must start with: ``{"kind": ..., "format_version": ...}``.

    Attributes:
        kind: The expected ``kind``.
        version: The expected ``format_version``.
        what: The file's name in messages ("V_k file").
        hint: What to do when the header is wrong.
    """

    kind: str
    version: int
    what: str
    hint: str


def open_text(path: Path, mode: Literal["r", "w"]) -> IO[str]:
    """Open a text file, gzip-compressed when its name ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt" if mode == "r" else "wt", encoding="utf-8")
    return path.open(mode, encoding="utf-8")


def _check_header(path: Path, raw: object, header: JsonlHeader) -> None:
    if not isinstance(raw, dict) or raw.get("kind") != header.kind:
        raise FormatVersionError(
            f"{path} is not a {header.what} (first line lacks kind={header.kind!r})",
            hint=header.hint,
        )
    version = raw.get("format_version")
    if version != header.version:
        raise FormatVersionError(
            f"{path} has {header.what} format version {version!r}; this ctk reads {header.version}",
            hint="re-create it with this ctk or upgrade clinragen-toolkit",
        )


def read_jsonl(
    path: Path,
    model: type[M],
    *,
    what: str,
    header: JsonlHeader | None = None,
    schema_version: int | None = None,
    torn_tail: Literal["error", "skip"] = "error",
) -> Iterator[M]:
    """Yield the records of a JSONL (or JSONL.gz) file, validated by ``model``.

    Args:
        path: The file (it must exist; callers word the missing-file error).
        model: The record model.
        what: The record's name in messages ("admission").
        header: The header line the file must start with (None: no header).
        schema_version: Refuse records whose ``schema_version`` differs (None: no check).
        torn_tail: ``"skip"``: an incomplete last line (a killed writer) is ignored
            with a warning; ``"error"``: it is parsed like any line.

    Raises:
        RecordParseError: A line is not JSON or not a valid record, or a ``.gz``
            file is truncated.
        FormatVersionError: The header or a record's ``schema_version`` is not this ctk's.
    """
    line_no = 0
    first = True
    with open_text(path, "r") as fh:
        try:
            for line_no, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                if torn_tail == "skip" and not line.endswith("\n"):
                    logger.warning("%s: ignoring an incomplete last line (interrupted run)", path)
                    return
                try:
                    raw = json.loads(line)
                except json.JSONDecodeError as e:
                    raise RecordParseError(
                        f"not JSON: {e.msg}", source=str(path), position=f"line {line_no}"
                    ) from e
                if first and header is not None:
                    first = False
                    _check_header(path, raw, header)
                    continue
                first = False
                if (
                    schema_version is not None
                    and isinstance(raw, dict)
                    and raw.get("schema_version", schema_version) != schema_version
                ):
                    raise FormatVersionError(
                        f"{path} line {line_no}: {what} schema_version "
                        f"{raw.get('schema_version')!r} is not supported",
                        hint="upgrade clinragen-toolkit",
                    )
                try:
                    yield model.model_validate(raw)
                except ValidationError as e:
                    first_error = e.errors()[0]
                    raise RecordParseError(
                        f"invalid {what}: {first_error['msg']} at {first_error['loc']}",
                        source=str(path),
                        position=f"line {line_no}",
                    ) from e
        except (EOFError, gzip.BadGzipFile) as e:
            raise TruncatedFileError(
                str(path), line_no, e, hint="the file is truncated: re-create it"
            ) from e


def read_json_record(path: Path, model: type[M], *, what: str, hint: str) -> M:
    """One JSON file (a whole file, not JSONL) validated by ``model``.

    Args:
        path: The file.
        model: The record's model.
        what: The record with its article, for the error ("an admission record").
        hint: What to pass instead.

    Raises:
        DataError: The file is not JSON, or not a valid record; the message names the
            file and the first problem.
    """
    try:
        return model.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as e:
        first = e.errors()[0]
        detail = f"{first['msg']} at {first['loc']}" if first["loc"] else first["msg"]
        raise DataError(f"{path} is not {what}: {detail}", hint=hint) from e
    except UnicodeDecodeError as e:
        raise DataError(f"{path} is not {what}: not UTF-8 text ({e.reason})", hint=hint) from e
