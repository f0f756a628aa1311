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

from ctk.distill.rationale_consistency import (
    drop_unfinished,
    filter_sentences,
    restrict_rationale,
)

if TYPE_CHECKING:
    from ctk.teacher.concepts import ConceptLexicon

__all__ = ["ClaimCheck", "ShownRationale", "check_claims", "shown_rationale"]


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
    removed: list[str] = []
    seen: dict[tuple[str, str], bool] = {}  # each claimed pair once, as it was first claimed

    def keep(sentence: str) -> tuple[str, int]:
        claims = lexicon.pairs(sentence)
        for c in claims:
            seen.setdefault(c.concepts, c.supported)
        unsupported = any(not c.supported for c in claims)
        not_a_fact = sentence.lstrip().startswith("Known:") and not any(c.supported for c in claims)
        if unsupported or not_a_fact:
            removed.append(sentence.strip())
            return "", 1
        return sentence, 0

    text, _ = filter_sentences(rationale, keep)
    return ClaimCheck(text, removed, pairs=len(seen), supported=sum(seen.values()))


@dataclass
class ShownRationale:
    """A generated rationale as ``ctk diagnose`` shows it, and what was removed from it.

    Attributes:
        text: The rationale shown.
        unfinished: An unfinished last sentence (cut by the length limit), removed.
        unpredicted: Phenotypes it named but the student did not predict (their parts
            were removed; benchmark names, benchmark order).
        unsupported: Sentences removed because the graph does not hold what they claim.
        checked: Whether it was held to a graph.
        pairs: Concept pairs it claimed after the restriction, before the graph check.
        supported: How many of them the graph links.
    """

    text: str
    unfinished: str = ""
    unpredicted: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    checked: bool = False
    pairs: int = 0
    supported: int = 0


def shown_rationale(
    rationale: str, predicted: list[str] | None, lexicon: ConceptLexicon | None = None
) -> ShownRationale:
    """The student's generated rationale as ``ctk diagnose`` (``--store``) shows it.

    An unfinished last sentence is dropped, the parts naming a phenotype outside
    ``predicted`` are removed (:func:`~ctk.distill.rationale_consistency.restrict_rationale`),
    then, with a graph, what it does not hold (:func:`check_claims`).

    Args:
        rationale: The rationale part of the generated text.
        predicted: The predicted phenotypes; None: the text is not the student's (a
            teacher's record, written for the true diagnoses and complete): taken as it
            is, only held to the graph.
        lexicon: The graph's concepts (None: not held to a graph).

    Returns:
        The text shown and what was removed.

    Example:
        >>> shown_rationale("Known: Sepsis causes shock. [E1] These are", ["sepsis", "shock"]).text
        'Known: Sepsis causes shock. [E1]'
    """
    shown = ShownRationale(rationale)
    if predicted is not None:
        kept, shown.unfinished = drop_unfinished(rationale)
        restricted = restrict_rationale(kept, predicted)
        shown.text, shown.unpredicted = restricted.text, restricted.removed
    if lexicon is not None:
        check = check_claims(shown.text, lexicon)
        shown.text, shown.unsupported, shown.checked = check.text, check.removed, True
        shown.pairs, shown.supported = check.pairs, check.supported
    return shown
