"""The association weight of an edge (NPMI), shared by both stores.

Uses :func:`ctk.kg.extraction.weights.npmi` when that module exists, so the
build and the stores agree on one definition; otherwise the same formula here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["npmi_function"]


def _npmi(count_ab: int, count_a: int, count_b: int, n_sentences: int) -> float:
    """Normalised PMI of two concepts from sentence counts.

    ``npmi = log(p_ab / (p_a p_b)) / -log(p_ab)`` with ``p = count / n_sentences``;
    1.0 when ``p_ab == 1``; -1.0 when the pair never co-occurs; 0.0 when a count
    needed for the probabilities is missing (no sentences or no mentions).
    The result is clamped to [-1, 1] (counts merged from several sources can
    make ``p_ab`` exceed ``p_a``).
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


def npmi_function() -> Callable[[int, int, int, int], float]:
    """The NPMI function to use: the extraction package's when installed, else ours."""
    try:
        from ctk.kg.extraction.weights import npmi
    except ImportError:
        return _npmi
    return npmi  # type: ignore[no-any-return]
