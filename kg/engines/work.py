"""The unit of work of a build, the contract of an engine, and in-order application.

A build is cut into :class:`WorkUnit`\\ s: one input file, or one *shard* of a
file (every ``shards``-th chunk, from ``shard``) when there are fewer files than
workers. :func:`run_unit` is the whole job of a unit, wherever it runs (this
process, a worker process, a Ray actor): it opens and decompresses the file
itself, cuts the records into chunks of ``chunk_docs`` (chunk ``i`` has the id
``"{fingerprint}:{i}"``, the unit of resume), processes the chunks of its shard
that the store does not have yet with :func:`ctk.kg.chunk.process_chunk`, and
yields one :class:`UnitChunk` per processed chunk and a final :class:`UnitDone`.

A :class:`BuildEngine` runs units and yields their events in any order;
:class:`InOrder` puts the chunks back in corpus order (file by file, chunk by
chunk), so that the store sees the same sequence of deltas whatever the engine
and the number of workers, and the graph (evidence included) is the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import ClassVar, TypeAlias

from ctk.errors import CtkError
from ctk.extraction import ConceptExtractor
from ctk.kg.chunk import ChunkResult, process_chunk
from ctk.kg.sources.base import SourceFormat
from ctk.report import ProblemReport

__all__ = [
    "BuildEngine",
    "BuildWorkerError",
    "InOrder",
    "UnitChunk",
    "UnitDone",
    "UnitEvent",
    "WorkUnit",
    "run_unit",
]


class BuildWorkerError(CtkError):
    """A build worker failed or died; the chunks already applied stay in the store."""


@dataclass(frozen=True)
class WorkUnit:
    """One input file, or one shard of it, to process.

    Attributes:
        number: Position of the unit in the build (0-based).
        file_number: Position of its file in the build (0-based).
        path: The input file.
        fmt: How to read it.
        fingerprint: The file's fingerprint (chunk ids are ``"{fingerprint}:{i}"``).
        chunk_docs: Records per chunk.
        max_evidence: Evidence sentences kept per edge and chunk.
        shard: This unit processes chunks ``i`` with ``i % shards == shard``.
        shards: Units the file is split into.
        done: Chunk indices of this file the store already has (skipped).
    """

    number: int
    file_number: int
    path: Path
    fmt: SourceFormat
    fingerprint: str
    chunk_docs: int
    max_evidence: int
    shard: int = 0
    shards: int = 1
    done: frozenset[int] = frozenset()

    def chunk_id(self, index: int) -> str:
        """The id of chunk ``index`` of this unit's file."""
        return f"{self.fingerprint}:{index}"


@dataclass
class UnitChunk:
    """One processed chunk of a unit.

    Attributes:
        unit: The unit's number.
        index: The chunk's index in its file.
        result: What processing gave.
    """

    unit: int
    index: int
    result: ChunkResult


@dataclass
class UnitDone:
    """A unit has finished.

    Attributes:
        unit: The unit's number.
        chunks: Chunks in the whole file (every shard sees them all).
        report: File-level problems (a truncated archive); empty for shards other than 0.
    """

    unit: int
    chunks: int
    report: ProblemReport = field(default_factory=ProblemReport)


def run_unit(unit: WorkUnit, extractor: ConceptExtractor) -> Iterator[UnitEvent]:
    """Do one unit's work: read, decompress, split, and process its chunks.

    Args:
        unit: The unit.
        extractor: The concept extractor (built once per worker).

    Yields:
        A :class:`UnitChunk` per processed chunk, in file order, then one :class:`UnitDone`.
    """
    report = ProblemReport()
    records = unit.fmt.records(unit.path, report)
    index = 0
    while True:
        batch = list(islice(records, unit.chunk_docs))
        if not batch:
            break
        if index % unit.shards == unit.shard and index not in unit.done:
            result = process_chunk(
                unit.chunk_id(index), unit.fmt, batch, extractor, unit.max_evidence
            )
            yield UnitChunk(unit.number, index, result)
        index += 1
    yield UnitDone(unit.number, index, report if unit.shard == 0 else ProblemReport())


#: What running a unit yields: a processed chunk, or the unit's end.
UnitEvent: TypeAlias = UnitChunk | UnitDone


class BuildEngine(ABC):
    """Runs work units somewhere: this process, a process pool, a Ray cluster.

    Attributes:
        workers: Processes (or Ray actors) that run units at the same time.
    """

    #: The engine's name (``--engine``).
    name: ClassVar[str]
    workers: int = 1

    @abstractmethod
    def run(self, units: Sequence[WorkUnit], extractor: ConceptExtractor) -> Iterator[UnitEvent]:
        """Run every unit; yield their events as they come (any order between units).

        Closing the iterator early stops the workers.

        Raises:
            BuildWorkerError: A worker failed or died.
        """


@dataclass
class _FileState:
    shards: int
    done: frozenset[int]
    received: dict[int, ChunkResult] = field(default_factory=dict)
    finished: int = 0
    chunks: int = -1
    report: ProblemReport = field(default_factory=ProblemReport)


class InOrder:
    """Puts the events of a build's units back in corpus order.

    :meth:`feed` takes one event and returns what can now be applied, in order:
    a :class:`ChunkResult` to apply, the int ``1`` for a chunk the store already
    had, or a :class:`ProblemReport` with a finished file's file-level problems.

    Args:
        units: The build's units.
    """

    def __init__(self, units: Sequence[WorkUnit]) -> None:
        self._units = list(units)
        files: dict[int, _FileState] = {}
        for u in units:
            files.setdefault(u.file_number, _FileState(u.shards, u.done))
        self._files = [files[k] for k in sorted(files)]
        self._file = 0
        self._next = 0

    @property
    def finished(self) -> bool:
        """True once every file has been put out."""
        return self._file >= len(self._files)

    def feed(self, event: UnitEvent) -> list[ChunkResult | int | ProblemReport]:
        """Take one event; return what is ready, in order."""
        state = self._files[self._units[event.unit].file_number]
        if isinstance(event, UnitChunk):
            state.received[event.index] = event.result
        else:
            state.finished += 1
            state.chunks = max(state.chunks, event.chunks)
            state.report.merge(event.report)
        return self._ready()

    def _ready(self) -> list[ChunkResult | int | ProblemReport]:
        out: list[ChunkResult | int | ProblemReport] = []
        while self._file < len(self._files):
            state = self._files[self._file]
            complete = state.finished == state.shards
            if self._next in state.received:
                out.append(state.received.pop(self._next))
            elif self._next in state.done and (not complete or self._next < state.chunks):
                out.append(1)
            elif complete:
                out.append(state.report)
                self._file += 1
                self._next = 0
                continue
            else:
                break
            self._next += 1
        return out


def plan_units(
    files: Sequence[tuple[Path, SourceFormat, str]],
    done: set[str],
    *,
    workers: int,
    chunk_docs: int,
    max_evidence: int,
) -> list[WorkUnit]:
    """Cut a build into units: one per file, or shards of files when files are few.

    Args:
        files: ``(path, format, fingerprint)`` of every input file, in build order.
        done: Chunk ids the store already has.
        workers: Workers that will run the units.
        chunk_docs: Records per chunk.
        max_evidence: Evidence sentences kept per edge and chunk.

    Returns:
        The units, in build order.
    """
    done_by_file: dict[str, set[int]] = {}
    for chunk_id in done:
        fp, _, index = chunk_id.rpartition(":")
        if index.isdigit():
            done_by_file.setdefault(fp, set()).add(int(index))
    # a file is read whole by each of its shards, so shard only to keep workers busy
    shards = 1 if len(files) >= workers else -(-workers // max(1, len(files)))
    units: list[WorkUnit] = []
    for file_number, (path, fmt, fp) in enumerate(files):
        file_done = frozenset(done_by_file.get(fp, ()))
        for shard in range(shards):
            units.append(
                WorkUnit(
                    number=len(units),
                    file_number=file_number,
                    path=path,
                    fmt=fmt,
                    fingerprint=fp,
                    chunk_docs=chunk_docs,
                    max_evidence=max_evidence,
                    shard=shard,
                    shards=shards,
                    done=file_done,
                )
            )
    return units
