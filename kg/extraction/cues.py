"""Typed relations from cue phrases between two mentions of one sentence.

For two mentions *a* (first) and *b* (second) of a sentence, the text between
them is matched against cue patterns (at most :data:`MAX_GAP` characters apart):

=============== ========================================================= ==================
type            cue (between a and b)                                     direction
=============== ========================================================= ==================
causes          "causes", "leads to", "results in", "induces", ...         a -> b
causes          "is caused by", "due to", "secondary to", "results from"   b -> a
symptom_of      "is a symptom/sign of", "occurs in"  (a symptom/finding)   a -> b
symptom_of      "presents with", "is characterized by", "manifests as"     b -> a
treats          "treats", "is used to treat", "for the treatment of"       a -> b (a a drug
                                                                          or procedure)
treats          "is treated with", "is managed with", "responds to"        b -> a
diagnosed_by    "is diagnosed by/with", "is confirmed by"  (b a lab test)  a -> b
diagnosed_by    "is used to diagnose", "confirms", "for the diagnosis of"  b -> a (a a test)
=============== ========================================================= ==================

A cue only counts when the concept types fit its direction (a symptom or finding
for ``symptom_of``, a drug or procedure for ``treats``, a lab test or procedure
for ``diagnosed_by``; ``causes`` takes any). Pairs without a fitting cue are only
``associated_with``, which every co-occurring pair also gets (see
:mod:`ctk.kg.extraction.cooccurrence`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ctk.extraction import Mention

__all__ = ["MAX_GAP", "TypedRelation", "typed_relation"]

#: Longest text (characters) between two mentions for a cue to link them.
MAX_GAP = 80

_SYMPTOMS = frozenset({"symptom", "finding"})
_TREATMENTS = frozenset({"drug", "procedure"})
_TESTS = frozenset({"lab_test", "procedure"})
_CONDITIONS = frozenset({"disease", "finding", "symptom"})


def _cue(pattern: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + pattern + r")\b", re.IGNORECASE)


# (relation type, forward: a -> b, pattern, type check on (source, target))
_CUES: list[tuple[str, bool, re.Pattern[str]]] = [
    (
        "causes",
        False,
        _cue(
            r"(?:is|are|was|were|be|being)\s+(?:often\s+|commonly\s+|usually\s+|frequently\s+)?"
            r"(?:caused|induced|triggered|precipitated)\s+by|due\s+to|secondary\s+to|"
            r"results?\s+from|resulting\s+from|attributable\s+to|caused\s+by|induced\s+by"
        ),
    ),
    (
        "causes",
        True,
        _cue(
            r"causes?|caused|causing|leads?\s+to|led\s+to|leading\s+to|results?\s+in|resulted\s+in|"
            r"resulting\s+in|induces?|induced|triggers?|triggered|precipitates?|precipitated|"
            r"contributes?\s+to|(?:is|are)\s+(?:a|an|the)\s+(?:\w+\s+)?causes?\s+of|"
            r"gives?\s+rise\s+to|provokes?|predisposes?\s+to"
        ),
    ),
    (
        "symptom_of",
        True,
        _cue(
            r"(?:is|are|was|were)\s+(?:a|an|the)?\s*(?:\w+\s+)?(?:symptoms?|signs?|features?|"
            r"manifestations?|complications?)\s+of|occurs?\s+in|(?:is|are)\s+seen\s+in|"
            r"indicates?|suggests?|suggestive\s+of|indicative\s+of"
        ),
    ),
    (
        "symptom_of",
        False,
        _cue(
            r"presents?\s+with|presented\s+with|presenting\s+with|(?:is|are)\s+characterized\s+by|"
            r"characterised\s+by|manifests?\s+(?:as|with)|(?:typically\s+|commonly\s+|often\s+)?"
            r"(?:causes?|produces?)\s+symptoms\s+such\s+as|symptoms\s+(?:include|such\s+as)|"
            r"signs\s+include|patients\s+(?:have|develop|experience|report)|associated\s+symptoms?"
        ),
    ),
    (
        "treats",
        False,
        _cue(
            r"(?:is|are|was|were)\s+(?:\w+\s+)?(?:treated|managed|controlled)\s+with|"
            r"(?:is|are)\s+treated\s+by|responds?\s+to|treatment\s+with|therapy\s+with|"
            r"(?:should|may|can)\s+(?:be\s+)?(?:treated|managed)\s+with"
        ),
    ),
    (
        "treats",
        True,
        _cue(
            r"treats?|treated|(?:is|are)\s+(?:\w+\s+)?used\s+(?:to\s+treat|for|in)|"
            r"(?:for|in)\s+the\s+(?:treatment|management)\s+of|to\s+treat|"
            r"(?:is|are)\s+(?:\w+\s+)?(?:effective|indicated)\s+(?:for|in|against)|"
            r"improves?\s+(?:outcomes?\s+in|survival\s+in)|reduces?\s+mortality\s+in|relieves?"
        ),
    ),
    (
        "diagnosed_by",
        True,
        _cue(
            r"(?:is|are|was|were|be)\s+(?:\w+\s+)?(?:diagnosed|confirmed|detected|identified)\s+"
            r"(?:by|with|using|on)|diagnosis\s+(?:is|was)\s+(?:made|confirmed)\s+(?:by|with)"
        ),
    ),
    (
        "diagnosed_by",
        False,
        _cue(
            r"(?:is|are)\s+(?:\w+\s+)?used\s+to\s+(?:diagnose|detect|confirm)|confirms?|"
            r"(?:for|in)\s+the\s+diagnosis\s+of|to\s+diagnose|diagnostic\s+(?:of|for)|"
            r"(?:is|are)\s+(?:a\s+)?(?:marker|biomarker)s?\s+(?:of|for)"
        ),
    ),
]


#: Any cue at all: a quick test before trying each pattern.
_ANY_CUE = re.compile("|".join(f"(?:{p.pattern})" for _, _, p in _CUES), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TypedRelation:
    """A typed, directed relation found by a cue.

    Attributes:
        type: ``causes``, ``symptom_of``, ``treats`` or ``diagnosed_by``.
        source_id: Subject concept id.
        target_id: Object concept id.
    """

    type: str
    source_id: str
    target_id: str


def _types_fit(rel: str, source: Mention, target: Mention) -> bool:
    if rel == "symptom_of":
        return source.type in _SYMPTOMS and target.type in _CONDITIONS and source.type != "disease"
    if rel == "treats":
        return source.type in _TREATMENTS and target.type in _CONDITIONS
    if rel == "diagnosed_by":
        return source.type in _CONDITIONS and target.type in _TESTS
    return rel == "causes" and target.type in _CONDITIONS


def typed_relation(sentence: str, a: Mention, b: Mention) -> TypedRelation | None:
    """The typed relation a cue between ``a`` and ``b`` states, if any.

    Args:
        sentence: The sentence both mentions are in.
        a: The earlier mention.
        b: The later mention.

    Returns:
        The relation (with its direction), or None when no fitting cue links them.

    Example:
        >>> from ctk.extraction import Mention
        >>> a = Mention("ctk:furosemide", "furosemide", "drug", 0, 10)
        >>> b = Mention("ctk:fluid_overload", "fluid overload", "finding", 27, 41)
        >>> typed_relation("Furosemide is used to treat fluid overload.", a, b).type
        'treats'
    """
    if b.start < a.end or b.start - a.end > MAX_GAP:
        return None
    between = sentence[a.end : b.start]
    if _ANY_CUE.search(between) is None:
        return None
    for rel, forward, pattern in _CUES:
        if pattern.search(between) is None:
            continue
        source, target = (a, b) if forward else (b, a)
        if _types_fit(rel, source, target):
            return TypedRelation(rel, source.concept_id, target.concept_id)
    return None
