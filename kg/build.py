"""The knowledge-graph build pipeline: sources -> documents -> mentions -> graph.

:func:`build_graph` reads every input file as a stream and cuts it into *chunks*
of ``chunk_docs`` records, each with a stable id
``"{fingerprint}:{index}"`` where the fingerprint hashes the file's path, size
and modification time, the source format and its options, the extractor and the
chunk size. The work runs in a build *engine* (:mod:`ctk.kg.engines`): the
local one (a pool of worker processes, all cores by default; ``workers=1`` runs
in this process) or Ray. Workers read and decompress their own files; the
main process only applies each chunk's delta to the store, in corpus order
whatever the order workers finish in, one transaction per chunk, via
``store.apply_chunk``, which counts an article the store already holds once
(the same title and abstract in an earlier chunk, file or build: the first copy
applied wins; see :func:`ctk.kg.stores.base.without_duplicates`). A chunk the
store already holds (``store.done_chunks()``)
is not processed again, so an interrupted build resumes where it stopped and a
re-run of a finished build changes nothing. Finally ``store.finalize()``
computes the association weights.

Malformed records are skipped and reported with file and position; a truncated
archive keeps what was read and is reported with where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ctk.errors import ConfigError
from ctk.extraction import ConceptExtractor
from ctk.kg.chunk import ChunkResult
from ctk.kg.engines import make_engine
from ctk.kg.engines.work import BuildEngine, InOrder, plan_units
from ctk.kg.extraction.cooccurrence import DUPLICATE_NOTE
from ctk.kg.sources.base import SourceFormat
from ctk.kg.sources.spec import Source, open_source
from ctk.kg.stores.base import GraphStore
from ctk.registry import EXTRACTORS
from ctk.report import ProblemReport

__all__ = ["BuildProgress", "BuildSummary", "build_graph"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildProgress:
    """Progress after each applied (or skipped) chunk, for a progress bar.

    Attributes:
        file: The input file being read.
        chunks_applied: Chunks applied in this run.
        chunks_skipped: Chunks skipped because the store already had them.
        documents: Documents processed in this run.
        sentences: Sentences processed in this run.
        seconds: Time since the build started.
    """

    file: str
    chunks_applied: int
    chunks_skipped: int
    documents: int
    sentences: int
    seconds: float

    @property
    def docs_per_second(self) -> float:
        """Documents per second so far."""
        return self.documents / self.seconds if self.seconds > 0 else 0.0


@dataclass
class BuildSummary:
    """The result of a build.

    Attributes:
        documents: Documents processed in this run.
        deleted: Deletions (PubMed ``DeleteCitation``) applied in this run.
        sentences: Sentences processed in this run.
        concepts: Concepts in the store after the build.
        relations: Relations in the store after the build.
        chunks_applied: Chunks applied in this run.
        chunks_skipped: Chunks already in the store (resumed or re-run).
        files: Input files read.
        problems: Malformed records and truncated files, with positions.
        skipped: Records left out on purpose (redirects, non-article pages, filter).
        truncated_files: ``path: where it stopped`` for each truncated input.
        seconds: Wall-clock time.
        workers: Processes used for parsing and extraction.
    """

    documents: int = 0
    deleted: int = 0
    sentences: int = 0
    concepts: int = 0
    relations: int = 0
    chunks_applied: int = 0
    chunks_skipped: int = 0
    files: int = 0
    problems: ProblemReport = field(default_factory=ProblemReport)
    skipped: Counter[str] = field(default_factory=Counter)
    truncated_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    @property
    def docs_per_second(self) -> float:
        """Documents per second of wall-clock time."""
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary."""
        return {
            "documents": self.documents,
            "deleted": self.deleted,
            "sentences": self.sentences,
            "concepts": self.concepts,
            "relations": self.relations,
            "chunks_applied": self.chunks_applied,
            "chunks_skipped": self.chunks_skipped,
            "files": self.files,
            "problems": self.problems.as_dict(),
            "skipped": dict(sorted(self.skipped.items())),
            "truncated_files": list(self.truncated_files),
            "seconds": round(self.seconds, 3),
            "docs_per_second": round(self.docs_per_second, 1),
            "workers": self.workers,
        }


# --------------------------------------------------------------------------- build


def _extractor_key(extractor: ConceptExtractor) -> str:
    """The extractor's name, with the options set explicitly (they change what is counted)."""
    options = getattr(extractor, "options", None)
    fields = getattr(options, "model_fields_set", None)
    if not fields or options is None:
        return extractor.name
    return extractor.name + str(options.model_dump_json(include=set(fields)))


def _fingerprint(
    path: Path, fmt: SourceFormat, extractor: ConceptExtractor, chunk_docs: int
) -> str:
    st = path.stat()
    options = sorted((k, repr(v)) for k, v in vars(fmt).items() if not k.startswith("_"))
    key = "|".join(
        [
            str(path.resolve()),
            str(st.st_size),
            str(st.st_mtime_ns),
            fmt.name,
            repr(options),
            _extractor_key(extractor),
            str(chunk_docs),
        ]
    )
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _default_extractor() -> ConceptExtractor:
    return EXTRACTORS.get("dictionary")()


def build_graph(
    sources: Sequence[str | Source],
    store: GraphStore,
    *,
    extractor: ConceptExtractor | None = None,
    workers: int | None = None,
    chunk_docs: int = 2000,
    min_count: int = 1,
    max_evidence: int = 5,
    wiki_categories: Sequence[str] | None = None,
    wiki_title_pattern: str | None = None,
    progress: Callable[[BuildProgress], None] | None = None,
    engine: str | BuildEngine = "local",
    ray_address: str | None = None,
) -> BuildSummary:
    """Build (or resume building) a knowledge graph from corpora into a store.

    Args:
        sources: Source specs (``pubmed:PATH``, ``wikipedia:PATH``, ``text:PATH``) or
            :class:`~ctk.kg.sources.spec.Source` objects.
        store: The graph store to write to.
        extractor: The concept extractor (default: :class:`DictionaryExtractor`). Worker
            processes and Ray actors get it once, when they start.
        workers: Worker processes or Ray actors (None: all cores, or every CPU of the
            Ray cluster; 1 with the local engine: this process).
        chunk_docs: Records per chunk (the unit of resume).
        min_count: Drop edges seen in fewer documents after the build
            (``store.prune``; 1 keeps everything).
        max_evidence: Evidence sentences kept per edge and chunk.
        wiki_categories: Category filter for Wikipedia sources (``["medical"]``...).
        wiki_title_pattern: Title filter (regular expression) for Wikipedia sources.
        progress: Called after each chunk; an exception it raises stops the build
            (already applied chunks stay committed).
        engine: ``"local"`` (this machine), ``"ray"`` (a Ray cluster), or a
            :class:`~ctk.kg.engines.BuildEngine`.
        ray_address: The Ray cluster for ``engine="ray"`` (``auto``, ``ray://host:10001``).

    Returns:
        The build summary.

    Raises:
        ConfigError: A bad source spec or option.
        BuildWorkerError: A worker failed or died (applied chunks stay committed).

    Example:
        >>> from ctk.kg.stores import open_store  # doctest: +SKIP
        >>> with open_store("kg.db") as store:  # doctest: +SKIP
        ...     summary = build_graph(["pubmed:samples/corpora/pubmed_efetch_sample.xml"], store)
    """
    if chunk_docs < 1:
        raise ConfigError(f"chunk_docs must be at least 1, got {chunk_docs}")
    if min_count < 1:
        raise ConfigError(f"min_count must be at least 1, got {min_count}")
    runner = (
        make_engine(engine, workers=workers, ray_address=ray_address)
        if isinstance(engine, str)
        else engine
    )
    opened = [
        s
        if isinstance(s, Source)
        else open_source(s, wiki_categories=wiki_categories, wiki_title_pattern=wiki_title_pattern)
        for s in sources
    ]
    ex = extractor if extractor is not None else _default_extractor()
    summary = BuildSummary(workers=runner.workers)
    started = time.perf_counter()
    files = [
        (path, source.format, _fingerprint(path, source.format, ex, chunk_docs))
        for source in opened
        for path in source.files
    ]
    units = plan_units(
        files,
        store.done_chunks(),
        workers=runner.workers,
        chunk_docs=chunk_docs,
        max_evidence=max_evidence,
    )
    in_order = InOrder(units)
    current = [str(files[0][0]) if files else ""]

    def report_progress() -> None:
        if progress is not None:
            progress(
                BuildProgress(
                    file=current[0],
                    chunks_applied=summary.chunks_applied,
                    chunks_skipped=summary.chunks_skipped,
                    documents=summary.documents,
                    sentences=summary.sentences,
                    seconds=time.perf_counter() - started,
                )
            )

    def apply(item: ChunkResult | int | ProblemReport) -> None:
        if isinstance(item, ProblemReport):  # a file is finished
            summary.problems.merge(item)
            summary.files += 1
            if summary.files < len(files):
                current[0] = str(files[summary.files][0])
            return
        if isinstance(item, int):
            summary.chunks_skipped += item
        else:
            duplicates = store.apply_chunk(item.chunk_id, item.delta).duplicates
            summary.chunks_applied += 1
            summary.documents += item.delta.documents - len(duplicates)
            summary.sentences += item.delta.sentences - sum(d.sentences for d in duplicates)
            summary.deleted += item.deleted
            summary.problems.merge(item.report)
            summary.skipped.update(item.skipped)
            summary.skipped.update(f"{d.source}: {DUPLICATE_NOTE}" for d in duplicates)
        report_progress()

    events = runner.run(units, ex)
    try:
        for event in events:
            for item in in_order.feed(event):
                apply(item)
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    summary.workers = runner.workers
    summary.truncated_files = [
        f"{e.source}: stopped at {e.position} ({e.detail})"
        for e in summary.problems.examples
        if e.reason == "truncated file"
    ]
    store.finalize()
    if min_count > 1:
        store.prune(min_count)
    stats = store.stats()
    summary.concepts = stats.concepts
    summary.relations = stats.relations
    summary.seconds = time.perf_counter() - started
    logger.info(
        "built %d documents (%d chunks, %d already done) in %.1f s",
        summary.documents,
        summary.chunks_applied,
        summary.chunks_skipped,
        summary.seconds,
    )
    return summary
