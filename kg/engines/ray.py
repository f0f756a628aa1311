"""The Ray engine: the same units as the local engine, run by Ray actors on a cluster.

Each actor builds the extractor once (one per CPU it is given) and runs units
with :func:`~ctk.kg.engines.work.run_unit` as a streaming generator: every
chunk's delta comes back to the driver as soon as it is done, where the build
applies it to the store, in corpus order, exactly as with the local engine. Chunk
ids are the same, so a build started with one engine resumes with the other, and
both give the same graph.

The actors open the input files by path: on a cluster the corpus must be at the
same path on every node (a shared file system), and ctk must be installed in the
nodes' Python environment. Needs ``pip install "clinragen-toolkit[ray]"``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from ctk.errors import MissingDependencyError
from ctk.extraction import ConceptExtractor
from ctk.kg.engines.work import (
    BuildEngine,
    BuildWorkerError,
    UnitEvent,
    WorkUnit,
    run_unit,
)

__all__ = ["RayEngine"]

logger = logging.getLogger(__name__)


class _UnitWorker:
    """A Ray actor: holds one extractor and runs units with it."""

    def __init__(self, extractor: ConceptExtractor) -> None:
        self.extractor = extractor

    def run(self, unit: WorkUnit) -> Iterator[UnitEvent]:
        yield from run_unit(unit, self.extractor)


class RayEngine(BuildEngine):
    """Runs units as Ray actor tasks, on a local Ray or an existing cluster.

    Args:
        workers: Actors (one CPU each; None: every CPU of the cluster).
        address: The cluster (``auto``, ``ray://head:10001``; None: the Ray this
            process is connected to, else a new local one).

    Example:
        >>> engine = RayEngine(workers=2, address="auto")  # doctest: +SKIP
    """

    name: ClassVar[str] = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None) -> None:
        self.requested = workers
        self.workers = workers or 1
        self.address = address

    def run(self, units: Sequence[WorkUnit], extractor: ConceptExtractor) -> Iterator[UnitEvent]:
        """Run every unit on Ray actors; yield chunk and unit events as they arrive."""
        try:
            import ray
        except ImportError as e:
            raise MissingDependencyError("ray", "ray") from e
        started_here = False
        if not ray.is_initialized():
            ray.init(
                address=self.address,
                num_cpus=self.requested if self.address is None else None,
                include_dashboard=False,
                logging_level=logging.WARNING,
            )
            started_here = True
        actors: list[Any] = []
        try:
            resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
            cpus = int(resources.get("CPU", 1))
            self.workers = max(1, min(self.requested or cpus, len(units) or 1))
            actor_cls: Any = ray.remote(num_cpus=1)(_UnitWorker)
            shared = ray.put(extractor)
            actors = [actor_cls.remote(shared) for _ in range(self.workers)]
            yield from self._schedule(ray, units, actors)
        finally:
            for actor in actors:
                ray.kill(actor)
            if started_here:
                ray.shutdown()

    @staticmethod
    def _schedule(ray: Any, units: Sequence[WorkUnit], actors: list[Any]) -> Iterator[UnitEvent]:
        pending = list(reversed(units))
        running: dict[Any, tuple[Any, WorkUnit]] = {}

        def start(actor: Any) -> None:
            if pending:
                unit = pending.pop()
                gen = actor.run.options(num_returns="streaming").remote(unit)
                running[gen] = (actor, unit)

        for actor in actors:
            start(actor)
        while running:
            ready, _ = ray.wait(list(running), num_returns=1)
            gen = ready[0]
            actor, unit = running[gen]
            try:
                ref = next(gen)
                event = ray.get(ref)
            except StopIteration:
                del running[gen]
                start(actor)
                continue
            except ray.exceptions.RayError as e:
                raise BuildWorkerError(
                    f"a Ray build task failed on {unit.path}: {e}",
                    hint="check that every node sees the input files at the same path and "
                    "has ctk installed; run the same command again to resume",
                ) from e
            yield event
