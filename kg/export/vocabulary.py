"""The knowledge vocabulary V_k: the concepts the student attends to.

A V_k file is JSONL. The first line is a header::

    {"kind": "ctk.vocab", "format_version": 1, "score": "...", "top": 2000,
     "types": ["disease", "symptom"], "include_phenotypes": true, "count": 2000}

then one :class:`ctk.records.VocabEntry` per line (``id``, ``name``, ``type``,
``weight``), best first. ``types`` is null when no filter was given.

Score (``weight``) of a concept ``c``::

    weight(c) = log(1 + mentions(c)) * (1 + sum of max(0, npmi(e)) over the edges e of c)

that is, how often the corpus mentions the concept, boosted by how strongly it
is associated with the rest of the graph (run ``ctk kg build``'s finalize step
first so that edges carry NPMI weights). Ties are broken by name, then id.

Phenotype concepts: with ``include_phenotypes`` (the default), every concept
whose name or one of whose synonyms is the benchmark name or the short name
of one of the 25 phenotypes (:func:`ctk.phenotypes.phenotype_by_name`) and whose type passes the
``types`` filter is kept in the top ``K`` whatever its score (they take slots
first; the rest go to the best-scoring other concepts). The file is still in
score order.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from ctk.errors import ConfigError
from ctk.kg.stores.base import GraphStore
from ctk.phenotypes import phenotype_by_name
from ctk.records import CONCEPT_TYPES, Concept, VocabEntry
from ctk.vocabulary import VOCAB_FORMAT_VERSION, VOCAB_KIND

__all__ = [
    "SCORE_DESCRIPTION",
    "concept_scores",
    "export_vocabulary",
    "is_phenotype_concept",
    "select_vocabulary",
]

logger = logging.getLogger(__name__)

SCORE_DESCRIPTION = "log(1 + mentions) * (1 + sum of positive NPMI weights of the concept's edges)"


def is_phenotype_concept(concept: Concept) -> bool:
    """Whether a concept names one of the 25 benchmark phenotypes (name or synonym)."""
    return any(phenotype_by_name(n) is not None for n in (concept.name, *concept.synonyms))


def concept_scores(store: GraphStore) -> dict[str, float]:
    """The V_k score of every concept of a store (see the module docstring)."""
    association: dict[str, float] = defaultdict(float)
    for r in store.iter_relations(with_evidence=False):
        if r.weight > 0:
            association[r.source_id] += r.weight
            if r.target_id != r.source_id:
                association[r.target_id] += r.weight
    return {
        c.id: math.log1p(max(c.mentions, 0)) * (1.0 + association.get(c.id, 0.0))
        for c in store.iter_concepts()
    }


def select_vocabulary(
    store: GraphStore,
    *,
    top: int,
    types: list[str] | None = None,
    include_phenotypes: bool = True,
) -> list[VocabEntry]:
    """The top concepts by V_k score, best first.

    Args:
        store: The graph.
        top: How many concepts at most.
        types: Keep only these concept types (None: all).
        include_phenotypes: Keep phenotype concepts whatever their score.

    Returns:
        At most ``top`` entries sorted by score (descending), name, id.

    Raises:
        ConfigError: ``top`` below 1 or an unknown type.
    """
    if top < 1:
        raise ConfigError(f"--top must be at least 1, not {top}")
    wanted = None
    if types is not None:
        unknown = [t for t in types if t not in CONCEPT_TYPES]
        if unknown:
            raise ConfigError(
                f"unknown concept type(s): {', '.join(unknown)}",
                hint=f"use some of: {', '.join(CONCEPT_TYPES)}",
            )
        wanted = set(types)
    scores = concept_scores(store)
    pinned: list[tuple[float, str, str, VocabEntry]] = []
    others: list[tuple[float, str, str, VocabEntry]] = []
    for c in store.iter_concepts():
        if wanted is not None and c.type not in wanted:
            continue
        score = round(scores.get(c.id, 0.0), 6)
        entry = VocabEntry(id=c.id, name=c.name, type=c.type, weight=score)
        item = (-score, c.name, c.id, entry)
        (pinned if include_phenotypes and is_phenotype_concept(c) else others).append(item)
    pinned.sort()
    chosen = pinned[:top] + heapq.nsmallest(max(top - len(pinned), 0), others)
    chosen.sort()
    return [item[3] for item in chosen]


def export_vocabulary(
    store: GraphStore,
    *,
    top: int,
    types: list[str] | None,
    out: Path,
    include_phenotypes: bool = True,
) -> int:
    """Write the V_k file: a header line, then the chosen concepts best first.

    Args:
        store: The graph.
        top: How many concepts at most.
        types: Keep only these concept types (None: all).
        out: Output JSONL file.
        include_phenotypes: Keep phenotype concepts whatever their score.

    Returns:
        The number of entries written.

    Raises:
        ConfigError: Bad ``top`` or ``types``.

    Example:
        >>> export_vocabulary(store, top=2000, types=None, out=Path("vk.jsonl"))  # doctest: +SKIP
        2000
    """
    entries = select_vocabulary(store, top=top, types=types, include_phenotypes=include_phenotypes)
    header: dict[str, Any] = {
        "kind": VOCAB_KIND,
        "format_version": VOCAB_FORMAT_VERSION,
        "score": SCORE_DESCRIPTION,
        "top": top,
        "types": types,
        "include_phenotypes": include_phenotypes,
        "count": len(entries),
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(json.dumps(header, ensure_ascii=False) + "\n")
        for e in entries:
            f.write(e.model_dump_json() + "\n")
    tmp.replace(out)
    logger.info("wrote %d V_k entries to %s", len(entries), out)
    return len(entries)
