"""A fast, rule-based sentence splitter, good enough for abstracts and encyclopedia text.

A sentence ends at ``.``, ``!`` or ``?`` (closing quotes and brackets included)
followed by white space and an upper-case letter, a digit or an opening bracket
or quote, unless the word before the full stop is a known abbreviation ("e.g.",
"Fig.", "vs.", "et al.", "Dr."), a single initial ("J. Smith") or a number
abbreviation ("No. 5"). Blank lines always end a sentence. Decimals ("2.5 mg")
never split because no space follows the point.
"""

from __future__ import annotations

import re

__all__ = ["ABBREVIATIONS", "split_sentences"]

#: Lower-case words that are followed by a full stop without ending a sentence.
ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "e.g",
        "i.e",
        "fig",
        "figs",
        "vs",
        "al",
        "etc",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "no",
        "nos",
        "approx",
        "ca",
        "cf",
        "resp",
        "ref",
        "refs",
        "vol",
        "pp",
        "p",
        "eq",
        "st",
        "jr",
        "sr",
        "inc",
        "ltd",
        "co",
        "dept",
        "univ",
        "min",
        "max",
        "mg",
        "ml",
        "mo",
        "yr",
        "yrs",
        "wk",
        "wks",
        "hr",
        "hrs",
        "sec",
        "sp",
        "spp",
        "var",
        "ed",
        "eds",
        "tab",
        "suppl",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "a.m",
        "p.m",
        "viz",
        "incl",
        "est",
        "dia",
        "temp",
    }
)

_BOUNDARY = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[A-Z0-9\"'“‘(\[])")
_PARAGRAPH = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"\s+")


def _ends_with_abbreviation(text: str, dot: int) -> bool:
    """Whether the ``.`` at ``dot`` closes an abbreviation or an initial."""
    if text[dot] != ".":
        return False
    i = dot
    while i > 0 and not text[i - 1].isspace() and text[i - 1] not in "([\"'":
        i -= 1
    word = text[i:dot].lower()
    if not word:
        return False
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith", "E. coli"
        return True
    return word in ABBREVIATIONS


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences (white space inside each collapsed).

    Args:
        text: A paragraph, an abstract or a page.

    Returns:
        The non-empty sentences in order.

    Example:
        >>> split_sentences("BNP was high, e.g. 900 pg/mL. Furosemide was given.")
        ['BNP was high, e.g. 900 pg/mL.', 'Furosemide was given.']
    """
    out: list[str] = []
    for raw in _PARAGRAPH.split(text):
        para = _SPACES.sub(" ", raw) if ("  " in raw or "\n" in raw or "\t" in raw) else raw
        start = 0
        for m in _BOUNDARY.finditer(para):
            if _ends_with_abbreviation(para, m.start()):
                continue
            piece = para[start : m.end()].strip()
            if piece:
                out.append(piece)
            start = m.end()
        piece = para[start:].strip()
        if piece:
            out.append(piece)
    return out
