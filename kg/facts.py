"""The graph facts behind a diagnosis: what ``ctk diagnose --store`` shows beside the student.

The student (:mod:`ctk.distill`) never reads the graph; the diagnose layer (the
CLI, or a Python user) joins its diagnoses with the facts found here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ctk.graph import DEFAULT_MIN_SUPPORT, GraphFact, GraphReader
from ctk.phenotypes import phenotype_by_name

__all__ = ["graph_facts_for"]


def graph_facts_for(
    store: GraphReader,
    diagnoses: Sequence[str],
    *,
    knowledge_used: Sequence[str] = (),
    per_diagnosis: int = 3,
    min_count: int = DEFAULT_MIN_SUPPORT,
) -> list[GraphFact]:
    """Facts of the graph about each diagnosis, best first.

    For each phenotype (benchmark name) the concept is found by its short name or
    a synonym; its edges are ranked so that those reaching a concept the student
    attended to (``knowledge_used``) come first, then by weight.

    Args:
        store: The knowledge graph.
        diagnoses: Phenotype benchmark names.
        knowledge_used: Names of V_k concepts the student attended to.
        per_diagnosis: Facts kept per diagnosis.
        min_count: Only edges seen in at least this many documents (the support
            floor, :data:`ctk.graph.DEFAULT_MIN_SUPPORT` by default).
    """
    attended = {k.lower() for k in knowledge_used}  # preferred when positively associated
    facts: list[GraphFact] = []
    for name in diagnoses:
        p: Any = phenotype_by_name(name)
        candidates = [p.short_name, *p.synonyms] if p is not None else [name]
        concept = next((c for n in candidates for c in store.find_concepts(n, limit=1)), None)
        if concept is None:
            continue
        neighbours = store.neighbours(concept.id, limit=50, min_count=min_count)
        neighbours.sort(
            key=lambda nb: (
                not (nb.concept.name.lower() in attended and nb.relation.weight > 0),
                -nb.relation.weight,
            )
        )
        for nb in neighbours[:per_diagnosis]:
            rel = nb.relation
            subject, obj = (concept, nb.concept) if nb.direction == "out" else (nb.concept, concept)
            facts.append(
                GraphFact(
                    fact_id=rel.id,
                    diagnosis=name,
                    claim=f"{subject.name} {rel.type.replace('_', ' ')} {obj.name}",
                    weight=rel.weight,
                    documents=sorted({f"{e.source}:{e.document_id}" for e in rel.evidence}),
                )
            )
    return facts
