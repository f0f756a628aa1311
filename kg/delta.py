"""What a chunk of the corpus adds to the graph, as the stores receive it.

:class:`GraphDelta` is the write model between the extraction
(:mod:`ctk.kg.extraction.cooccurrence` makes one per chunk) and the stores
(:meth:`ctk.kg.stores.base.GraphStore.apply_chunk` applies it in one transaction and
returns a :class:`ChunkApplied`). It sits apart from both so that neither imports
the other. :func:`without_duplicates` takes out the articles a store already counted.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from ctk.records import Concept, Evidence, RelationType

__all__ = [
    "ChunkApplied",
    "CountedDocument",
    "GraphDelta",
    "RelationDelta",
    "without_duplicates",
]


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
