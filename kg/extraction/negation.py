"""Negation cues (a NegEx-style rule set, much reduced).

A mention is negated when a pre-negation cue ("no", "without", "no evidence of",
"denies", "negative for", "absence of", "ruled out") occurs before it in the same
clause, at most :data:`WINDOW` words earlier, or a post-negation cue ("was ruled
out", "is absent", "was excluded") follows it closely. A clause ends at ``;``,
``:`` or a contrast word ("but", "however", "although", "except").

Speed: an ASCII sentence is searched in lower case with case-sensitive copies of
the patterns (the same matches: for ASCII text, ignoring case is lower-casing);
other text with the case-insensitive originals.
"""

from __future__ import annotations

import re

__all__ = ["WINDOW", "negated_after", "negation_scopes"]

#: Words a pre-negation cue reaches forward.
WINDOW = 6

_PRE = re.compile(
    r"\b(?:no|not|without|denie[sd]|deny|negative\s+for|absence\s+of|absent|free\s+of|"
    r"no\s+(?:evidence|signs?|history|symptoms?)\s+of|ruled\s+out|rules\s+out|rule\s+out|"
    r"unlikely|neither|nor|lack\s+of|resolution\s+of)\b",
    re.IGNORECASE,
)
_POST = re.compile(
    r"\s*(?:(?:was|were|is|are|has\s+been|have\s+been)\s+)?"
    r"(?:ruled\s+out|excluded|absent|not\s+(?:seen|present|found|detected))\b",
    re.IGNORECASE,
)
_STOP = re.compile(
    r"[;:]|\b(?:but|however|although|though|except|yet|which|whereas)\b", re.IGNORECASE
)
_WORD = re.compile(r"\S+")
# the same patterns for lower-cased ASCII text: no IGNORECASE, about twice as fast
_PRE_LOWER = re.compile(_PRE.pattern)
_STOP_LOWER = re.compile(_STOP.pattern)


def negation_scopes(sentence: str) -> list[tuple[int, int]]:
    """Character spans of a sentence governed by a pre-negation cue.

    Args:
        sentence: One sentence.

    Returns:
        ``(start, end)`` spans; a mention starting inside one is negated.
    """
    if sentence.isascii():
        return _scopes(sentence, sentence.lower(), _PRE_LOWER, _STOP_LOWER)
    return _scopes(sentence, sentence, _PRE, _STOP)


def _scopes(
    sentence: str, text: str, pre: re.Pattern[str], stops: re.Pattern[str]
) -> list[tuple[int, int]]:
    """The scopes of the cues ``pre`` finds in ``text`` (``sentence`` or its lower case)."""
    scopes: list[tuple[int, int]] = []
    for cue in pre.finditer(text):
        start = cue.end()
        stop = stops.search(text, start)
        limit = stop.start() if stop else len(sentence)
        end = start
        for words, w in enumerate(_WORD.finditer(sentence, start, limit), start=1):
            end = w.end()
            if words >= WINDOW:
                break
        if end > start:
            scopes.append((start, end))
    return scopes


def negated_after(sentence: str, end: int) -> bool:
    """Whether a post-negation cue ("was ruled out") directly follows offset ``end``."""
    return _POST.match(sentence, end) is not None
