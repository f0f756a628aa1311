"""Cohort files: a streamed, versioned collection of :class:`~ctk.records.Admission`.

A cohort is a folder::

    COHORT/
      manifest.json        CohortManifest: format version, source, counts, problems
      admissions.jsonl     one Admission per line (or admissions.jsonl.gz)

Writers append line by line and readers yield one admission at a time, so a
cohort of any size never needs to fit in memory. A single ``.jsonl``/``.jsonl.gz``
file of admissions is accepted too wherever a cohort is read.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from ctk.closeable import Closeable
from ctk.errors import DataError, FormatVersionError
from ctk.jsonl import read_jsonl
from ctk.records import Admission

__all__ = [
    "ADMISSIONS_FILE",
    "COHORT_FORMAT_VERSION",
    "MANIFEST_FILE",
    "CohortManifest",
    "CohortValidation",
    "CohortWriter",
    "count_admissions",
    "iter_admissions",
    "read_manifest",
    "select_admissions",
    "validate_cohort",
    "write_cohort",
]

COHORT_FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
ADMISSIONS_FILE = "admissions.jsonl"


class CohortManifest(BaseModel):
    """What a cohort folder holds and how it was made."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["ctk.cohort"] = "ctk.cohort"
    format_version: int = COHORT_FORMAT_VERSION
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    source: str = "unknown"
    admissions: int = 0
    splits: dict[str, int] = Field(default_factory=dict)
    compressed: bool = False
    problems: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


def _admissions_path(cohort: Path) -> Path:
    if cohort.is_file():
        return cohort
    for name in (ADMISSIONS_FILE, ADMISSIONS_FILE + ".gz"):
        candidate = cohort / name
        if candidate.exists():
            return candidate
    raise DataError(
        f"{cohort} is not a cohort: no {ADMISSIONS_FILE}(.gz) in it",
        hint="make one with `ctk data import` or `ctk data synth` followed by `ctk data import`",
    )


def read_manifest(cohort: str | Path) -> CohortManifest | None:
    """The manifest of a cohort folder, or None for a bare JSONL file.

    Raises:
        FormatVersionError: The manifest was written by a newer format.
    """
    path = Path(cohort)
    if path.is_file():
        return None
    mpath = path / MANIFEST_FILE
    if not mpath.exists():
        return None
    raw = json.loads(mpath.read_text(encoding="utf-8"))
    version = raw.get("format_version")
    if version != COHORT_FORMAT_VERSION:
        raise FormatVersionError(
            f"{mpath}: cohort format version {version!r}, this ctk reads {COHORT_FORMAT_VERSION}",
            hint="upgrade clinragen-toolkit, or re-import the data with this version",
        )
    return CohortManifest.model_validate(raw)


def iter_admissions(cohort: str | Path) -> Iterator[Admission]:
    """Yield the admissions of a cohort one by one (bounded memory).

    Args:
        cohort: A cohort folder, or a ``.jsonl``/``.jsonl.gz`` file of admissions.

    Raises:
        DataError: The path is not a cohort.
        RecordParseError: A line is not a valid admission (names file and line).
        FormatVersionError: A record's schema version is unknown.
    """
    path = Path(cohort)
    if not path.exists():
        raise DataError(f"cohort {path} does not exist", hint="check the path")
    read_manifest(path)
    yield from read_jsonl(_admissions_path(path), Admission, what="admission", schema_version=1)


def count_admissions(cohort: str | Path) -> int:
    """Number of admissions, from the manifest when present, else by counting lines."""
    manifest = read_manifest(cohort)
    if manifest is not None:
        return manifest.admissions
    return sum(1 for _ in iter_admissions(cohort))


def select_admissions(
    cohort: str | Path, *, split: str | None = None, limit: int | None = None
) -> tuple[Iterator[Admission], int | None]:
    """The admissions of a cohort, of one split and at most ``limit`` of them.

    Args:
        cohort: A cohort folder, or a ``.jsonl``/``.jsonl.gz`` file of admissions.
        split: Only admissions of this split (None: all).
        limit: Only the first ``limit`` admissions (after the split filter).

    Returns:
        The admissions (streamed) and their number when known without reading them
        (None when a split is selected).
    """
    stream: Iterator[Admission] = iter_admissions(cohort)
    if split is not None:
        stream = (a for a in stream if a.split == split)
    if limit is not None:
        stream = itertools.islice(stream, limit)
    total: int | None = None
    if split is None:
        total = count_admissions(cohort)
        if limit is not None:
            total = min(total, limit)
    return stream, total


class CohortValidation(BaseModel):
    """What :func:`validate_cohort` found: counts, and the problems that are not fatal.

    Attributes:
        path: The cohort checked.
        admissions: Admissions selected (every line parsed and validated).
        splits: Selected admissions per split (``none`` for no split).
        with_note: Admissions with a note.
        with_labs: Admissions with a lab series.
        without_phenotypes: Admissions with no positive phenotype.
        manifest_admissions: The count the manifest declares (None: no manifest).
        problems: What is wrong but readable (duplicate ids, a count that differs from
            the manifest, no admission at all).
        warnings: What a run will report per admission (admissions with neither note nor
            labs: the teacher records them as failed, the student cannot read them).
    """

    model_config = ConfigDict(extra="forbid")

    path: str
    admissions: int = 0
    splits: dict[str, int] = Field(default_factory=dict)
    with_note: int = 0
    with_labs: int = 0
    without_phenotypes: int = 0
    manifest_admissions: int | None = None
    problems: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when no admission was selected."""
        return self.admissions == 0

    def lines(self) -> list[str]:
        """The report as short lines for a terminal."""
        splits = ", ".join(f"{k} {v}" for k, v in sorted(self.splits.items())) or "-"
        out = [
            f"{self.path}: {self.admissions} admissions ({splits})",
            f"  {self.with_note} with a note, {self.with_labs} with labs, "
            f"{self.without_phenotypes} with no phenotype",
        ]
        out += [f"  warning: {w}" for w in self.warnings]
        out += [f"  problem: {p}" for p in self.problems]
        return out


#: Examples of each problem kept in a report (the counts are always complete).
_PROBLEM_EXAMPLES = 5


def validate_cohort(
    cohort: str | Path, *, split: str | None = None, limit: int | None = None
) -> CohortValidation:
    """Read and validate every selected admission before any work starts on them.

    Each line is parsed and validated as an :class:`~ctk.records.Admission`, so a
    corrupt line stops a run before its first record is written, not hours in.
    Streams the file (bounded memory). ``split`` and ``limit`` select as in
    :func:`select_admissions`, so a run checks exactly what it will read.

    Args:
        cohort: A cohort folder, or a ``.jsonl``/``.jsonl.gz`` file of admissions.
        split: Only admissions of this split.
        limit: Only the first ``limit`` admissions (after the split filter).

    Returns:
        Counts, readable problems (an empty selection is one of them) and warnings.

    Raises:
        DataError: The path is not a cohort.
        RecordParseError: A line is not a valid admission (names the file and line).
        FormatVersionError: The manifest or a record has an unknown version.
    """
    manifest = read_manifest(cohort)
    report = CohortValidation(
        path=str(cohort), manifest_admissions=manifest.admissions if manifest else None
    )
    stream, _ = select_admissions(cohort, split=split, limit=limit)
    seen: set[str] = set()
    duplicates: list[str] = []
    bare: list[str] = []
    for admission in stream:
        report.admissions += 1
        key = admission.split or "none"
        report.splits[key] = report.splits.get(key, 0) + 1
        report.with_note += admission.note is not None
        report.with_labs += admission.labs is not None
        report.without_phenotypes += not admission.phenotypes
        if admission.note is None and admission.labs is None:
            bare.append(admission.admission_id)
        if admission.admission_id in seen:
            duplicates.append(admission.admission_id)
        seen.add(admission.admission_id)
    if duplicates:
        report.problems.append(
            f"{len(duplicates)} duplicate admission id(s), e.g. "
            f"{', '.join(duplicates[:_PROBLEM_EXAMPLES])} (only the first of each is used)"
        )
    if bare:
        report.warnings.append(
            f"{len(bare)} admission(s) with neither note nor labs, e.g. "
            f"{', '.join(bare[:_PROBLEM_EXAMPLES])}"
        )
    whole = split is None and limit is None
    if whole and manifest is not None and manifest.admissions != report.admissions:
        report.problems.append(
            f"the manifest declares {manifest.admissions} admissions, the file holds "
            f"{report.admissions} (an edited or truncated cohort?)"
        )
    if report.empty:
        selection = f" of split {split!r}" if split is not None else ""
        report.problems.append(f"no admission{selection} to read")
    return report


class CohortWriter(Closeable):
    """Write a cohort folder admission by admission.

    The admissions go to a temporary file that is renamed into place, with the
    manifest, by :meth:`close`; a ``with`` block that raises calls :meth:`abort`
    instead, which renames nothing: a crashed import never leaves a half cohort
    that looks complete.

    Example:
        >>> with CohortWriter(tmp_path / "cohort", source="synthetic") as w:  # doctest: +SKIP
        ...     w.write(admission)
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        source: str = "unknown",
        compress: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.manifest = CohortManifest(source=source, compressed=compress, details=details or {})
        name = ADMISSIONS_FILE + (".gz" if compress else "")
        self._final = self.folder / name
        self._tmp = self.folder / (name + ".partial")
        self._fh: IO[str] | None = None
        self._ids: set[str] = set()

    def __enter__(self) -> Self:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._fh = (
            gzip.open(self._tmp, "wt", encoding="utf-8")
            if self.manifest.compressed
            else self._tmp.open("w", encoding="utf-8")
        )
        return self

    def write(self, admission: Admission) -> None:
        """Append one admission.

        Raises:
            DataError: An admission with the same id was already written.
        """
        if self._fh is None:
            raise RuntimeError("CohortWriter used outside its `with` block")
        if admission.admission_id in self._ids:
            raise DataError(f"duplicate admission id {admission.admission_id!r}")
        self._ids.add(admission.admission_id)
        self._fh.write(admission.model_dump_json(exclude_none=True))
        self._fh.write("\n")
        self.manifest.admissions += 1
        if admission.split is not None:
            self.manifest.splits[admission.split] = self.manifest.splits.get(admission.split, 0) + 1

    def write_all(self, admissions: Iterable[Admission]) -> None:
        """Append many admissions."""
        for admission in admissions:
            self.write(admission)

    def abort(self) -> None:
        """Stop writing and keep nothing: the partial file is not renamed into place."""
        self._close_file()

    def _close_file(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        """Finish the cohort: the admissions file into place, then the manifest."""
        if self._fh is None:
            return
        self._close_file()
        self._tmp.replace(self._final)
        (self.folder / MANIFEST_FILE).write_text(
            self.manifest.model_dump_json(indent=2) + "\n", encoding="utf-8"
        )


def write_cohort(
    folder: str | Path, admissions: Iterable[Admission], *, source: str = "unknown"
) -> CohortManifest:
    """Write admissions to a new cohort folder and return its manifest."""
    with CohortWriter(folder, source=source) as writer:
        writer.write_all(admissions)
    return writer.manifest
