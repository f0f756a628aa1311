"""Association weights of co-occurrence edges.

ctk weighs an edge between concepts *a* and *b* by normalised pointwise mutual
information over sentences (Bouma 2009)::

    p(a) = n(a) / N,   p(b) = n(b) / N,   p(a,b) = n(a,b) / N
    pmi  = log( p(a,b) / (p(a) p(b)) )
    npmi = pmi / -log p(a,b)

where ``N`` is the number of sentences read, ``n(a)`` the sentences mentioning
*a*, and ``n(a,b)`` the sentences mentioning both. NPMI lies in [-1, 1]: 1 when
the two always occur together, 0 when independent, -1 in the limit of never
together. When ``p(a,b) = 1`` (every sentence has both) NPMI is defined as 1;
when the pair never co-occurs it is -1.

NPMI has no support floor: two rare concepts seen together once score as high
as a pair seen in thirty papers. The weight stores give an edge,
:func:`association_weight`, therefore shrinks NPMI by the edge's support::

    weight = npmi * n(a,b) / (n(a,b) + SHRINKAGE)          SHRINKAGE = 3

computed over **documents** (``N`` documents read, ``n(a)`` documents mentioning
*a*, ``n(a,b)`` documents pairing both in a sentence). One document keeps a
quarter of its NPMI, two 40%, five 62%, thirty 91%: a pair needs support from
several documents to rank high, and among well-supported pairs NPMI still
orders by strength of association. Stores call :func:`association_weight` in
``finalize()``; an edge under ``--min-count`` documents can also be pruned.
"""

from __future__ import annotations

import math

__all__ = ["SHRINKAGE", "association_weight", "npmi", "pmi"]

#: Pseudo-count of the support shrinkage (see the module docstring).
SHRINKAGE = 3


def pmi(count_ab: int, count_a: int, count_b: int, n_sentences: int) -> float:
    """Pointwise mutual information of two concepts over sentences (natural log).

    Args:
        count_ab: Sentences mentioning both.
        count_a: Sentences mentioning the first.
        count_b: Sentences mentioning the second.
        n_sentences: Sentences read.

    Returns:
        ``log(n(a,b) N / (n(a) n(b)))``; ``-inf`` when ``count_ab`` is 0; 0.0 when a
        count needed for the probabilities is missing.
    """
    if count_ab <= 0:
        return -math.inf
    if n_sentences <= 0 or count_a <= 0 or count_b <= 0:
        return 0.0
    return math.log(count_ab * n_sentences / (count_a * count_b))


def npmi(count_ab: int, count_a: int, count_b: int, n_sentences: int) -> float:
    """Normalised PMI in [-1, 1] (see the module docstring for the formula).

    Never raises, because stores call it on accumulated counts: -1.0 when the pair
    never co-occurs (``count_ab <= 0``); 0.0 when ``n_sentences``, ``count_a`` or
    ``count_b`` is not positive; 1.0 when ``p(a,b) >= 1``; probabilities are capped
    at 1 and the result clamped to [-1, 1] (counts merged from several builds can
    be slightly inconsistent).

    The arguments are those of :func:`pmi`.

    Returns:
        ``log(p(a,b) / (p(a) p(b))) / -log p(a,b)``.

    Example:
        >>> round(npmi(2, 4, 4, 100), 4)
        0.6456
    """
    if count_ab <= 0:
        return -1.0
    if n_sentences <= 0 or count_a <= 0 or count_b <= 0:
        return 0.0
    p_ab = min(count_ab / n_sentences, 1.0)
    if p_ab >= 1.0:
        return 1.0
    p_a = min(count_a / n_sentences, 1.0)
    p_b = min(count_b / n_sentences, 1.0)
    value = math.log(p_ab / (p_a * p_b)) / -math.log(p_ab)
    return max(-1.0, min(1.0, value))


def association_weight(count_ab: int, count_a: int, count_b: int, n_total: int) -> float:
    """NPMI shrunk by support: ``npmi * n(a,b) / (n(a,b) + SHRINKAGE)`` (in [-1, 1]).

    Args:
        count_ab: Documents pairing both concepts.
        count_a: Documents mentioning the first.
        count_b: Documents mentioning the second.
        n_total: Documents read.

    Returns:
        The edge weight; -1.0 for a pair never seen together, as :func:`npmi`.

    Example:
        >>> round(association_weight(1, 4, 4, 100), 4)
        0.0995
        >>> round(association_weight(30, 40, 40, 100), 4)
        0.4746
    """
    value = npmi(count_ab, count_a, count_b, n_total)
    if count_ab <= 0:
        return value
    return value * count_ab / (count_ab + SHRINKAGE)
