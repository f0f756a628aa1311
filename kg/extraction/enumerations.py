"""Enumerations: concepts merely listed together in one sentence.

"Scabies, impetigo, premature acute myocardial infarction, bronchiectasis and
renal failure were common" co-mentions five concepts that the sentence does not
relate to each other. About 40% of the irrelevant edges of a hand-judged graph
came from such lists, so the co-occurrence counter discounts them (see
:mod:`ctk.kg.extraction.cooccurrence`).

The rule: consecutive mentions form a chain when the text between two of them is
a list separator: a comma or semicolon (optionally with "and"/"or"), "and",
"or", "and/or", "as well as", "/", with at most :data:`MAX_ITEM_WORDS` other
words (the rest of a list item: "premature", "chronic"). A chain of at least
:data:`MIN_ITEMS` mentions with at least one comma or semicolon is an
enumeration; two mentions joined by "and" alone ("hypertension and diabetes")
are not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ctk.extraction import Mention

__all__ = ["MAX_ITEM_WORDS", "MIN_ITEMS", "enumeration_groups"]

#: Items a chain needs to count as an enumeration.
MIN_ITEMS = 3
#: Words (besides the separator) allowed between two listed mentions.
MAX_ITEM_WORDS = 3

_SEPARATOR = re.compile(
    r"(?P<comma>[,;])(?:\s*\b(?:and/or|and|or)\b)?|\b(?:and/or|and|or|as\s+well\s+as)\b|/",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")


def _link(gap: str) -> str | None:
    """``"comma"``, ``"word"`` (and/or) or None (no list separator) for the text between."""
    m = _SEPARATOR.search(gap)
    if m is None:
        return None
    rest = gap[: m.start()] + " " + gap[m.end() :]
    if len(_WORD.findall(rest)) > MAX_ITEM_WORDS or re.search(r"[.:()]", rest):
        return None
    return "comma" if m.group("comma") else "word"


def enumeration_groups(sentence: str, mentions: Sequence[Mention]) -> list[int]:
    """The enumeration each mention belongs to (-1: none), by position in ``mentions``.

    Args:
        sentence: The sentence.
        mentions: Its mentions, in text order.

    Returns:
        One group number per mention; two mentions with the same number >= 0 are
        items of one enumeration.
    """
    groups = [-1] * len(mentions)
    if len(mentions) < MIN_ITEMS:
        return groups
    chain_start = 0
    has_comma = False
    next_group = 0

    def close(end: int) -> None:
        nonlocal next_group
        if end - chain_start >= MIN_ITEMS and has_comma:
            for i in range(chain_start, end):
                groups[i] = next_group
            next_group += 1

    for i in range(1, len(mentions)):
        link = _link(sentence[mentions[i - 1].end : mentions[i].start])
        if link is None:
            close(i)
            chain_start, has_comma = i, False
        elif link == "comma":
            has_comma = True
    close(len(mentions))
    return groups
