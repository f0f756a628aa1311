"""Keep a generated rationale consistent with the predicted diagnoses.

A small student copies its teacher's wording ("The clinical note is consistent
with the diagnoses: A; B; C.") and may list phenotypes it did not predict. The
diagnoses themselves are decoded under a grammar (or forced from the diagnosis
head), so they are the student's answer; the rationale must not name others.

:func:`phenotype_mentions` finds where a text names one of the 25 phenotypes
(benchmark names, short names and synonyms; longest match first, whole words;
all-capital abbreviations such as ``MI`` or ``CHF`` only in capitals).
:func:`restrict_rationale` removes the parts of a rationale that name an
unpredicted phenotype: within a sentence, the ``;``-separated items that name
one (a list's lead, "... the diagnoses:", stays while one of its items does),
and the whole sentence when nothing of it is left. The text as generated is
kept beside it (``DiagnosisResult.generated_text``) and what was removed is
reported, so nothing is lost silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from ctk.phenotypes import phenotype_by_name, phenotypes

__all__ = [
    "RationaleRestriction",
    "drop_unfinished",
    "filter_sentences",
    "phenotype_mentions",
    "restrict_rationale",
]

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
#: Citation markers at the start of a split piece: they close the sentence before it.
_LEADING_CITES = re.compile(r"^((?:\[E\d+\]\s*)+)")


@dataclass
class RationaleRestriction:
    """A rationale restricted to the predicted diagnoses.

    Attributes:
        text: The rationale without the parts that name unpredicted phenotypes.
        removed: Benchmark names of the unpredicted phenotypes it named (benchmark
            order); empty when the rationale was already consistent.
        removed_parts: How many sentence parts (list items or sentences) were removed.
    """

    text: str
    removed: list[str] = field(default_factory=list)
    removed_parts: int = 0


@cache
def _pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """One alternation of every surface name, longest first, and surface -> benchmark name."""
    surfaces: dict[str, str] = {}
    for p in phenotypes():
        for surface in (p.name, p.short_name, *p.synonyms):
            key = surface if surface.isupper() else surface.lower()
            surfaces.setdefault(key, p.name)
    alternatives = []
    for surface in sorted(surfaces, key=len, reverse=True):
        body = re.escape(surface)
        alternatives.append(body if surface.isupper() else f"(?i:{body})")
    return re.compile(r"(?<![\w-])(?:" + "|".join(alternatives) + r")(?![\w-])"), surfaces


def phenotype_mentions(text: str) -> list[tuple[int, int, str]]:
    """Where ``text`` names a phenotype.

    Args:
        text: Any text.

    Returns:
        ``(start, end, benchmark name)`` per mention, in text order (non-overlapping,
        the longest name at each place).

    Example:
        >>> [m[2] for m in phenotype_mentions("Septic shock with acute renal failure.")]
        ['Shock', 'Acute and unspecified renal failure']
    """
    pattern, surfaces = _pattern()
    out: list[tuple[int, int, str]] = []
    for m in pattern.finditer(text):
        found = m.group(0)
        name = surfaces.get(found) or surfaces.get(found.lower())
        if name is not None:
            out.append((m.start(), m.end(), name))
    return out


def _names(text: str) -> set[str]:
    return {name for _, _, name in phenotype_mentions(text)}


def _benchmark(names: list[str]) -> set[str]:
    out: set[str] = set()
    for n in names:
        p = phenotype_by_name(n)
        out.add(p.name if p is not None else n)
    return out


def _restrict_sentence(sentence: str, allowed: set[str]) -> tuple[str, int]:
    """The sentence without its items that name a phenotype outside ``allowed``."""
    if not _names(sentence) - allowed:
        return sentence, 0
    end = sentence.rstrip()
    stop = end[-1] if end and end[-1] in ".!?" else ""
    body = end[: len(end) - len(stop)]
    lead = ""
    colon = body.find(": ")
    if colon >= 0:
        lead, body = body[: colon + 2], body[colon + 2 :]
        if _names(lead) - allowed:  # the lead itself names an unpredicted phenotype
            return "", 1
    items = [x.strip() for x in body.split(";")]
    kept = [x for x in items if x and not (_names(x) - allowed)]
    removed = len([x for x in items if x]) - len(kept)
    if not kept:
        return "", removed + (1 if lead else 0)
    return f"{lead}{'; '.join(kept)}{stop}", removed


def filter_sentences(rationale: str, restrict: Callable[[str], tuple[str, int]]) -> tuple[str, int]:
    """Apply ``restrict`` to each sentence of a rationale; what it returns is kept.

    A citation marker that leads a piece ("[E1] Next sentence.") closes the
    sentence before it: it goes with that sentence, and goes away with it.

    Args:
        rationale: The rationale text.
        restrict: Sentence -> (the text kept of it, "" to drop it; parts removed).

    Returns:
        The kept text and the number of parts removed.
    """
    parts: list[str] = []
    removed_parts = 0
    previous_kept = True
    for piece in _SENTENCE.split(rationale.strip()):
        sentence = piece
        cites = _LEADING_CITES.match(piece)
        if cites and parts:  # "[E1]" after "... sentence." cites that sentence: goes with it
            if previous_kept:
                parts[-1] = f"{parts[-1]} {cites.group(1).strip()}"
            sentence = piece[cites.end() :]
        elif cites and not previous_kept:  # its sentence was the first, and was removed
            sentence = piece[cites.end() :]
        if not sentence:
            continue
        kept, n = restrict(sentence)
        removed_parts += n
        previous_kept = bool(kept)
        if kept:
            parts.append(kept)
    return " ".join(parts), removed_parts


def restrict_rationale(rationale: str, predicted: list[str]) -> RationaleRestriction:
    """Remove the parts of ``rationale`` that name a phenotype not in ``predicted``.

    Args:
        rationale: Generated rationale text (without the diagnosis part).
        predicted: The predicted phenotypes (benchmark or short names).

    Returns:
        The restricted text and what was removed.

    Example:
        >>> r = restrict_rationale(
        ...     "The note is consistent with the diagnoses: sepsis; shock. Lactate is high.",
        ...     ["Septicemia (except in labor)"],
        ... )
        >>> r.text, r.removed
        ('The note is consistent with the diagnoses: sepsis. Lactate is high.', ['Shock'])
    """
    allowed = _benchmark(predicted)
    named = _names(rationale) - allowed
    if not named:
        return RationaleRestriction(rationale)
    text, removed_parts = filter_sentences(
        rationale, lambda sentence: _restrict_sentence(sentence, allowed)
    )
    order = [p.name for p in phenotypes()]
    return RationaleRestriction(text, sorted(named, key=order.index), removed_parts=removed_parts)


_FINISHED = re.compile(r"[.!?](?:\s*\[E\d+\])*\s*$")


def drop_unfinished(rationale: str) -> tuple[str, str]:
    """Split off an unfinished last sentence (cut by the generation length limit).

    Args:
        rationale: A rationale.

    Returns:
        The rationale up to its last finished sentence (``.``, ``!`` or ``?``, then any
        citation markers), and the unfinished rest ("" when there is none).

    Example:
        >>> drop_unfinished("Known: Sepsis causes shock. [E1] These values are in")
        ('Known: Sepsis causes shock. [E1]', 'These values are in')
    """
    text = rationale.strip()
    if not text or _FINISHED.search(text):
        return text, ""
    ends = [m.end() for m in re.finditer(r"[.!?](?:\s*\[E\d+\])*(?=\s)", text)]
    if not ends:
        return "", text
    return text[: ends[-1]].rstrip(), text[ends[-1] :].strip()
