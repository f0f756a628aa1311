"""The ``graph`` retriever: the knowledge-graph neighbourhood of an admission.

Seed concepts are found by :class:`~ctk.plugins.retrievers.seeds.ConceptSeeder` (a
public building block for other retrievers): in the note (every concept name and
synonym of the graph, matched on word boundaries), in the lab anomaly captions (a
caption such as "Heart rate is higher than normal" also seeds *tachycardia*), and, at
training time, in the true diagnoses.
The edges around the seeds are ranked by weight; an edge joining two seeds (a
note finding and a diagnosis, say) gets a bonus of 1, as it is what a rationale
needs. Each record is one graph fact: id = the fact id, provenance = its first
evidence sentence (PMID or Wikipedia page). Works on any
:class:`~ctk.graph.GraphReader` (every store of :mod:`ctk.kg.stores`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.graph import DEFAULT_MIN_SUPPORT, ConceptFinder, Neighbour, fact_sentence
from ctk.plugins.retrievers.seeds import CAPTION_FINDINGS, ConceptSeeder
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever

__all__ = ["CAPTION_FINDINGS", "GraphRetriever", "GraphRetrieverOptions"]

logger = logging.getLogger(__name__)


class GraphRetrieverOptions(BaseModel):
    """Settings of the ``graph`` retriever.

    Attributes:
        per_concept: Edges read around each seed concept.
        max_seeds: Most seed concepts (diagnoses first, then caption findings, then
            note concepts by number of mentions in the corpus).
        min_weight: Ignore edges below this weight.
        min_count: Ignore edges seen in fewer documents (the support floor,
            :data:`ctk.graph.DEFAULT_MIN_SUPPORT` by default; 1 reads every edge).
        relation_types: Only these relation types (all when empty).
        seed_bonus: Score bonus of an edge joining two seeds.
        min_name_length: Shortest concept name matched in text.
        evidence_chars: Characters of the evidence sentence shown with a fact.
    """

    model_config = ConfigDict(extra="forbid")

    per_concept: int = Field(default=10, ge=1)
    max_seeds: int = Field(default=16, ge=1)
    min_weight: float | None = None
    min_count: int = Field(default=DEFAULT_MIN_SUPPORT, ge=1)
    relation_types: list[str] = Field(default_factory=list)
    seed_bonus: float = 1.0
    min_name_length: int = Field(default=3, ge=1)
    evidence_chars: int = Field(default=240, ge=0)


class GraphRetriever(Retriever):
    """Knowledge-graph neighbourhood of the concepts of an admission.

    Args:
        store: The knowledge graph (required).
        index_dir: Unused.
        options: :class:`GraphRetrieverOptions`.

    Example:
        >>> with EmbeddedStore("kg.db", read_only=True) as store:  # doctest: +SKIP
        ...     GraphRetriever(store=store).retrieve(RetrievalQuery(note_text="..."), k=8)
    """

    name: ClassVar[str] = "graph"
    needs_store: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = GraphRetrieverOptions
    options: GraphRetrieverOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._seeder: ConceptSeeder | None = None
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}

    def seeder(self) -> ConceptSeeder:
        """The note-to-concept matcher of this retriever, built on first use."""
        with self._lock:
            if self._seeder is None:
                self._seeder = ConceptSeeder(
                    self.require_store(), min_name_length=self.options.min_name_length
                )
            return self._seeder

    def matcher(self) -> ConceptFinder:
        """The concept-name matcher, built from the store on first use."""
        return self.seeder().matcher()

    def seeds(self, query: RetrievalQuery) -> list[str]:
        """Seed concept ids for a query, most important first (at most ``max_seeds``)."""
        return self.seeder().seeds(query, max_seeds=self.options.max_seeds)

    def _name(self, concept_id: str) -> str:
        if concept_id not in self._names:
            concept = self.require_store().get_concept(concept_id)
            self._names[concept_id] = concept.name if concept else concept_id
        return self._names[concept_id]

    def _record(self, seed: str, nb: Neighbour, score: float) -> EvidenceRecord:
        rel = nb.relation
        if nb.direction == "out":
            src_name, tgt_name = self._name(seed), nb.concept.name
        else:
            src_name, tgt_name = nb.concept.name, self._name(seed)
        text = fact_sentence(src_name, rel.type, tgt_name)
        if rel.evidence and self.options.evidence_chars:
            sentence = " ".join(rel.evidence[0].sentence.split())[: self.options.evidence_chars]
            text += f' Evidence: "{sentence}"'
        return EvidenceRecord.from_fact(rel, text, score=score)

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        store = self.require_store()
        seeds = self.seeds(query)
        seed_set = set(seeds)
        best: dict[str, EvidenceRecord] = {}
        types = self.options.relation_types or None
        for seed in seeds:
            for nb in store.neighbours(
                seed,
                limit=self.options.per_concept,
                relation_types=types,
                min_weight=self.options.min_weight,
                min_count=self.options.min_count,
            ):
                score = nb.relation.weight
                if nb.concept.id in seed_set:
                    score += self.options.seed_bonus
                rec = best.get(nb.relation.id)
                if rec is None or rec.score < score:
                    best[nb.relation.id] = self._record(seed, nb, score)
        return sorted(best.values(), key=lambda r: (-r.score, r.id))[: max(k, 1)]
