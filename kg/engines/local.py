"""The local engine: this process, or a pool of worker processes on this machine.

Each worker process runs whole units (:func:`~ctk.kg.engines.work.run_unit`): it
opens, decompresses and splits its own files, so the main process neither reads
the corpus nor ships records; it only receives each chunk's delta and writes it to
the store. The extractor reaches the workers once, when they start: with the
``fork`` start method (Linux) the parent's automaton is inherited and shared
copy-on-write; with ``spawn`` it is pickled and rebuilt once per worker.

Each worker talks to the main process over its own pipe (units in, chunk
deltas out; no shared queue or lock, so a worker killed mid-message is seen as
an EOF and reported). Units are handed out in build order, one per worker at a
time (the next as soon as one is done, so workers stay balanced), so memory
stays bounded by a few files' deltas. Workers ignore
``SIGINT``: Ctrl-C stops the main process, which stops the workers; the chunks
already applied stay in the store.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import traceback
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import ClassVar

from ctk.extraction import ConceptExtractor
from ctk.kg.engines.work import (
    BuildEngine,
    BuildWorkerError,
    UnitDone,
    UnitEvent,
    WorkUnit,
    run_unit,
)

__all__ = ["LocalEngine"]

#: Seconds between checks that the workers are alive while waiting for results.
_POLL = 1.0


def _worker(extractor: ConceptExtractor, conn: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        unit = conn.recv()
        if unit is None:
            return
        try:
            for event in run_unit(unit, extractor):
                conn.send(event)
        except BaseException:
            conn.send(("error", unit.number, traceback.format_exc()))
            return


class LocalEngine(BuildEngine):
    """Runs units in this process (``workers=1``) or in a pool of worker processes.

    Args:
        workers: Worker processes (None: all cores; 1: this process, no pool).
        start_method: ``fork``, ``spawn`` or ``forkserver`` (None: the platform's default).

    Example:
        >>> engine = LocalEngine(workers=2)
        >>> engine.workers
        2
    """

    name: ClassVar[str] = "local"

    def __init__(self, workers: int | None = None, *, start_method: str | None = None) -> None:
        self.workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
        self.start_method = start_method

    def run(self, units: Sequence[WorkUnit], extractor: ConceptExtractor) -> Iterator[UnitEvent]:
        """Run every unit; yield chunk and unit events as workers finish them."""
        if self.workers == 1 or len(units) <= 1:
            for unit in units:
                yield from run_unit(unit, extractor)
            return
        yield from self._pool(units, extractor, min(self.workers, len(units)))

    def _pool(
        self, units: Sequence[WorkUnit], extractor: ConceptExtractor, n: int
    ) -> Iterator[UnitEvent]:
        # one duplex pipe per worker, nothing shared: a worker killed mid-message
        # leaves an EOF on its own pipe, never a lock held or a half-read queue
        ctx: BaseContext = mp.get_context(self.start_method)
        procs: list[BaseProcess] = []
        conns: list[Connection] = []
        owner: dict[Connection, int] = {}
        sent = finished = 0
        try:
            for w in range(n):
                ours, theirs = ctx.Pipe(duplex=True)
                p = ctx.Process(  # type: ignore[attr-defined]
                    target=_worker, args=(extractor, theirs), daemon=True
                )
                p.start()
                theirs.close()  # so that the worker's death is an EOF here
                procs.append(p)
                conns.append(ours)
                owner[ours] = w
            for conn in conns:  # one unit each; the next when it is done
                if sent < len(units):
                    conn.send(units[sent])
                    sent += 1
            while finished < len(units):
                ready = wait([*conns, *(p.sentinel for p in procs)], timeout=_POLL)
                for conn in [r for r in ready if isinstance(r, Connection)]:
                    try:
                        event = conn.recv()
                    except (EOFError, OSError):
                        procs[owner[conn]].join(timeout=5)
                        _check_alive(procs)
                        raise BuildWorkerError(
                            "a build worker closed its pipe", hint=_RERUN
                        ) from None
                    if isinstance(event, tuple):
                        _, number, trace = event
                        raise BuildWorkerError(
                            f"a build worker failed on {units[number].path}:\n{trace}",
                            hint=_RERUN,
                        )
                    if isinstance(event, UnitDone):
                        finished += 1
                        if sent < len(units):
                            conn.send(units[sent])
                            sent += 1
                    yield event
                if not any(isinstance(r, Connection) for r in ready):
                    _check_alive(procs)
            for conn in conns:
                conn.send(None)
            for p in procs:
                p.join(timeout=30)
        finally:
            for p in procs:
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join(timeout=5)
            for conn in conns:
                conn.close()


_RERUN = (
    "fix the cause and run the same command again: it resumes after the chunks already in the store"
)


def _check_alive(procs: Sequence[BaseProcess]) -> None:
    for p in procs:
        if p.exitcode is not None:
            reason = (
                f"killed by signal {-p.exitcode}" if p.exitcode < 0 else f"exit code {p.exitcode}"
            )
            raise BuildWorkerError(
                f"a build worker process died ({reason}); out of memory?",
                hint="run the same command again (with fewer --workers if memory is short): "
                "it resumes after the chunks already in the store",
            )
