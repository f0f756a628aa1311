"""The knowledge vocabulary V_k: the concepts the student attends to.

A V_k file is JSONL. The first line is a header::

    {"kind": "ctk.vocab", "format_version": 1, "score": "...", "top": 2000,
     "types": ["disease", "symptom"], "include_phenotypes": true, "count": 2000}

then one :class:`ctk.records.VocabEntry` per line (``id``, ``name``, ``type``,
``weight``), best first. ``types`` is null when no filter was given.

Score (``weight``) of a concept ``c``::

    weight(c) = log(1 + mentions(c)) * (1 + sum of max(0, weight(e)) over the edges e of c)

where only edges seen in at least :data:`ctk.graph.DEFAULT_MIN_SUPPORT` (2)
documents count (the support floor: an edge on one document is noise as often
as not)
that is, how often the corpus mentions the concept, boosted by how strongly it
is associated with the rest of the graph (run ``ctk kg build``'s finalize step
first so that edges carry NPMI weights). Ties are broken by name, then id.

Selection (``select``, ``ctk kg vocab --select``):

* ``score`` (default): the top ``K`` concepts by the score above;
* ``degree``: the top ``K`` by degree, the number of distinct concepts a concept
  shares an edge with (edges above the support floor only), ties by score;
* ``neighbourhood``: the graph neighbourhood of the 25 phenotypes: the concepts
  that share an edge above the support floor (the floor of ``ctk kg query``) with
  a phenotype concept, ranked by the summed positive weight of those edges (then
  by how many documents support them, then by score). A store without phenotype
  concepts is refused; a neighbourhood smaller than ``K`` gives a shorter file
  (the count is reported). The phenotype concepts themselves (the seeds, with
  ``include_phenotypes``) come first, so a student that keeps only the first
  ``max_vocab`` names keeps them.

The ``weight`` of each entry is the ranking value of the selection (score,
degree, or weight towards the phenotypes).

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
from typing import Any, Literal

from ctk.errors import ConfigError
from ctk.graph import DEFAULT_MIN_SUPPORT
from ctk.kg.stores.base import GraphStore
from ctk.phenotypes import phenotype_by_name
from ctk.records import CONCEPT_TYPES, Concept, VocabEntry
from ctk.vocabulary import VOCAB_FORMAT_VERSION, VOCAB_KIND

__all__ = [
    "SCORE_DESCRIPTION",
    "SELECTIONS",
    "VocabSelection",
    "concept_scores",
    "export_vocabulary",
    "is_phenotype_concept",
    "select_vocabulary",
]

logger = logging.getLogger(__name__)

SCORE_DESCRIPTION = (
    "log(1 + mentions) * (1 + sum of positive weights of the concept's edges "
    f"seen in >= {DEFAULT_MIN_SUPPORT} documents)"
)


VocabSelection = Literal["score", "degree", "neighbourhood"]
#: How V_k can be chosen from the graph (see the module docstring).
SELECTIONS: tuple[VocabSelection, ...] = ("score", "degree", "neighbourhood")

_WEIGHT_DESCRIPTIONS: dict[str, str] = {
    "score": SCORE_DESCRIPTION,
    "degree": f"distinct neighbours over edges seen in >= {DEFAULT_MIN_SUPPORT} documents",
    "neighbourhood": (
        "sum of positive weights of the concept's edges to the 25 phenotype concepts "
        f"(edges seen in >= {DEFAULT_MIN_SUPPORT} documents)"
    ),
}


def is_phenotype_concept(concept: Concept) -> bool:
    """Whether a concept names one of the 25 benchmark phenotypes (name or synonym)."""
    return any(phenotype_by_name(n) is not None for n in (concept.name, *concept.synonyms))


def concept_scores(store: GraphStore) -> dict[str, float]:
    """The V_k score of every concept of a store (see the module docstring)."""
    association: dict[str, float] = defaultdict(float)
    for r in store.iter_relations(with_evidence=False):
        if r.weight > 0 and r.count >= DEFAULT_MIN_SUPPORT:
            association[r.source_id] += r.weight
            if r.target_id != r.source_id:
                association[r.target_id] += r.weight
    return {
        c.id: math.log1p(max(c.mentions, 0)) * (1.0 + association.get(c.id, 0.0))
        for c in store.iter_concepts()
    }


def _degrees(store: GraphStore) -> dict[str, float]:
    """Distinct neighbours of each concept over the edges above the support floor."""
    neighbours: dict[str, set[str]] = defaultdict(set)
    for r in store.iter_relations(with_evidence=False):
        if r.count >= DEFAULT_MIN_SUPPORT and r.source_id != r.target_id:
            neighbours[r.source_id].add(r.target_id)
            neighbours[r.target_id].add(r.source_id)
    return {cid: float(len(ids)) for cid, ids in neighbours.items()}


def _phenotype_neighbourhood(
    store: GraphStore, phenotype_ids: set[str]
) -> dict[str, tuple[float, int]]:
    """Concepts sharing an edge above the floor with a phenotype concept.

    Returns:
        Concept id -> (summed positive weight of those edges, summed document support);
        a phenotype concept counts its edges to the other phenotype concepts.
    """
    link: dict[str, list[float]] = {}
    for r in store.iter_relations(with_evidence=False):
        if r.count < DEFAULT_MIN_SUPPORT or r.source_id == r.target_id:
            continue
        for here, there in ((r.source_id, r.target_id), (r.target_id, r.source_id)):
            if there in phenotype_ids:
                acc = link.setdefault(here, [0.0, 0.0])
                acc[0] += max(r.weight, 0.0)
                acc[1] += r.count
    return {cid: (w, int(n)) for cid, (w, n) in link.items()}


def select_vocabulary(
    store: GraphStore,
    *,
    top: int,
    types: list[str] | None = None,
    include_phenotypes: bool = True,
    select: VocabSelection = "score",
) -> list[VocabEntry]:
    """The top concepts of a selection, best first.

    Args:
        store: The graph.
        top: How many concepts at most.
        types: Keep only these concept types (None: all).
        include_phenotypes: Keep phenotype concepts whatever their rank.
        select: ``score``, ``degree`` or ``neighbourhood`` (see the module docstring).

    Returns:
        At most ``top`` entries sorted by the selection's value (descending), then by
        score, name, id.

    Raises:
        ConfigError: ``top`` below 1, an unknown type or selection, or (``neighbourhood``)
            a store without phenotype concepts.
    """
    if top < 1:
        raise ConfigError(f"--top must be at least 1, not {top}")
    if select not in SELECTIONS:
        raise ConfigError(
            f"unknown V_k selection {select!r}", hint=f"use one of: {', '.join(SELECTIONS)}"
        )
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
    concepts = list(store.iter_concepts())
    phenotype_ids = {c.id for c in concepts if is_phenotype_concept(c)}
    # rank value of each candidate concept (None: not a candidate of this selection)
    support: dict[str, int] = {}
    if select == "neighbourhood":
        if not phenotype_ids:
            raise ConfigError(
                "the graph has no phenotype concepts, so no phenotype neighbourhood",
                hint="build the graph with the phenotype seed concepts, or use --select score",
            )
        near = _phenotype_neighbourhood(store, phenotype_ids)
        value = {cid: w for cid, (w, _) in near.items()}
        support = {cid: n for cid, (_, n) in near.items()}
        for cid in phenotype_ids:
            value.setdefault(cid, 0.0)
    elif select == "degree":
        degrees = _degrees(store)
        value = {c.id: degrees.get(c.id, 0.0) for c in concepts}
    else:
        value = {c.id: scores.get(c.id, 0.0) for c in concepts}
    pinned: list[tuple[float, int, float, str, str, VocabEntry]] = []
    others: list[tuple[float, int, float, str, str, VocabEntry]] = []
    for c in concepts:
        if (wanted is not None and c.type not in wanted) or c.id not in value:
            continue
        if select == "neighbourhood" and c.id in phenotype_ids and not include_phenotypes:
            continue
        rank = round(value[c.id], 6)
        score = round(scores.get(c.id, 0.0), 6)
        entry = VocabEntry(id=c.id, name=c.name, type=c.type, weight=rank)
        item = (-rank, -support.get(c.id, 0), -score, c.name, c.id, entry)
        (pinned if include_phenotypes and c.id in phenotype_ids else others).append(item)
    pinned.sort()
    chosen = pinned[:top] + heapq.nsmallest(max(top - len(pinned), 0), others)
    if select == "neighbourhood":  # the phenotypes are the seeds: they come first
        chosen = pinned[:top] + sorted(chosen[len(pinned[:top]) :])
    else:
        chosen.sort()
    if select == "neighbourhood" and len(chosen) < top:
        logger.warning(
            "the phenotype neighbourhood holds %d concepts, fewer than the %d asked for",
            len(chosen),
            top,
        )
    return [item[5] for item in chosen]


def export_vocabulary(
    store: GraphStore,
    *,
    top: int,
    types: list[str] | None,
    out: Path,
    include_phenotypes: bool = True,
    select: VocabSelection = "score",
) -> int:
    """Write the V_k file: a header line, then the chosen concepts best first.

    Args:
        store: The graph.
        top: How many concepts at most.
        types: Keep only these concept types (None: all).
        out: Output JSONL file.
        include_phenotypes: Keep phenotype concepts whatever their score.
        select: ``score``, ``degree`` or ``neighbourhood`` (see the module docstring).

    Returns:
        The number of entries written.

    Raises:
        ConfigError: Bad ``top``, ``types`` or ``select`` (or no phenotype concepts for
            ``neighbourhood``).

    Example:
        >>> export_vocabulary(store, top=2000, types=None, out=Path("vk.jsonl"))  # doctest: +SKIP
        2000
    """
    entries = select_vocabulary(
        store, top=top, types=types, include_phenotypes=include_phenotypes, select=select
    )
    header: dict[str, Any] = {
        "kind": VOCAB_KIND,
        "format_version": VOCAB_FORMAT_VERSION,
        "select": select,
        "score": _WEIGHT_DESCRIPTIONS[select],
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
