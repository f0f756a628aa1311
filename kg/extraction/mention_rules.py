"""Rules that keep a dictionary match from being read as the wrong concept.

The dictionary extractor applies them after the longest-match step. Each rule
answers one error class found by judging graph edges by hand (issue 10):

1. **Short forms** (an acronym of at most 10 characters, no space, two or more
   capitals: ``CAD``, ``ASD``, ``HTN``) are ambiguous across fields ("CAD/CAM" in
   dentistry, "ASD" for atrial septal defect or autism spectrum disorder). One
   counts only where its document defines it (Schwartz-Hearst, see
   :mod:`ctk.kg.extraction.abbreviations`) and then as the concept of its long
   form (nothing when the long form is no concept), or where it is on the list of
   unambiguous short forms (``kg/data/unambiguous_short_forms.txt``: ``CHF``,
   ``STEMI``, ``HbA1c``...).
2. **Longest match, and the head of the noun phrase**: a term inside a longer
   term that names something else is not its concept. The vocabulary lists such
   longer terms ("pulmonary hypertension", "heat stroke", "rheumatic fever",
   "septic abortion", "sodium nitroprusside") and *stop phrases* that are no
   concept at all ("foot shock", "shock avoidance", "heat shock protein"): the
   longest match takes the span, and a stop phrase yields no mention. Beyond the
   lists:

   * a term right after the prefix ``non-`` / ``non`` / ``anti-`` is not its
     concept ("non-ST segment elevation", "anti-hypertensive");
   * an adjective form (a one-word synonym ending in ``-ic``, ``-ile``, ``-ive``:
     "septic", "febrile") names the concept only when it describes a person
     ("septic patients") or stands alone ("was septic."); before any other noun
     it modifies that noun ("septic arthritis", "febrile seizures");
   * an ion or element measured as a lab test (sodium, potassium, calcium...)
     followed by a salt or compound word ("sodium nitroprusside", "potassium
     citrate", "calcium channel") is part of a drug or molecule name.
3. **Wrong senses**: a bare "shock" in a sentence about defibrillation
   (defibrillation, defibrillator, cardioversion, ICD, joules, shockable,
   shock-resistant) and a bare plural "shocks" anywhere are electrical shocks,
   not circulatory shock; named forms of circulatory shock ("septic
   shock", "cardiogenic shock") are synonyms matched as a whole and stay. Stop
   phrases take the fixed electrical phrases ("DC shock", "shock-refractory
   ventricular fibrillation", "shocks delivered") and the lipases that are no
   serum lipase test ("lipoprotein lipase", "hepatic lipase").
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

__all__ = [
    "ADJECTIVE_ENDINGS",
    "is_adjective_form",
    "is_short_form",
    "modifier_rejects",
    "unambiguous_short_forms",
]

#: Endings that make a one-word synonym an adjective form ("septic", "febrile").
ADJECTIVE_ENDINGS = ("ic", "ile", "ive")

_NEGATING_PREFIXES = ("non-", "non ", "anti-", "anti ")

# Words after an adjective form that keep it a mention of its concept.
_PERSON_OR_FUNCTION = frozenset(
    [
        "patient",
        "patients",
        "child",
        "children",
        "infant",
        "infants",
        "neonate",
        "neonates",
        "newborn",
        "newborns",
        "adult",
        "adults",
        "subject",
        "subjects",
        "individual",
        "individuals",
        "person",
        "persons",
        "people",
        "women",
        "men",
        "woman",
        "man",
        "mother",
        "mothers",
        "case",
        "cases",
        "population",
        "cohort",
        "group",
        "groups",
        "state",
        "states",
        "condition",
        "conditions",
        "status",
        "episode",
        "episodes",
        "course",
        "phase",
        "and",
        "or",
        "but",
        "was",
        "were",
        "is",
        "are",
        "be",
        "been",
        "being",
        "at",
        "on",
        "in",
        "with",
        "for",
        "of",
        "after",
        "before",
        "during",
        "who",
        "that",
        "which",
        "than",
        "to",
        "as",
        "by",
        "from",
        "when",
        "while",
        "if",
    ]
)

_IONS = frozenset(
    [
        "sodium",
        "potassium",
        "calcium",
        "magnesium",
        "chloride",
        "phosphate",
        "bicarbonate",
        "lithium",
        "iron",
        "zinc",
    ]
)
_SALT_WORD = re.compile(
    r"(?:[a-z]+(?:ide|ate|ite)|channels?|pumps?|blockers?|antagonists?|ionophores?)\b"
)
_ELECTRICAL = re.compile(
    r"defibrillat|cardiovert|cardioversion|shockable|shock-(?:resistant|refractory)"
    r"|\bICDs?\b(?![-\s]?\d|\s+codes?)|\bjoules?\b|\b\d+\s?J\b",
    re.IGNORECASE,
)
_NEXT_WORD = re.compile(r"[ \t]+([A-Za-z][A-Za-z-]*)")


def is_short_form(text: str) -> bool:
    """An acronym: at most 10 characters, no space, at least two capitals (``CAD``, ``HbA1c``)."""
    if text.islower():  # no capital at all (most matches): the quick answer
        return False
    return len(text) <= 10 and " " not in text and sum(c.isupper() for c in text) >= 2


def is_adjective_form(surface: str, concept_name: str) -> bool:
    """A one-word synonym that is an adjective ("septic" for sepsis), not the name itself."""
    low = surface.lower()
    return (
        " " not in low
        and low != concept_name.lower()
        and low.endswith(ADJECTIVE_ENDINGS)
        and low.isalpha()
    )


@cache
def unambiguous_short_forms() -> frozenset[str]:
    """Short forms linked without a definition in the document (the bundled list)."""
    text = resources.files("ctk.kg.data").joinpath("unambiguous_short_forms.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def modifier_rejects(
    sentence: str, start: int, end: int, *, adjective: bool, concept_name: str
) -> str | None:
    """Why the match ``sentence[start:end]`` is not its concept here, or None.

    Args:
        sentence: The sentence.
        start: Start of the match.
        end: End of the match.
        adjective: The matched surface is an adjective form (see :func:`is_adjective_form`).
        concept_name: The matched concept's canonical name.

    Returns:
        ``"prefix"``, ``"adjective"``, ``"compound"`` or ``"sense"``; None to keep
        the mention.
    """
    if concept_name == "shock":
        bare = sentence[start:end].lower()
        if bare == "shocks" or (bare == "shock" and _ELECTRICAL.search(sentence)):
            return "sense"  # a defibrillation shock
    before = sentence[max(0, start - 5) : start].lower()
    if before.endswith(_NEGATING_PREFIXES):
        return "prefix"
    if adjective or concept_name.lower() in _IONS:
        m = _NEXT_WORD.match(sentence, end)
        if m is not None:
            word = m.group(1).lower()
            if adjective and word not in _PERSON_OR_FUNCTION:
                return "adjective"
            if not adjective and _SALT_WORD.fullmatch(word):
                return "compound"
    return None
