"""A note cut into plain text and the graph concepts recognised in it.

The concepts are found by the graph's own matcher (:meth:`ctk.kg.matching.ConceptMatcher.spans`,
the one the graph retriever and the rationale check use): names and synonyms, whole
words, case-insensitive. Where mentions overlap, the longest one starting first wins.
The segments carry raw text; the template escapes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctk.kg.matching import ConceptMatcher

__all__ = ["NoteSegment", "highlight_concepts"]


@dataclass(frozen=True, slots=True)
class NoteSegment:
    """A piece of a note: plain text, or a mention of graph concepts.

    Attributes:
        text: The text as written in the note.
        concept_ids: The concepts it names (empty for plain text).
    """

    text: str
    concept_ids: tuple[str, ...] = ()


def _same_length_lower(text: str) -> str:
    # str.lower() may lengthen a character (İ -> i̇); offsets must stay those of `text`
    return "".join(c.lower() if len(c.lower()) == 1 else "\x00" for c in text)


def highlight_concepts(text: str, matcher: ConceptMatcher | None) -> list[NoteSegment]:
    """Cut ``text`` into segments, the recognised concept mentions apart.

    Args:
        text: The note.
        matcher: The graph's concept matcher (None: no graph, one plain segment).

    Returns:
        Segments whose texts join back into ``text``.
    """
    if matcher is None or not text:
        return [NoteSegment(text)] if text else []
    spans = sorted(matcher.spans(_same_length_lower(text)), key=lambda s: (s[0], -(s[1] - s[0])))
    segments: list[NoteSegment] = []
    cursor = 0
    for start, end, ids in spans:
        if start < cursor:  # overlaps a longer or earlier mention
            continue
        if start > cursor:
            segments.append(NoteSegment(text[cursor:start]))
        segments.append(NoteSegment(text[start:end], tuple(ids)))
        cursor = end
    if cursor < len(text):
        segments.append(NoteSegment(text[cursor:]))
    return segments
