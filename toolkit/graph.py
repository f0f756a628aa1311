"""What the core reads from a knowledge graph, without knowing which store holds it.

The teacher step (retrievers, the rationale check) reads a graph through
:class:`GraphReader`; the stores of :mod:`ctk.kg.stores` implement it (and the
writes a build needs). The core names no store, so it never imports ``ctk.kg``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from ctk.records import Concept, Relation

__all__ = ["ConceptFinder", "GraphFact", "GraphReader", "GraphStats", "Neighbour"]


class Neighbour(BaseModel):
    """One edge seen from a concept: the relation and the concept at its other end."""

    model_config = ConfigDict(extra="forbid")

    relation: Relation
    concept: Concept
    direction: str = "out"  # "out": concept is the target; "in": it is the source


class GraphStats(BaseModel):
    """Sizes of a graph."""

    model_config = ConfigDict(extra="forbid")

    concepts: int = 0
    relations: int = 0
    evidence: int = 0
    sentences: int = 0
    documents: int = 0
    chunks: int = 0
    concepts_by_type: dict[str, int] = Field(default_factory=dict)
    relations_by_type: dict[str, int] = Field(default_factory=dict)


class GraphFact(BaseModel):
    """A knowledge-graph fact behind a diagnosis, with where it was read."""

    fact_id: str
    diagnosis: str
    claim: str
    weight: float
    documents: list[str] = Field(default_factory=list)


class ConceptFinder(Protocol):
    """Finds a graph's concepts in free text."""

    def find(self, text: str) -> list[str]:
        """Concept ids mentioned in ``text``, in order of first mention, no duplicates."""
        ...


class GraphReader(ABC):
    """The read side of a knowledge-graph store."""

    @abstractmethod
    def get_concept(self, concept_id: str) -> Concept | None:
        """One concept by id."""

    @abstractmethod
    def find_concepts(self, name: str, *, limit: int = 10) -> list[Concept]:
        """Concepts named ``name`` (name or synonym, case-insensitive), then prefix matches."""

    @abstractmethod
    def get_relation(self, fact_id: str) -> Relation | None:
        """One relation by fact id, with its evidence."""

    @abstractmethod
    def neighbours(
        self,
        concept_id: str,
        *,
        limit: int = 20,
        relation_types: Iterable[str] | None = None,
        min_weight: float | None = None,
    ) -> list[Neighbour]:
        """Edges touching a concept, in either direction, best weight first."""

    @abstractmethod
    def iter_concepts(self) -> Iterator[Concept]:
        """Every concept (streamed)."""

    @abstractmethod
    def iter_relations(self, *, with_evidence: bool = True) -> Iterator[Relation]:
        """Every relation (streamed)."""

    @abstractmethod
    def stats(self) -> GraphStats:
        """Sizes."""

    @abstractmethod
    def concept_finder(self, *, min_length: int = 3) -> ConceptFinder:
        """A matcher of this graph's concept names and synonyms in text.

        Args:
            min_length: Shortest name matched.
        """
