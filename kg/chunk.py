"""The unit of work of a knowledge-graph build: one chunk of records in, one delta out.

:func:`process_chunk` is all a worker does to a chunk, wherever it runs (this
process, a worker process, a Ray actor): parse the raw records, extract the
concepts, count the co-occurrences, and give back a :class:`ChunkResult`. The
build (:mod:`ctk.kg.build`) and the engines (:mod:`ctk.kg.engines`) both import
it from here; neither imports the other's internals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ctk.extraction import ConceptExtractor
from ctk.kg.delta import GraphDelta
from ctk.kg.extraction.cooccurrence import CooccurrenceCounter
from ctk.kg.sources.base import SourceFormat
from ctk.kg.sources.xml_records import RawRecord
from ctk.report import ProblemReport

__all__ = ["ChunkResult", "process_chunk"]


@dataclass
class ChunkResult:
    """What processing one chunk gives back to the main process.

    Attributes:
        chunk_id: The chunk's id (``"{fingerprint}:{index}"``).
        delta: What the chunk adds to the graph.
        report: Malformed records, with file and position.
        skipped: Records left out on purpose, by reason.
        deleted: Deletions (PubMed ``DeleteCitation``) the chunk carries.
    """

    chunk_id: str
    delta: GraphDelta
    report: ProblemReport
    skipped: Counter[str]
    deleted: int


def process_chunk(
    chunk_id: str,
    fmt: SourceFormat,
    records: Sequence[RawRecord],
    extractor: ConceptExtractor,
    max_evidence: int = 5,
) -> ChunkResult:
    """Parse one chunk's records, extract concepts and count co-occurrences.

    Args:
        chunk_id: The chunk's id.
        fmt: The source format that parses the records.
        records: The raw records.
        extractor: The concept extractor.
        max_evidence: Evidence sentences kept per edge.

    Returns:
        The chunk's delta, problems and skip counts.
    """
    report = ProblemReport()
    skipped: Counter[str] = Counter()
    counter = CooccurrenceCounter(extractor, max_evidence=max_evidence)
    # parse every record first, then count: the XML parser's and the extractor's
    # working sets stay in the CPU caches in turn (about 10% faster than alternating)
    parsed = [fmt.parse(record, report, skipped) for record in records]
    for items in parsed:
        counter.add(items)
    skipped.update({f"{fmt.name}: {note}": n for note, n in counter.notes.items()})
    return ChunkResult(chunk_id, counter.delta(), report, skipped, len(counter.deleted))
