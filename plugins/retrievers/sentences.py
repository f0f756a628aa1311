"""The evidence sentences of a knowledge graph: what ``bm25`` and ``vector`` index.

Each distinct ``(document, sentence)`` pair behind the graph's edges becomes one
chunk. Its id is the chunk id of the first fact it supports
(:func:`ctk.retrieval.chunk_id`: ``FACT#e0``), so a rationale that cites a sentence
can be checked against the graph; ``fact_ids`` lists every fact it supports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from ctk.graph import GraphReader
from ctk.retrieval import EvidenceRecord, chunk_id

__all__ = ["EvidenceSentence", "corpus_signature", "iter_sentences"]


@dataclass
class EvidenceSentence:
    """One indexed evidence sentence."""

    id: str
    text: str
    source: str
    document_id: str
    concept_ids: list[str] = field(default_factory=list)
    fact_ids: list[str] = field(default_factory=list)

    def record(self, score: float) -> EvidenceRecord:
        """As an evidence record with a score."""
        return EvidenceRecord(
            id=self.id,
            text=self.text,
            source=self.source,
            document_id=self.document_id,
            score=score,
            concept_ids=list(self.concept_ids),
            fact_ids=list(self.fact_ids),
        )


def iter_sentences(store: GraphReader) -> Iterator[EvidenceSentence]:
    """The distinct evidence sentences of a graph, with the facts each supports.

    Sentences are collected in memory to merge duplicates (one entry per distinct
    sentence: about 200 bytes each).
    """
    by_key: dict[tuple[str, str], EvidenceSentence] = {}
    for rel in store.iter_relations(with_evidence=True):
        for i, ev in enumerate(rel.evidence):
            text = " ".join(ev.sentence.split())
            if not text:
                continue
            key = (ev.document_id, text)
            item = by_key.get(key)
            if item is None:
                by_key[key] = EvidenceSentence(
                    id=chunk_id(rel.id, i),
                    text=text,
                    source=ev.source,
                    document_id=ev.document_id,
                    concept_ids=[rel.source_id, rel.target_id],
                    fact_ids=[rel.id],
                )
                continue
            item.fact_ids.append(rel.id)
            for cid in (rel.source_id, rel.target_id):
                if cid not in item.concept_ids:
                    item.concept_ids.append(cid)
    yield from by_key.values()


def corpus_signature(store: GraphReader) -> str:
    """A short fingerprint of the graph's size, to notice a stale index."""
    stats = store.stats()
    raw = f"{stats.concepts}/{stats.relations}/{stats.evidence}/{stats.documents}/{stats.chunks}"
    return hashlib.sha1(raw.encode("utf-8")).hexdigest()[:16]
