"""The interface every knowledge-graph store implements.

A build writes the graph in *chunks* (one input file, or a slice of one): each
chunk's :class:`GraphDelta` is applied in one transaction together with a marker
that the chunk is done, so a crashed or interrupted build resumes by skipping the
chunks already committed, and a re-run of a finished build changes nothing.
Weights are derived from the accumulated counts by :meth:`GraphStore.finalize`.
"""

from __future__ import annotations

import hashlib
from abc import abstractmethod
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from ctk.closeable import Closeable
from ctk.graph import GraphReader, GraphStats, Neighbour
from ctk.kg.matching import ConceptMatcher
from ctk.records import Concept, Evidence, Relation, RelationType

__all__ = [
    "GraphDelta",
    "GraphStats",
    "GraphStore",
    "Neighbour",
    "RelationDelta",
    "evidence_key",
]


def evidence_key(document_id: str, sentence: str) -> str:
    """The dedup key of one piece of evidence, the same in every store."""
    return hashlib.blake2b(f"{document_id}\x00{sentence}".encode(), digest_size=12).hexdigest()


class RelationDelta(BaseModel):
    """Counts (and evidence) to add to one edge."""

    model_config = ConfigDict(extra="forbid")

    source_id: str
    target_id: str
    type: RelationType
    count: int = 1
    evidence: list[Evidence] = Field(default_factory=list)


class GraphDelta(BaseModel):
    """What one chunk of the corpus adds to the graph.

    Attributes:
        concepts: Concepts seen; ``mentions`` is the number of sentences of this
            chunk mentioning each (added to the stored count).
        relations: Edge increments.
        sentences: Sentences read in this chunk (for association weights).
        documents: Documents read in this chunk.
        deleted_documents: Document ids the source retracted (PubMed
            ``DeleteCitation``): their evidence is removed.
    """

    model_config = ConfigDict(extra="forbid")

    concepts: list[Concept] = Field(default_factory=list)
    relations: list[RelationDelta] = Field(default_factory=list)
    sentences: int = 0
    documents: int = 0
    deleted_documents: list[str] = Field(default_factory=list)


class GraphStore(GraphReader, Closeable):
    """A knowledge-graph store: the embedded default or Neo4j.

    Stores are context managers; :meth:`close` releases files or connections.
    """

    #: Evidence sentences kept per edge (the rest only count).
    max_evidence_per_edge: int = 5

    # ------------------------------------------------------------------ writes
    @abstractmethod
    def apply_chunk(self, chunk_id: str, delta: GraphDelta) -> bool:
        """Add one chunk's delta and mark the chunk done, atomically.

        Returns:
            False (and changes nothing) when the chunk was already applied.
        """

    @abstractmethod
    def done_chunks(self) -> set[str]:
        """Ids of the chunks already applied."""

    def chunk_times(self) -> dict[str, str | None]:
        """Ids of the chunks already applied, with when (ISO 8601 UTC; None when unknown)."""
        return dict.fromkeys(self.done_chunks())

    @abstractmethod
    def finalize(self) -> None:
        """Recompute every edge's association weight from the accumulated counts."""

    @abstractmethod
    def prune(self, min_count: int) -> int:
        """Delete edges (with their evidence) whose count is below ``min_count``.

        Returns:
            The number of edges deleted.
        """

    @abstractmethod
    def upsert_concepts(self, concepts: Iterable[Concept]) -> int:
        """Insert or replace concepts as given (import, vocabulary); returns how many."""

    @abstractmethod
    def upsert_relations(self, relations: Iterable[Relation]) -> int:
        """Insert or replace relations as given (import); returns how many."""

    @abstractmethod
    def clear(self) -> None:
        """Delete everything."""

    # ------------------------------------------------------------------ reads
    # get_concept, find_concepts, get_relation, neighbours, iter_concepts,
    # iter_relations and stats are declared by ctk.graph.GraphReader.

    def concept_finder(self, *, min_length: int = 3) -> ConceptMatcher:
        """A matcher of this graph's concept names and synonyms (built from every concept)."""
        return ConceptMatcher(self.iter_concepts(), min_length=min_length)

    @abstractmethod
    def close(self) -> None:
        """Release files or connections."""
