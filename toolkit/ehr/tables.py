"""Reading MIMIC tables: ``.csv`` or ``.csv.gz``, upper- or lower-case headers, streamed.

The full MIMIC-III release spells its columns in upper case (``HADM_ID``), the public
demo and MIMIC-IV in lower case (``hadm_id``). :func:`iter_rows` lower-cases the header,
checks that the required columns are there, and yields one row at a time with the
1-based line number, so memory does not grow with the size of the file (CHARTEVENTS is
30+ GB). A truncated or corrupt ``.gz`` becomes a :class:`~ctk.errors.RecordParseError`
naming the file and the last row read; a caller that passes a
:class:`~ctk.report.ProblemReport` keeps the rows read before the cut instead, and the
report says where it stopped.

Timestamps must be MIMIC's (``2164-10-23 21:09:00``): :func:`parse_time` refuses a
table whose dates were rewritten by a spreadsheet (``10/23/64 21:09``), naming the
table, the column and the value.

Real files break the documented layout in two ways handled here: a header row whose
quoting is broken (an unterminated or stray ``"``; the header is then split on commas and
unquoted, and the repair is reported), and an empty file (0 bytes, no header):
:func:`table_is_empty` lets a loader treat an optional table like that as absent.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from ctk.errors import DataError, MissingColumnError, RecordParseError, TruncatedFileError
from ctk.report import ProblemReport

__all__ = [
    "Row",
    "find_table",
    "iter_rows",
    "open_csv",
    "parse_time",
    "read_header",
    "require_table",
    "table_is_empty",
]

csv.field_size_limit(1 << 30)  # discharge summaries are long quoted fields

#: A row: lower-case column name -> raw text (``""`` where empty).
Row = dict[str, str]


def find_table(root: Path, name: str, *, required: bool = True) -> Path | None:
    """Find ``NAME.csv`` or ``NAME.csv.gz`` in a folder, in upper or lower case.

    Args:
        root: The folder holding the tables.
        name: Table name without extension (``ADMISSIONS``, ``hosp/admissions``).
        required: Raise when the table is absent (else return None).

    Returns:
        The path of the table, or None when absent and not required.

    Raises:
        DataError: The table is required and absent.
    """
    parent, _, base = name.rpartition("/")
    folder = root / parent if parent else root
    for stem in dict.fromkeys((base, base.upper(), base.lower())):
        for ext in (".csv", ".csv.gz"):
            candidate = folder / (stem + ext)
            if candidate.is_file():
                return candidate
    if required:
        raise DataError(
            f"table {name} not found in {folder} (looked for {base}.csv and {base}.csv.gz, "
            "upper or lower case)",
            hint="point the command at the folder that holds the MIMIC tables",
        )
    return None


def require_table(root: Path, name: str) -> Path:
    """Like :func:`find_table`, for a table that must exist.

    Raises:
        DataError: The table is absent.
    """
    path = find_table(root, name)
    assert path is not None
    return path


def open_csv(path: Path) -> IO[str]:
    """Open a ``.csv`` or ``.csv.gz`` file as text (UTF-8, universal newlines off)."""
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def _parse_header(line: str) -> tuple[list[str], bool]:
    """The lower-case column names of a header line, and whether its quoting was repaired.

    A header whose quoting is broken (an odd number of ``"``, or a field that swallowed a
    line break) is split on commas and stripped of quotes: MIMIC column names hold no
    commas, so this is exact for every MIMIC table.
    """
    text = line.rstrip("\r\n")
    fields = next(csv.reader([text]), [])
    broken = text.count('"') % 2 == 1 or any('"' in f or "\n" in f for f in fields)
    if broken:
        fields = [f.strip().strip('"').strip() for f in text.split(",")]
    return [f.strip().lower() for f in fields], broken


def table_is_empty(path: Path) -> bool:
    """True when a table has no header line at all (a 0-byte file, or an empty ``.gz``)."""
    try:
        with open_csv(path) as fh:
            return not fh.readline().strip()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return False  # unreadable is not empty: iter_rows says what is wrong


def _polars_rows(
    path: Path,
    header: list[str],
    names: list[str],
    skip: tuple[str, frozenset[str]],
) -> Iterator[tuple[int, Row]]:
    """The fast path of :func:`iter_rows` for large uncompressed tables (polars installed).

    polars parses the file on all cores and drops the rows of skipped values before Python
    sees them; the rows left are yielded with their record number, as the csv path does.
    """
    import polars as pl

    original = {h.strip().strip('"').strip().lower(): h for h in _raw_header(path)}
    present = [n for n in names if n in header]
    skip_col = original[skip[0].lower()]
    frame = (
        pl.scan_csv(path, infer_schema=False)
        .with_row_index("__line", offset=2)
        .filter(~pl.col(skip_col).is_in(list(skip[1])))
        .select(["__line", *(pl.col(original[n]).fill_null("") for n in present)])
    )
    absent = [n for n in names if n not in header]
    try:
        for batch in frame.collect_batches(chunk_size=100_000):
            for values in batch.iter_rows():
                row = dict(zip(present, values[1:], strict=True))
                for n in absent:
                    row[n] = ""
                yield int(values[0]), row
    except pl.exceptions.PolarsError as e:
        raise RecordParseError(
            f"CSV syntax error ({str(e).splitlines()[0][:200]})",
            source=str(path),
            hint="the file may be truncated or not comma-separated",
        ) from e


def _raw_header(path: Path) -> list[str]:
    with open_csv(path) as fh:
        return next(csv.reader([fh.readline().rstrip("\r\n")]), [])


def _use_polars(path: Path, engine: str) -> bool:
    if engine == "csv" or path.name.endswith(".gz"):
        return False  # polars cannot stream a .gz: it would inflate it whole in memory
    try:
        import polars  # noqa: F401
    except ImportError:
        if engine == "polars":
            raise
        return False
    return engine == "polars" or path.stat().st_size > _POLARS_MIN_BYTES


#: Below this size the csv module is as fast as starting polars.
_POLARS_MIN_BYTES = 64 << 20


def iter_rows(
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    skip: tuple[str, frozenset[str]] | None = None,
    report: ProblemReport | None = None,
    engine: str = "auto",
) -> Iterator[tuple[int, Row]]:
    """Stream the rows of a CSV table with case-insensitive column names.

    Args:
        path: A ``.csv`` or ``.csv.gz`` file with a header line.
        required: Column names (any case) that must be present.
        optional: Column names read when present (``""`` in each row when absent).
        skip: ``(column, values)``: rows whose raw text in that (required) column is one
            of the values are passed over before any other work (a fast path for the
            billions of CHARTEVENTS rows of items ctk does not use).

    Yields:
        ``(line_number, row)`` with ``row`` holding the required and optional
        columns under their lower-case names. Line numbers count the header as 1.

    Raises:
        MissingColumnError: A required column is absent (names the file and the columns found).
        RecordParseError: The file is corrupt, truncated (without ``report``), or a row has
            too few fields.
    """
    line_no = 1
    try:
        with open_csv(path) as fh:
            first = fh.readline()
            if not first.strip():
                raise RecordParseError("empty file, no header line", source=str(path))
            lower, repaired = _parse_header(first)
            if repaired and report is not None:
                report.add("header row with broken quoting (repaired)", str(path), "line 1")
            wanted = [c.lower() for c in required]
            missing = [c for c in wanted if c not in lower]
            if missing:
                raise MissingColumnError(
                    f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(lower)})",
                    hint="is this the right table? MIMIC column names may be upper or lower case",
                )
            names = wanted + [c.lower() for c in optional if c.lower() not in wanted]
            if skip is not None and not repaired and _use_polars(path, engine):
                fh.close()
                yield from _polars_rows(path, lower, names, skip)
                return
            reader = csv.reader(fh)
            index = [(n, lower.index(n)) for n in names if n in lower]
            absent = [n for n in names if n not in lower]
            last = max(i for _, i in index)
            skip_index, skip_values = -1, frozenset[str]()
            if skip is not None:
                skip_index, skip_values = lower.index(skip[0].lower()), skip[1]
            for line_no, fields in enumerate(reader, start=2):
                if not fields:
                    continue
                if (
                    skip_index >= 0
                    and len(fields) > skip_index
                    and fields[skip_index] in skip_values
                ):
                    continue
                if len(fields) <= last:
                    raise RecordParseError(
                        f"row has {len(fields)} fields, the header has {len(lower)}",
                        source=str(path),
                        position=f"line {line_no}",
                        hint="the file may be truncated or not comma-separated",
                    )
                row = {n: fields[i] for n, i in index}
                for n in absent:
                    row[n] = ""
                yield line_no, row
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        if report is not None:
            report.add(
                "compressed file ends early (rows read before it kept)",
                str(path),
                f"after line {line_no}",
                str(e)[:80],
            )
            return
        raise TruncatedFileError(
            str(path), line_no, e, hint="the download is incomplete: fetch the file again"
        ) from e
    except csv.Error as e:
        raise RecordParseError(
            f"CSV syntax error ({e})", source=str(path), position=f"line {line_no + 1}"
        ) from e
    except UnicodeDecodeError as e:
        raise RecordParseError(
            f"not UTF-8 text ({e.reason})", source=str(path), position=f"after line {line_no}"
        ) from e


def read_header(path: Path) -> list[str]:
    """The lower-case column names of a CSV table.

    Raises:
        RecordParseError: The file is empty, corrupt or not text.
    """
    try:
        with open_csv(path) as fh:
            first = fh.readline()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
        raise RecordParseError(f"cannot read the header ({e})", source=str(path)) from e
    if not first.strip():
        raise RecordParseError("empty file, no header line", source=str(path))
    return _parse_header(first)[0]


#: A date written the way spreadsheets and US/European locales write it
#: (``10/23/64 21:09``, ``23.10.2164``, ``10-23-64``): never MIMIC's own format.
_FOREIGN_DATE = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|^\d{4}/\d{1,2}/\d{1,2}\b")


def parse_time(
    text: str, *, source: str | Path | None = None, column: str | None = None
) -> datetime | None:
    """Parse a MIMIC timestamp (``2164-10-23 21:09:00``, or a date ``2164-10-23``).

    Returns None for an empty or unreadable value, which callers report row by row.
    A date in another layout (``10/23/64 21:09``: a table re-saved by a spreadsheet,
    with two-digit years) is refused for the whole table instead: guessing its century
    or its day/month order would silently shift every time, and skipping each row would
    only show up later as an empty selection.

    Args:
        text: The raw value.
        source: The table the value comes from (for the message).
        column: The column the value comes from (for the message).

    Raises:
        DataError: The value is a date in a layout that is not MIMIC's.
    """
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    if _FOREIGN_DATE.match(text):
        where = f"{source}: column {column}" if source and column else "a table"
        raise DataError(
            f"{where} holds {text!r}, not a MIMIC timestamp (YYYY-MM-DD HH:MM:SS); "
            "the table is refused rather than read with guessed centuries or day/month order",
            hint="the table was probably opened and re-saved by a spreadsheet: use the "
            "original file from PhysioNet (it can be read as it was downloaded, .csv.gz)",
        )
    return None
