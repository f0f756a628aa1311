"""Sentence-level co-occurrence counting: documents -> one chunk's :class:`GraphDelta`.

For each sentence of each document, the extractor's mentions are collected
(negated mentions are left out, and a concept counts once per sentence). Then:

* each concept's ``mentions`` grows by one per sentence that mentions it;
* every pair of distinct concepts in the sentence adds 1 to an undirected
  ``associated_with`` edge (stored with the smaller id as source);
* a pair linked by a cue phrase (:mod:`ctk.kg.extraction.cues`) also adds 1 to
  the typed, directed edge the cue states;
* each edge keeps up to ``max_evidence`` evidence sentences per chunk (source,
  document id, sentence, year), the first ones in corpus order.

Counts add up across chunks, so a store's ``finalize()`` can compute NPMI
(:mod:`ctk.kg.extraction.weights`) from the totals: ``n(a)`` = concept mentions,
``n(a,b)`` = the ``associated_with`` count, ``N`` = sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import combinations
from typing import cast

from ctk.extraction import ConceptExtractor, Mention
from ctk.kg.extraction.cues import typed_relation
from ctk.kg.extraction.sentences import split_sentences
from ctk.kg.sources.document import Deletion, Document
from ctk.kg.stores.base import GraphDelta, RelationDelta
from ctk.records import Concept, Evidence, RelationType

__all__ = ["MAX_SENTENCE_CHARS", "CooccurrenceCounter"]

#: Evidence sentences longer than this are cut (with an ellipsis).
MAX_SENTENCE_CHARS = 600


_EvidenceMaker = Callable[[], Evidence]


@dataclass
class _Edge:
    count: int = 0
    evidence: list[Evidence] = field(default_factory=list)


class CooccurrenceCounter:
    """Accumulates one chunk's concepts, edges and evidence.

    Args:
        extractor: The concept extractor.
        max_evidence: Evidence sentences kept per edge (in this chunk).

    Example:
        >>> from ctk.plugins.extractors.dictionary import DictionaryExtractor
        >>> counter = CooccurrenceCounter(DictionaryExtractor())
        >>> counter.add_text("text", "d1", "Heart failure presents with dyspnea.")
        1
        >>> [r.type for r in counter.delta().relations]
        ['associated_with', 'symptom_of']
    """

    def __init__(self, extractor: ConceptExtractor, *, max_evidence: int = 5) -> None:
        self.extractor = extractor
        self.max_evidence = max_evidence
        self.sentences = 0
        self.documents = 0
        self.deleted: list[str] = []
        self._mentions: dict[str, int] = {}
        self._concepts: dict[str, Concept] = {}
        self._edges: dict[tuple[str, str, str], _Edge] = {}

    def _concept(self, m: Mention) -> None:
        if m.concept_id not in self._concepts:
            known = self.extractor.concept(m.concept_id)
            self._concepts[m.concept_id] = known or Concept(
                id=m.concept_id,
                name=m.name,
                type=m.type,  # type: ignore[arg-type]
            )
        self._mentions[m.concept_id] = self._mentions.get(m.concept_id, 0) + 1

    def _edge(self, key: tuple[str, str, str], ev: list[Evidence], make: _EvidenceMaker) -> None:
        edge = self._edges.get(key)
        if edge is None:
            edge = self._edges[key] = _Edge()
        edge.count += 1
        if len(edge.evidence) < self.max_evidence:
            if not ev:
                ev.append(make())
            edge.evidence.append(ev[0])

    def add_sentence(
        self, source: str, doc_id: str, sentence: str, year: int | None = None
    ) -> list[Mention]:
        """Count one sentence; returns the mentions used (not negated, one per concept)."""
        self.sentences += 1
        seen: dict[str, Mention] = {}
        for m in self.extractor.extract(sentence):
            if not m.negated and m.concept_id not in seen:
                seen[m.concept_id] = m
        mentions = list(seen.values())
        for m in mentions:
            self._concept(m)
        if len(mentions) < 2:
            return mentions

        def make() -> Evidence:
            # built only when an edge still wants evidence; fields are plain str/int
            text = sentence
            if len(text) > MAX_SENTENCE_CHARS:
                text = text[: MAX_SENTENCE_CHARS - 1] + "…"
            return Evidence.model_construct(
                source=source, document_id=doc_id, sentence=text, year=year
            )

        ev: list[Evidence] = []
        ordered = sorted(mentions, key=lambda m: m.start)
        for a, b in combinations(ordered, 2):
            ids = (
                (a.concept_id, b.concept_id)
                if a.concept_id < b.concept_id
                else (b.concept_id, a.concept_id)
            )
            self._edge((ids[0], "associated_with", ids[1]), ev, make)
            typed = typed_relation(sentence, a, b)
            if typed is not None:
                self._edge((typed.source_id, typed.type, typed.target_id), ev, make)
        return mentions

    def add_text(self, source: str, doc_id: str, text: str, year: int | None = None) -> int:
        """Split a text into sentences and count each; returns the sentence count."""
        n = 0
        for sentence in split_sentences(text):
            self.add_sentence(source, doc_id, sentence, year)
            n += 1
        return n

    def add_document(self, doc: Document) -> int:
        """Count a document's title and body; returns its sentence count."""
        self.documents += 1
        return sum(self.add_text(doc.source, doc.doc_id, p, doc.year) for p in doc.passages())

    def add(self, items: Iterable[Document | Deletion]) -> None:
        """Count documents; record deletions."""
        for item in items:
            if isinstance(item, Deletion):
                self.deleted.append(item.doc_id)
            else:
                self.add_document(item)

    def delta(self) -> GraphDelta:
        """The chunk's delta, in a deterministic order (sorted ids)."""
        concepts = []
        for cid in sorted(self._concepts):
            c = self._concepts[cid].model_copy()
            c.mentions = self._mentions[cid]
            concepts.append(c)
        relations = [
            RelationDelta(
                source_id=s,
                target_id=t,
                type=cast(RelationType, rel),
                count=e.count,
                evidence=e.evidence,
            )
            for (s, rel, t), e in sorted(self._edges.items())
        ]
        return GraphDelta(
            concepts=concepts,
            relations=relations,
            sentences=self.sentences,
            documents=self.documents,
            deleted_documents=list(self.deleted),
        )
