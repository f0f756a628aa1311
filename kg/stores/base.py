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
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ctk.closeable import Closeable
from ctk.errors import StoreUnavailableError
from ctk.graph import GraphReader, GraphStats, Neighbour
from ctk.kg.matching import ConceptMatcher
from ctk.records import RELATION_TYPES, Concept, Evidence, Relation, RelationType

__all__ = [
    "ChunkApplied",
    "CountedDocument",
    "GraphDelta",
    "GraphStats",
    "GraphStore",
    "Neighbour",
    "RelationDelta",
    "StoreOptions",
    "evidence_key",
    "without_duplicates",
]


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


class RelationDelta(BaseModel):
    """Counts (and evidence) to add to one edge."""

    model_config = ConfigDict(extra="forbid")

    source_id: str
    target_id: str
    type: RelationType
    count: int = 1
    evidence: list[Evidence] = Field(default_factory=list)


class CountedDocument(BaseModel):
    """What one document with a content key added to its chunk's :class:`GraphDelta`.

    The store needs it to count an article once across chunks, files and
    resumed builds: when it already holds ``key`` (the same title and abstract
    counted under another, or the same, document id), it takes this document's
    contributions out of the delta before applying it (:func:`without_duplicates`).

    Attributes:
        key: The content key (title and abstract, case and spacing folded, hashed).
        source: The document's source (``pubmed``...).
        doc_id: The document's id (PMID...).
        sentences: Sentences it added to ``GraphDelta.sentences``.
        concepts: Indexes into ``GraphDelta.concepts`` of the concepts whose
            ``mentions`` it raised by one.
        relations: Indexes into ``GraphDelta.relations`` of the edges whose
            ``count`` it raised by one.
        evidence: ``(relation index, evidence index)`` of each evidence sentence it gave.
    """

    model_config = ConfigDict(extra="forbid")

    key: str
    source: str
    doc_id: str
    sentences: int = 0
    concepts: list[int] = Field(default_factory=list)
    relations: list[int] = Field(default_factory=list)
    evidence: list[tuple[int, int]] = Field(default_factory=list)


@dataclass(frozen=True)
class ChunkApplied:
    """What :meth:`GraphStore.apply_chunk` did with one chunk.

    Attributes:
        applied: False when the store already held the chunk (nothing changed).
        duplicates: The documents taken out of the delta as copies of articles the
            store had already counted (:func:`without_duplicates`); their sentences
            and the documents themselves are not counted again.
    """

    applied: bool
    duplicates: tuple[CountedDocument, ...] = ()


class GraphDelta(BaseModel):
    """What one chunk of the corpus adds to the graph.

    Attributes:
        concepts: Concepts seen; ``mentions`` is the number of documents of this
            chunk mentioning each (added to the stored count).
        relations: Edge increments.
        sentences: Sentences read in this chunk (for association weights).
        documents: Documents read in this chunk.
        deleted_documents: Document ids the source retracted (PubMed
            ``DeleteCitation``): their evidence is removed.
        counted: The documents with a content key that this delta counts, with
            what each added (see :class:`CountedDocument`); the store keeps
            their keys and counts an article it already holds once.
    """

    model_config = ConfigDict(extra="forbid")

    concepts: list[Concept] = Field(default_factory=list)
    relations: list[RelationDelta] = Field(default_factory=list)
    sentences: int = 0
    documents: int = 0
    deleted_documents: list[str] = Field(default_factory=list)
    counted: list[CountedDocument] = Field(default_factory=list)


def without_duplicates(
    delta: GraphDelta, stored: Container[str]
) -> tuple[GraphDelta, list[CountedDocument]]:
    """The delta less the documents whose content key is already counted.

    A document of ``delta.counted`` is a duplicate when its key is in
    ``stored`` (the store counted that article in an earlier chunk, under
    another document id or the same one: a revised record) or repeats a key
    earlier in ``delta.counted``. Each duplicate's contributions are
    subtracted: one mention of each of its concepts, one count of each of its
    edges, its evidence sentences, its sentences and the document itself. An
    edge or concept left with nothing is dropped from the delta. The first copy
    counted wins; the copies of one article add the same concepts and edges
    (they have the same text), so the counts do not depend on which copy comes
    first, only the evidence's document id does (and MeSH headings, where two
    copies were indexed differently).

    Args:
        delta: A chunk's delta.
        stored: The content keys the store already holds (those of
            ``delta.counted`` are enough).

    Returns:
        The delta to apply (``counted`` lists the documents kept, whose keys
        the store now records) and the documents dropped as duplicates. When
        nothing is dropped, ``delta`` itself.

    Raises:
        ValueError: ``counted`` names contributions the delta does not hold
            (an index out of range, a count that would go below zero).
    """
    kept: list[CountedDocument] = []
    dropped: list[CountedDocument] = []
    seen: set[str] = set()
    for doc in delta.counted:
        if doc.key in seen or doc.key in stored:
            dropped.append(doc)
        else:
            seen.add(doc.key)
            kept.append(doc)
    if not dropped:
        return delta, []
    mentions = [c.mentions for c in delta.concepts]
    counts = [r.count for r in delta.relations]
    gone: set[tuple[int, int]] = set()
    try:
        for doc in dropped:
            if min([*doc.concepts, *doc.relations, 0]) < 0:
                raise IndexError("negative index")
            for i in doc.concepts:
                mentions[i] -= 1
            for i in doc.relations:
                counts[i] -= 1
            gone.update(doc.evidence)
    except IndexError as e:
        raise ValueError(
            f"a counted document names a concept or edge not in the delta ({e})"
        ) from e
    sentences = delta.sentences - sum(d.sentences for d in dropped)
    documents = delta.documents - len(dropped)
    if min([*mentions, *counts, sentences, documents]) < 0:
        raise ValueError("the counted documents add more than the delta holds")
    concept_index: dict[int, int] = {}
    concepts: list[Concept] = []
    for i, (c, n) in enumerate(zip(delta.concepts, mentions, strict=True)):
        if n > 0 or n == c.mentions:  # left with nothing by a duplicate: dropped
            concept_index[i] = len(concepts)
            concepts.append(c if n == c.mentions else c.model_copy(update={"mentions": n}))
    relation_index: dict[int, int] = {}
    relations: list[RelationDelta] = []
    for i, (r, n) in enumerate(zip(delta.relations, counts, strict=True)):
        if n > 0 or n == r.count:
            relation_index[i] = len(relations)
            evidence = [e for j, e in enumerate(r.evidence) if (i, j) not in gone]
            if n == r.count and len(evidence) == len(r.evidence):
                relations.append(r)
            else:
                relations.append(r.model_copy(update={"count": n, "evidence": evidence}))
    reduced = delta.model_copy(
        update={
            "concepts": concepts,
            "relations": relations,
            "sentences": sentences,
            "documents": documents,
            "counted": [_reindexed(d, concept_index, relation_index, gone) for d in kept],
        }
    )
    return reduced, dropped


def _reindexed(
    doc: CountedDocument,
    concept_index: dict[int, int],
    relation_index: dict[int, int],
    gone: set[tuple[int, int]],
) -> CountedDocument:
    """A kept document's contributions, with indexes into the reduced delta."""
    evidence: list[tuple[int, int]] = []
    for ri, ei in doc.evidence:
        # an evidence index shifts down by the dropped evidence before it
        shift = sum(1 for j in range(ei) if (ri, j) in gone)
        evidence.append((relation_index[ri], ei - shift))
    return doc.model_copy(
        update={
            "concepts": [concept_index[i] for i in doc.concepts],
            "relations": [relation_index[i] for i in doc.relations],
            "evidence": evidence,
        }
    )


class GraphStore(GraphReader, Closeable):
    """A knowledge-graph store: the embedded default or Neo4j.

    Stores are context managers; :meth:`close` releases files or connections.
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

    def neighbours(
        self,
        concept_id: str,
        *,
        limit: int = 20,
        relation_types: Iterable[str] | None = None,
        min_weight: float | None = None,
        min_count: int = 1,
    ) -> list[Neighbour]:
        """Edges touching a concept, either direction, best weight (then count) first.

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

        Args:
            concept_id: The concept.
            limit: Most neighbours returned.
            relation_types: Only these relation types (``symptom_of``...).
            min_weight: Only edges with at least this weight.
            min_count: Only edges seen in at least this many documents.

        Raises:
            SchemaViolationError: An unknown relation type in ``relation_types``.
        """
        types = None if relation_types is None else list(relation_types)
        typed_types = [
            t for t in RELATION_TYPES if t != "associated_with" and (types is None or t in types)
        ]
        if limit <= 0 or not typed_types or (types is not None and "associated_with" not in types):
            return self._neighbours(
                concept_id,
                limit=limit,
                relation_types=types,
                min_weight=min_weight,
                min_count=min_count,
            )
        ranked = self._neighbours(
            concept_id,
            limit=2 * limit + 10,  # a merged pair takes two rows
            relation_types=types,
            min_weight=min_weight,
            min_count=min_count,
        )
        pairs = {nb.concept.id for nb in ranked if nb.relation.type == "associated_with"}
        twins: dict[str, Neighbour] = {}
        if pairs:
            typed = self._neighbours(
                concept_id, limit=100_000, relation_types=typed_types, min_count=min_count
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
        """A typed edge and its ``associated_with`` twin as one (see :meth:`neighbours`)."""
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
    def _neighbours(
        self,
        concept_id: str,
        *,
        limit: int = 20,
        relation_types: Iterable[str] | None = None,
        min_weight: float | None = None,
        min_count: int = 1,
    ) -> list[Neighbour]:
        """Stored edges touching a concept, either direction, best weight (then count) first."""

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
