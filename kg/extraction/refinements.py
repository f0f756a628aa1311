"""Phenotype groups that refine one disease: never a pair of the graph.

The benchmark splits diabetes mellitus into "diabetes without complication" and
"diabetes with complications", and hypertension into "essential hypertension"
and "hypertension with complications" (CCS categories 49/50 and 98/99,
:data:`ctk.phenotypes.SAME_DISEASE_CCS`). An admission has one group of each
pair, never both, and a sentence that names both ("diabetic nephropathy in type
2 diabetes") speaks of one disease: the edge between them only repeats the
shared word, so the co-occurrence counter does not pair them
(:mod:`ctk.kg.extraction.cooccurrence`). It is a rule of the build, not of the
readers: the graph holds no such edge at any support floor.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from ctk.kg.extraction.vocabulary import VocabularyEntry, load_vocabulary
from ctk.phenotypes import SAME_DISEASE_CCS

__all__ = ["same_disease_pairs"]


def _pairs(entries: Iterable[VocabularyEntry]) -> frozenset[tuple[str, str]]:
    by_ccs: dict[int, str] = {}
    for e in entries:
        for x in e.xrefs:
            if x.startswith("ccs:") and x[4:].isdigit():
                by_ccs.setdefault(int(x[4:]), e.id)
    out: set[tuple[str, str]] = set()
    for group in SAME_DISEASE_CCS:
        ids = sorted(by_ccs[c] for c in group if c in by_ccs)
        out.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1 :])
    return frozenset(out)


@cache
def same_disease_pairs() -> frozenset[tuple[str, str]]:
    """Concept-id pairs (sorted) of the bundled vocabulary's same-disease phenotype groups.

    Example:
        >>> sorted(same_disease_pairs())[0]
        ('ctk:diabetes_with_complications', 'ctk:diabetes_without_complication')
    """
    return _pairs(load_vocabulary())
