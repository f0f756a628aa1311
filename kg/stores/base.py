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
from collections.abc import Iterable, Iterator
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ctk.closeable import Closeable
from ctk.errors import StoreUnavailableError
from ctk.graph import GraphReader, Neighbour, NeighbourQuery

# the write model lives in ctk.kg.delta; its names stay importable from here
from ctk.kg.delta import ChunkApplied as ChunkApplied
from ctk.kg.delta import CountedDocument as CountedDocument
from ctk.kg.delta import GraphDelta as GraphDelta
from ctk.kg.delta import RelationDelta as RelationDelta
from ctk.kg.delta import without_duplicates as without_duplicates
from ctk.kg.matching import ConceptMatcher
from ctk.records import RELATION_TYPES, Concept, Evidence, Relation

__all__ = ["GraphStore", "StoreOptions", "evidence_key"]


class StoreOptions(BaseModel):
    """How a store is opened; each store kind takes the fields that apply to it.

    The library reads no environment variable: the CLI fills the Neo4j login from
    ``CTK_NEO4J_*`` (:class:`ctk.settings.CtkSettings`); a Python user passes it.

    Attributes:
        read_only: Open an embedded store read-only (it must exist).
        max_evidence_per_edge: Evidence sentences kept per edge (the rest only count).
        user: Neo4j user (None: no authentication).
        password: Neo4j password (never logged).
        database: Neo4j database (None: the server's default).
        batch_size: Neo4j rows per ``UNWIND`` write.
    """

    model_config = ConfigDict(extra="forbid")

    read_only: bool = False
    max_evidence_per_edge: int = Field(default=5, ge=1)
    user: str | None = None
    password: SecretStr | None = Field(default=None, repr=False)
    database: str | None = None
    batch_size: int = Field(default=5000, ge=1)


def evidence_key(document_id: str, sentence: str) -> str:
    """The dedup key of one piece of evidence, the same in every store."""
    return hashlib.blake2b(f"{document_id}\x00{sentence}".encode(), digest_size=12).hexdigest()


class GraphStore(GraphReader, Closeable):
    """A knowledge-graph store: the embedded default or Neo4j.

    Stores are context managers; :meth:`close` releases files or connections. A
    store implements :meth:`_stored_neighbours` (the rows as stored); this class
    reads them for :meth:`~ctk.graph.GraphReader.neighbours` as follows.

    **Typed twins are shown as one edge.** A cue-typed edge (``treats``,
    ``causes``...) and the ``associated_with`` edge of the same pair are read
    as one neighbour: the typed relation (its id, type and direction) with
    the ``associated_with`` edge's count and weight (every document that
    types a pair also pairs it, so that count is the union) and the union of
    their evidence, the typed sentences first, up to
    :attr:`max_evidence_per_edge`. It takes the ``associated_with`` edge's
    place in the ranking. The typed edge must pass ``min_count`` itself (a
    type stated in one document does not label an edge of thirty under a
    floor of 2). A pair with several typed edges merges into the best
    supported one; the others stay as they are. The store keeps both
    raw edges (builds resume and merge on whole counts, so the view is the
    same after any number of resumed builds); ``iter_relations`` and the
    exports list them apart. With ``relation_types`` that leaves out
    ``associated_with`` or every typed relation, edges are shown as stored.
    """

    #: Evidence sentences kept per edge (the rest only count).
    max_evidence_per_edge: int = 5

    @classmethod
    def from_spec(cls, spec: str, options: StoreOptions) -> GraphStore:
        """Open the store a spec names; :func:`ctk.kg.stores.open_store` calls it.

        A store registered for a URI scheme (``STORES.register("mystore", MyStore)``
        or an entry point under ``ctk.stores``) overrides this.

        Args:
            spec: The whole spec (``mystore://...``, or a path for the embedded store).
            options: How to open it; a store takes the fields that apply to it.

        Raises:
            StoreUnavailableError: It cannot be opened or reached.
        """
        raise StoreUnavailableError(
            f"{cls.__name__} cannot be opened from a spec ({spec!r})",
            hint="construct it directly, or give it a from_spec classmethod",
        )

    def _neighbours(self, concept_id: str, query: NeighbourQuery) -> list[Neighbour]:
        """The stored edges, typed twins shown as one (see the class docstring)."""
        limit, types, min_count = query.limit, query.relation_types, query.min_count
        typed_types = [
            t for t in RELATION_TYPES if t != "associated_with" and (types is None or t in types)
        ]
        if limit <= 0 or not typed_types or (types is not None and "associated_with" not in types):
            return self._stored_neighbours(concept_id, query)
        # a merged pair takes two rows
        ranked = self._stored_neighbours(concept_id, replace(query, limit=2 * limit + 10))
        pairs = {nb.concept.id for nb in ranked if nb.relation.type == "associated_with"}
        twins: dict[str, Neighbour] = {}
        if pairs:
            typed = self._stored_neighbours(
                concept_id, NeighbourQuery(100_000, tuple(typed_types), None, min_count)
            )
            for nb in typed:
                if nb.concept.id in pairs:
                    best = twins.get(nb.concept.id)
                    if best is None or (nb.relation.count, best.relation.id) > (
                        best.relation.count,
                        nb.relation.id,
                    ):
                        twins[nb.concept.id] = nb
        out: list[Neighbour] = []
        merged_ids = {t.relation.id for t in twins.values()}
        for nb in ranked:
            if nb.relation.id in merged_ids:
                continue  # shown at its associated_with twin's place
            twin = twins.get(nb.concept.id) if nb.relation.type == "associated_with" else None
            out.append(nb if twin is None else self._merge_twin(nb, twin))
            if len(out) == limit:
                break
        return out

    def _merge_twin(self, untyped: Neighbour, typed: Neighbour) -> Neighbour:
        """A typed edge and its ``associated_with`` twin as one (see the class docstring)."""
        evidence: list[Evidence] = []
        seen: set[tuple[str, str]] = set()
        for e in (*typed.relation.evidence, *untyped.relation.evidence):
            key = (e.document_id, e.sentence)
            if key not in seen and len(evidence) < self.max_evidence_per_edge:
                seen.add(key)
                evidence.append(e)
        rel = typed.relation.model_copy(
            update={
                "count": max(untyped.relation.count, typed.relation.count),
                "weight": max(untyped.relation.weight, typed.relation.weight),
                "evidence": evidence,
            }
        )
        return Neighbour(relation=rel, concept=typed.concept, direction=typed.direction)

    @abstractmethod
    def _stored_neighbours(self, concept_id: str, query: NeighbourQuery) -> list[Neighbour]:
        """The stored edges ``query`` selects, as :meth:`neighbours` orders them, no merging."""

    # ------------------------------------------------------------------ writes
    @abstractmethod
    def apply_chunk(self, chunk_id: str, delta: GraphDelta) -> ChunkApplied:
        """Add one chunk's delta and mark the chunk done, atomically.

        Documents of ``delta.counted`` whose content key the store already holds
        are taken out first (:func:`without_duplicates`, in the same
        transaction) and returned as the result's ``duplicates``; the keys of the
        others are stored, so an article is counted once across chunks, files
        and resumed builds.

        Returns:
            What was done: ``applied`` is False (and nothing changed) when the
            chunk was already applied.
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

    def iter_counted_documents(self) -> Iterator[tuple[str, str, str]]:
        """``(content key, source, document id)`` of every counted article, by key.

        The bookkeeping of duplicate articles (:func:`without_duplicates`), for
        exports that must carry it (``neo4j-admin`` import files). None by default.
        """
        return iter(())

    def concept_finder(self, *, min_length: int = 3) -> ConceptMatcher:
        """A matcher of this graph's concept names and synonyms (built from every concept)."""
        return ConceptMatcher(self.iter_concepts(), min_length=min_length)

    @abstractmethod
    def close(self) -> None:
        """Release files or connections."""
