"""Enumerations: concepts merely listed together in one sentence.

"Scabies, impetigo, premature acute myocardial infarction, bronchiectasis and
renal failure were common" co-mentions five concepts that the sentence does not
relate to each other. About 40% of the irrelevant edges of a hand-judged graph
came from such lists, so the co-occurrence counter discounts them (see
:mod:`ctk.kg.extraction.cooccurrence`).

The rule has two steps.

1. **Chains of mentions.** Consecutive mentions form a chain when the text
   between two of them is a list separator: a comma or semicolon (optionally
   with "and"/"or"), "and", "or", "and/or", "as well as", "/", with at most
   :data:`MAX_ITEM_WORDS` other words per separator (the rest of a list item:
   "premature", "chronic", or an item that is no concept: "stroke, death, or
   myocardial infarction").
2. **List items from the sentence's syntax.** A list may hold items that are no
   concept ("death, stroke, or myocardial infarction": death is none), so the
   chain's items are counted from the text, not from the mentions: the chain's
   mentions, the unlinked items between them, and, when the list has a final
   "and"/"or", the comma/semicolon-separated short items (at most
   :data:`MAX_ITEM_WORDS` + 1 words) right before the chain's first mention and
   after its last one. The first item of a list may follow its head ("the
   composite endpoint of death, stroke or MI": the item is the part after "of",
   "including", "such as"...), but a segment that opens the sentence with a
   preposition, subordinator or sentence adverb ("In patients with
   hypertension, diabetes ...", "After surgery, stroke or MI ...") is a clause,
   not a list item.

A chain is an enumeration when its list has at least :data:`MIN_ITEMS` items and
at least one comma or semicolon; two mentions joined by "and" alone
("hypertension and diabetes") are not, and neither are two mentions on both
sides of a clause comma.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ctk.extraction import Mention

__all__ = ["MAX_ITEM_WORDS", "MIN_ITEMS", "enumeration_groups", "list_items"]

#: Items a list needs to count as an enumeration.
MIN_ITEMS = 3
#: Words (besides the separator) allowed per separator between two listed mentions.
MAX_ITEM_WORDS = 3
#: Words a list item that is no concept may have (found from the syntax).
_ITEM_WORDS = MAX_ITEM_WORDS + 1

_SEPARATOR = re.compile(
    r"(?P<comma>[,;])(?:\s*\b(?P<cc>and/or|and|or)\b)?"
    r"|\b(?P<word>and/or|and|or|as\s+well\s+as)\b|/",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")
# a short parenthesis inside a list item: "(MI)", "(5.1%)", "(p < 0.001)"
_SHORT_PARENTHESIS = re.compile(r"\([^()]{0,15}\)")
# what ends a list item: a full stop (not a decimal point), a colon, a parenthesis
_ITEM_END = re.compile(r"\.(?!\d)|[:()\[\]]")
_CONJUNCTION = re.compile(r"\b(?:and/or|and|or)\b", re.IGNORECASE)
# "A, B or C": the last item right after the chain, with no comma before "or"
_LAST_ITEM = re.compile(r"\s+(?:and/or|and|or)\s+\w", re.IGNORECASE)
# a list's first item may follow its head: "the composite of death, ..."
_HEAD_WORDS = re.compile(
    r"\b(?:of|including|includes|included|such\s+as|like|as|with|e\.g\.|i\.e\.|namely)\s+",
    re.IGNORECASE,
)
# words that open a clause, not a list item, at the start of a sentence
_CLAUSE_OPENERS = frozenset(
    [
        "in", "among", "after", "before", "during", "for", "with", "without", "within", "from",
        "at", "on", "by", "of", "to", "since", "while", "when", "whereas", "although", "though",
        "because", "if", "unless", "once", "as", "despite", "upon", "under", "over", "between",
        "compared", "following", "however", "moreover", "furthermore", "additionally", "thus",
        "therefore", "overall", "finally", "here", "also", "notably", "importantly", "conversely",
        "similarly", "consequently", "interestingly", "hence", "nevertheless", "then",
        "accordingly", "specifically",
    ]
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Link:
    comma: bool  # a comma or semicolon separates the two mentions
    conjunction: bool  # an "and"/"or" separates them
    extra_items: int  # unlinked list items between them


def _link(gap: str) -> _Link | None:
    """How the text between two mentions links them in a list; None: no list separator."""
    seps = list(_SEPARATOR.finditer(gap))
    if not seps:
        return None
    rest = _SEPARATOR.sub(" ", gap)
    if len(_WORD.findall(rest)) > MAX_ITEM_WORDS * len(seps) or _ITEM_END.search(rest):
        return None
    return _Link(
        comma=any(m.group("comma") for m in seps),
        conjunction=any(m.group("cc") or m.group("word") for m in seps),
        extra_items=len(seps) - 1,
    )


def _opens_clause(words: Sequence[str]) -> bool:
    """The words that open a sentence start a clause ("In patients...", "Clinically, ...")."""
    first = words[0].lower()
    return first in _CLAUSE_OPENERS or (len(words) == 1 and first.endswith("ly"))


def _segment_start(text: str) -> tuple[int, bool]:
    """Start of the last segment of ``text`` and whether a comma/semicolon opens it."""
    cut = max(text.rfind(c) for c in ",;:([")
    if cut < 0:
        return 0, False
    return cut + 1, text[cut] in ",;"


def _items_before(sentence: str, start: int) -> int:
    """List items (no concept) separated by commas right before position ``start``."""
    text = sentence[:start]
    count = 0
    while True:
        m = re.search(r"[,;]\s*$", text)
        if m is None:
            return count
        text = text[: m.start()]
        seg_start, more = _segment_start(text)
        segment = text[seg_start:]
        words = _WORD.findall(segment)
        if not words:
            return count
        opens_sentence = not sentence[:seg_start].strip()
        if opens_sentence and _opens_clause(words):
            return count  # "In patients with hypertension, ..." is a clause
        if len(words) <= _ITEM_WORDS:
            count += 1
            if not more:
                return count
            text = text[: seg_start - 1]
            continue
        heads = list(_HEAD_WORDS.finditer(segment))
        if heads and 1 <= len(_WORD.findall(segment[heads[-1].end() :])) <= _ITEM_WORDS:
            count += 1  # the list's first item after its head
        return count


def _items_after(sentence: str, end: int) -> int:
    """List items (no concept) after position ``end``, up to and with a final and/or item."""
    text = sentence[end:]
    pending = 0
    while True:
        m = re.match(r"\s*[,;]\s*", text)
        if m is None:
            if pending or not _LAST_ITEM.match(text):
                return 0  # no final conjunction: not a list continuing here
            m = re.match(r"\s*", text)  # "A, B or C": the last item follows the chain
            assert m is not None
        text = text[m.end() :]
        stop = re.search(r"[,;]|" + _ITEM_END.pattern, text)
        segment = text[: stop.start()] if stop else text
        conj = _CONJUNCTION.search(segment)
        if conj is not None:
            before = _WORD.findall(segment[: conj.start()])
            after = _WORD.findall(segment[conj.end() :])
            if not after or len(before) > _ITEM_WORDS:
                return 0
            return pending + (1 if before else 0) + 1
        if not 1 <= len(_WORD.findall(segment)) <= _ITEM_WORDS:
            return 0
        pending += 1
        text = text[len(segment) :]


def _blank_parentheses(sentence: str, mentions: Sequence[Mention]) -> str:
    """Short parentheses that hold no mention, blanked (offsets kept): "MI (5.1%), stroke"."""
    starts = [m.start for m in mentions]

    def blank(m: re.Match[str]) -> str:
        if any(m.start() <= s < m.end() for s in starts):
            return m.group(0)
        return " " * len(m.group(0))

    return _SHORT_PARENTHESIS.sub(blank, sentence)


def list_items(sentence: str, mentions: Sequence[Mention], first: int, last: int) -> int:
    """Items of the list that mentions ``first..last`` (a chain, inclusive) belong to.

    Args:
        sentence: The sentence.
        mentions: Its mentions, in text order.
        first: Index of the chain's first mention.
        last: Index of the chain's last mention.

    Returns:
        The number of list items, counted from the syntax (see the module
        docstring); 1 for a mention that is in no list.
    """
    sentence = _blank_parentheses(sentence, mentions)
    items = last - first + 1
    conjunction = False
    for i in range(first + 1, last + 1):
        link = _link(sentence[mentions[i - 1].end : mentions[i].start])
        if link is None:
            raise ValueError("mentions first..last are no chain")
        items += link.extra_items
        conjunction = conjunction or link.conjunction
    if not conjunction:
        after = _items_after(sentence, mentions[last].end)
        if after == 0:
            return items
        items += after
    return items + _items_before(sentence, mentions[first].start)


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
    if len(mentions) < 2:
        return groups
    sentence = _blank_parentheses(sentence, mentions)
    chain_start = 0
    has_comma = False
    next_group = 0

    def close(end: int) -> None:
        nonlocal next_group
        n = end - chain_start
        if n < 2:
            return
        listed = n >= MIN_ITEMS and has_comma
        if not listed:
            items = list_items(sentence, mentions, chain_start, end - 1)
            # items found outside the chain are comma-separated
            listed = items >= MIN_ITEMS and (has_comma or items > _gap_items(chain_start, end))
        if listed:
            for i in range(chain_start, end):
                groups[i] = next_group
            next_group += 1

    def _gap_items(first: int, end: int) -> int:
        gaps = (
            _link(sentence[mentions[i - 1].end : mentions[i].start]) for i in range(first + 1, end)
        )
        return end - first + sum(g.extra_items for g in gaps if g is not None)

    for i in range(1, len(mentions)):
        link = _link(sentence[mentions[i - 1].end : mentions[i].start])
        if link is None:
            close(i)
            chain_start, has_comma = i, False
        elif link.comma:
            has_comma = True
    close(len(mentions))
    return groups
