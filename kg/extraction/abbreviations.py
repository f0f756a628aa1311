"""Abbreviation definitions of one document (the Schwartz-Hearst algorithm).

Schwartz and Hearst (2003), "A simple algorithm for identifying abbreviation
definitions in biomedical text", as scispaCy's ``AbbreviationDetector`` applies
it: a short form in parentheses after its long form, ``long form (SF)``, or the
reverse, ``SF (long form)``. The short form has 2-10 characters, at most two
words, a letter, and starts with a letter or digit; the long form is found by
matching the short form's characters from right to left in the words before the
parenthesis (at most ``min(|SF| + 5, 2 |SF|)`` words), its first character at
the start of a word.

The PyPI package ``abbreviations`` (0.2.5, 2019, unmaintained) implements the
same algorithm; this module is written for ctk (about 80 lines, no
dependencies) and runs per sentence only where a ``(`` occurs.

Example:
    >>> find_abbreviations(["Atrial septal defect (ASD) was closed."])
    {'ASD': 'Atrial septal defect'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["best_long_form", "find_abbreviations", "is_short_form_candidate"]

_PAREN = re.compile(r"\(([^()]{1,60})\)")
_WORD = re.compile(r"\S+")


def is_short_form_candidate(text: str) -> bool:
    """Whether ``text`` may be a short form (2-10 characters, <= 2 words, a letter)."""
    if not 2 <= len(text) <= 10 or len(text.split()) > 2:
        return False
    return text[0].isalnum() and any(c.isalpha() for c in text)


def best_long_form(short: str, long: str) -> str | None:
    """The shortest suffix of ``long`` whose characters spell ``short`` (or None).

    Every letter or digit of the short form must occur, in order, in the long
    form; its first character must start a word of the long form.
    """
    s_idx = len(short) - 1
    l_idx = len(long) - 1
    while s_idx >= 0:
        c = short[s_idx].lower()
        if not c.isalnum():
            s_idx -= 1
            continue
        while l_idx >= 0 and (
            long[l_idx].lower() != c or (s_idx == 0 and l_idx > 0 and long[l_idx - 1].isalnum())
        ):
            l_idx -= 1
        if l_idx < 0:
            return None
        l_idx -= 1
        s_idx -= 1
    start = long.rfind(" ", 0, l_idx + 1) + 1
    found = long[start:].strip()
    if len(found) <= len(short) or short.lower() in found.lower().split():
        return None
    return found


def _definition(short: str, before: str) -> tuple[str, str] | None:
    short = short.strip()
    if not is_short_form_candidate(short):
        return None
    words = _WORD.findall(before)
    window = min(len(short) + 5, 2 * len(short))
    candidate = " ".join(words[-window:]).strip(" ,;:")
    if not candidate:
        return None
    long = best_long_form(short, candidate)
    return (short, long) if long is not None else None


def find_abbreviations(sentences: Iterable[str]) -> dict[str, str]:
    """Short form -> long form for every definition in a document's sentences.

    The first definition of a short form in the document wins. Both orders are
    read: ``long form (SF)`` and ``SF (long form)`` (the short form then being the
    one word before the parenthesis and the long form the text inside).

    Args:
        sentences: The document's sentences, in order.

    Returns:
        The definitions found (may be empty).
    """
    found: dict[str, str] = {}
    for sentence in sentences:
        if "(" not in sentence:
            continue
        for m in _PAREN.finditer(sentence):
            inside = m.group(1).split(";")[0].split(",")[0].strip()
            before = sentence[: m.start()]
            pair = _definition(inside, before)
            if pair is None and len(inside.split()) > 2:
                # SF (long form): the short form is the word before the parenthesis
                prev = _WORD.findall(before)
                if prev and is_short_form_candidate(prev[-1]) and len(prev[-1]) <= 6:
                    long = best_long_form(prev[-1], inside)
                    pair = (prev[-1], long) if long is not None else None
            if pair is not None and pair[0] not in found:
                found[pair[0]] = pair[1]
    return found
