"""Hold a student's generated rationale to the knowledge graph, as the teacher is held.

:func:`check_claims` applies the teacher's sentence rules (the concept finder and
pair rule of :mod:`ctk.teacher.concepts`) to the student's text: a sentence that
relates two concepts the graph does not link is removed, and so is a "Known: ..."
sentence (the form in which the teacher states a graph fact) that names no pair
the graph links. The student never reads the graph: the caller opens it and gives
a :class:`~ctk.teacher.concepts.ConceptLexicon` (``ctk diagnose --store``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ctk.distill.rationale_consistency import filter_sentences

if TYPE_CHECKING:
    from ctk.teacher.concepts import ConceptLexicon

__all__ = ["ClaimCheck", "check_claims"]


@dataclass
class ClaimCheck:
    """A rationale without the sentences whose claims the knowledge graph does not hold.

    Attributes:
        text: The rationale without those sentences.
        removed: The removed sentences, as generated.
        pairs: Concept pairs claimed by the generated rationale (each once).
        supported: How many of them the graph links.
    """

    text: str
    removed: list[str] = field(default_factory=list)
    pairs: int = 0
    supported: int = 0


def check_claims(rationale: str, lexicon: ConceptLexicon) -> ClaimCheck:
    """Remove the sentences of ``rationale`` that claim what the graph does not hold.

    The teacher's sentence rules (:mod:`ctk.teacher.concepts`), applied to the
    student's text: a sentence is removed when it names two concepts the graph does
    not link, and a "Known: ..." sentence (the form in which the teacher states a
    graph fact) when it names no pair the graph links ("Known: Furosemide treats
    was found: ..." is not a fact).

    Args:
        rationale: A rationale (already restricted to the predicted diagnoses).
        lexicon: The graph's concepts (the caller opens the graph: ``ctk diagnose
            --store``).

    Returns:
        The checked text, the removed sentences and the pair counts.

    Example:
        >>> check = check_claims(result.rationale, ConceptLexicon(store))  # doctest: +SKIP
    """
    pairs = lexicon.pairs(rationale)
    removed: list[str] = []

    def keep(sentence: str) -> tuple[str, int]:
        claims = lexicon.pairs(sentence)
        unsupported = any(not c.supported for c in claims)
        not_a_fact = sentence.lstrip().startswith("Known:") and not any(c.supported for c in claims)
        if unsupported or not_a_fact:
            removed.append(sentence.strip())
            return "", 1
        return sentence, 0

    text, _ = filter_sentences(rationale, keep)
    return ClaimCheck(
        text, removed, pairs=len(pairs), supported=sum(1 for c in pairs if c.supported)
    )
