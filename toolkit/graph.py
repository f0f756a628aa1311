"""What the core reads from a knowledge graph, without knowing which store holds it.

The teacher step (retrievers, the rationale check) reads a graph through
:class:`GraphReader`; the stores of :mod:`ctk.kg.stores` implement it (and the
writes a build needs). The core names no store, so it never imports ``ctk.kg``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from ctk.records import Concept, Relation

__all__ = [
    "DEFAULT_MIN_SUPPORT",
    "ConceptFinder",
    "GraphFact",
    "GraphReader",
    "GraphStats",
    "Neighbour",
    "NeighbourQuery",
    "fact_sentence",
]

#: The support floor of what readers show by default: an edge must rest on at least
#: this many documents (``Relation.count``) to be listed by ``ctk kg query``, read
#: by the graph retriever and the teacher's facts, or count towards a concept's
#: V_k score. Edges under it stay in the store (builds resume and merge on whole
#: counts); pass ``min_count=1`` to see them. Judged by hand (issue 10), edges on
#: one document were relevant about half as often as edges on two or more.
DEFAULT_MIN_SUPPORT = 2


#: How an edge reads in a sentence ("X is a symptom of Y"), by relation type.
_RELATION_PHRASES = {
    "causes": "causes",
    "symptom_of": "is a symptom of",
    "treats": "treats",
    "diagnosed_by": "is diagnosed by",
    "associated_with": "is associated with",
}


def fact_sentence(source_name: str, relation_type: str, target_name: str) -> str:
    """An edge as one English sentence, as the retriever and the teacher show it.

    Example:
        >>> fact_sentence("fever", "symptom_of", "sepsis")
        'Fever is a symptom of sepsis.'
    """
    phrase = _RELATION_PHRASES.get(relation_type, relation_type.replace("_", " "))
    return f"{source_name[:1].upper()}{source_name[1:]} {phrase} {target_name}."


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


@dataclass(frozen=True)
class NeighbourQuery:
    """Which edges of a concept :meth:`GraphReader.neighbours` asks for (see there).

    Attributes:
        limit: Most neighbours returned.
        relation_types: Only these relation types (None: every type).
        min_weight: Only edges with at least this weight.
        min_count: Only edges seen in at least this many documents.
    """

    limit: int = 20
    relation_types: tuple[str, ...] | None = None
    min_weight: float | None = None
    min_count: int = 1


class ConceptFinder(Protocol):
    """Finds a graph's concepts in free text."""

    @property
    def mentions(self) -> Mapping[str, int]:
        """Corpus mentions of each concept id it knows (to rank what :meth:`find` returns)."""
        ...

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

    def neighbours(
        self,
        concept_id: str,
        *,
        limit: int = 20,
        relation_types: Iterable[str] | None = None,
        min_weight: float | None = None,
        min_count: int = 1,
    ) -> list[Neighbour]:
        """Edges touching a concept, in either direction, best weight (then count) first.

        ``min_weight`` and ``min_count`` (documents behind the edge) filter before
        ``limit`` applies. The store's default shows every edge; readers that
        rank for people or models pass :data:`DEFAULT_MIN_SUPPORT`. This is the one
        documented entry point; a reader implements :meth:`_neighbours`.

        Args:
            concept_id: The concept.
            limit: Most neighbours returned.
            relation_types: Only these relation types (``symptom_of``...).
            min_weight: Only edges with at least this weight.
            min_count: Only edges seen in at least this many documents.

        Raises:
            SchemaViolationError: An unknown relation type in ``relation_types``.
        """
        types = None if relation_types is None else tuple(relation_types)
        return self._neighbours(concept_id, NeighbourQuery(limit, types, min_weight, min_count))

    @abstractmethod
    def _neighbours(self, concept_id: str, query: NeighbourQuery) -> list[Neighbour]:
        """The edges ``query`` selects (the contract of :meth:`neighbours`)."""

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
