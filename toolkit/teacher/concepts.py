"""Graph concepts named in teacher text, and the concept pairs a sentence claims.

Shared by the quality gate (:mod:`ctk.teacher.gate`), the grounded prompt
(:mod:`ctk.teacher.grounded`) and ``ctk rationale check`` (:mod:`ctk.teacher.check`),
so that what the gate lets through is exactly what the check counts as supported.

Concepts are found by the graph's own finder (names and synonyms, whole words, any
case), then **the longest mention wins**: a name found inside a longer name found at
the same place is not a mention of its own. "diabetes with complications" names
*diabetes with complications* only, not also *diabetes without complication* (whose
synonym "diabetes" it contains); "metabolic acidosis" is not also "acidosis"
(*fluid and electrolyte disorders*). The graph retriever's seed finding is not
changed by this (it reads notes, where a broader seed costs nothing but a fact).

A sentence (split at ``.``, ``!``, ``?`` and ``;``) that names two distinct concepts
claims that they are related; the claim is **supported** when the graph has an edge
between them, in either direction, of any relation type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ctk.graph import ConceptFinder, GraphReader

__all__ = [
    "CLAIM_SPLIT",
    "ConceptLexicon",
    "ConceptPair",
]

#: Where a rationale's text is cut into the units whose concept pairs are claims.
CLAIM_SPLIT = re.compile(r"(?<=[.!?;])\s+")
_NEIGHBOUR_LIMIT = 100_000


def _humanise(concept_id: str) -> str:
    local = concept_id.rsplit(":", 1)[-1]
    return local.replace("_", " ").replace("-", " ").strip()


class ConceptPair:
    """Two distinct concepts named in one sentence (ids sorted), and whether the graph links them.

    Attributes:
        sentence: The sentence (or ``;`` clause) that names both.
        concepts: The two concept ids, sorted.
        supported: The graph has an edge between them (either direction).
    """

    __slots__ = ("concepts", "sentence", "supported")

    def __init__(self, sentence: str, concepts: tuple[str, str], supported: bool) -> None:
        self.sentence = sentence
        self.concepts = concepts
        self.supported = supported


class ConceptLexicon:
    """Names and synonyms of graph concepts, where they occur in text, and their edges.

    Args:
        store: The knowledge graph; without one, a concept id stands for its own
            name (``ctk:heart_failure`` -> "heart failure"), and no free-text
            concept finding (nor pair checking) is done.
    """

    def __init__(self, store: GraphReader | None = None) -> None:
        self.store = store
        self._finder: ConceptFinder | None = None
        self._names: dict[str, tuple[str, ...]] = {}
        self._patterns: dict[str, re.Pattern[str]] = {}
        self._neighbours: dict[str, set[str]] = {}
        self._name_patterns: dict[str, list[re.Pattern[str]]] = {}

    def names(self, concept_id: str) -> tuple[str, ...]:
        """The concept's name then its synonyms (the humanised id when unknown)."""
        if concept_id not in self._names:
            concept = self.store.get_concept(concept_id) if self.store is not None else None
            found = [concept.name, *concept.synonyms] if concept is not None else []
            found.append(_humanise(concept_id))
            unique = dict.fromkeys(n.strip() for n in found if n and n.strip())
            self._names[concept_id] = tuple(unique)
        return self._names[concept_id]

    def name(self, concept_id: str) -> str:
        """The concept's preferred name."""
        return self.names(concept_id)[0]

    def _pattern(self, concept_id: str) -> re.Pattern[str]:
        if concept_id not in self._patterns:
            alts = sorted((re.escape(n) for n in self.names(concept_id)), key=len, reverse=True)
            self._patterns[concept_id] = re.compile(
                r"(?<![A-Za-z0-9])(?:" + "|".join(alts) + r")(?![A-Za-z0-9])", re.IGNORECASE
            )
        return self._patterns[concept_id]

    def named_in(self, concept_id: str, text: str) -> bool:
        """Whether ``text`` names the concept (any name or synonym, whole words, any case)."""
        return bool(self._pattern(concept_id).search(text))

    def _spans(self, concept_id: str, text: str) -> Iterator[tuple[int, int]]:
        # every name on its own, not only the longest alternative at each place
        if concept_id not in self._name_patterns:
            self._name_patterns[concept_id] = [
                re.compile(rf"(?<![A-Za-z0-9]){re.escape(n)}(?![A-Za-z0-9])", re.IGNORECASE)
                for n in self.names(concept_id)
            ]
        for pattern in self._name_patterns[concept_id]:
            for m in pattern.finditer(text):
                yield m.start(), m.end()

    def find(self, text: str) -> set[str]:
        """Concept ids named in ``text``, the longest mention winning (empty without a graph).

        A concept whose every mention lies inside a longer mention of another concept
        is not named: "diabetes with complications" does not also name the concept
        whose synonym is "diabetes".

        Example:
            Without a graph nothing is found: ``ConceptLexicon().find("dyspnea") == set()``.
        """
        if self.store is None or not text.strip():
            return set()
        if self._finder is None:
            self._finder = self.store.concept_finder()
        found = self._finder.find(text)
        if len(found) < 2:
            return set(found)
        spans = {cid: set(self._spans(cid, text)) for cid in found}
        named: set[str] = set()
        for cid, own in spans.items():
            if not own:  # the finder knows a name the lexicon does not: keep it
                named.add(cid)
                continue
            for start, end in own:
                inside_longer = any(
                    other != cid and s <= start and end <= e and (e - s) > (end - start)
                    for other, theirs in spans.items()
                    for s, e in theirs
                )
                if not inside_longer:
                    named.add(cid)
                    break
        return named

    def linked(self, a: str, b: str) -> bool:
        """Whether the graph has an edge between ``a`` and ``b`` (either direction, any type)."""
        if self.store is None:
            return False
        for x, y in ((a, b), (b, a)):
            if x not in self._neighbours:
                self._neighbours[x] = {
                    nb.concept.id for nb in self.store.neighbours(x, limit=_NEIGHBOUR_LIMIT)
                }
            if y in self._neighbours[x]:
                return True
        return False

    def pairs(self, text: str) -> list[ConceptPair]:
        """The concept pairs ``text`` claims, sentence by sentence, each pair once.

        Args:
            text: A rationale (or one claim).

        Returns:
            One :class:`ConceptPair` per distinct pair, with the first sentence naming it.
        """
        out: list[ConceptPair] = []
        seen: set[tuple[str, str]] = set()
        for sentence in CLAIM_SPLIT.split(text):
            if not sentence.strip():
                continue
            for a, b in combinations(sorted(self.find(sentence)), 2):
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                out.append(ConceptPair(sentence.strip(), (a, b), self.linked(a, b)))
        return out
