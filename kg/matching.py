"""Find a graph's concepts in free text: names and synonyms, whole words, one pass.

Used by the ``graph`` retriever (seed concepts of an admission) and the rationale
check (concepts a rationale claims); a store hands one out through
:meth:`ctk.graph.GraphReader.concept_finder`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

from ctk.records import Concept

__all__ = ["ConceptMatcher"]

_WORD = re.compile(r"\w")


class ConceptMatcher:
    """Finds the graph's concept names and synonyms in text (case-insensitive, whole words).

    Args:
        concepts: The concepts to find.
        min_length: Shortest name matched.
    """

    def __init__(self, concepts: Iterable[Concept], *, min_length: int = 3) -> None:
        self._automaton = ahocorasick.Automaton()
        self.mentions: dict[str, int] = {}
        n = 0
        for concept in concepts:
            self.mentions[concept.id] = concept.mentions
            for name in (concept.name, *concept.synonyms):
                key = name.lower().strip()
                if len(key) < min_length:
                    continue
                existing = self._automaton.get(key, None)
                if existing is None:
                    self._automaton.add_word(key, (len(key), [concept.id]))
                elif concept.id not in existing[1]:
                    existing[1].append(concept.id)
                n += 1
        if n:
            self._automaton.make_automaton()
        self.size = n

    def spans(self, text: str) -> list[tuple[int, int, list[str]]]:
        """Every whole-word mention in ``text``: ``(start, end, concept ids)``, by end.

        Mentions may overlap ("heart failure" and "failure"); ``text[start:end]`` is
        the mention as written.
        """
        if not self.size or not text:
            return []
        low = text.lower()
        found: list[tuple[int, int, list[str]]] = []
        for end, (length, ids) in self._automaton.iter(low):
            start = end - length + 1
            if start > 0 and _WORD.match(low[start - 1]):
                continue
            if end + 1 < len(low) and _WORD.match(low[end + 1]):
                continue
            found.append((start, end + 1, ids))
        return found

    def find(self, text: str) -> list[str]:
        """Concept ids mentioned in ``text``, in order of first mention, no duplicates."""
        found: list[str] = []
        seen: set[str] = set()
        for _, _, ids in self.spans(text):
            for cid in ids:
                if cid not in seen:
                    seen.add(cid)
                    found.append(cid)
        return found
