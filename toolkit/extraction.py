"""The concept-extractor plugin interface (entry-point group ``ctk.extractors``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from ctk.plugin import Plugin
from ctk.records import Concept

__all__ = ["ConceptExtractor", "Mention"]


@dataclass(frozen=True, slots=True)
class Mention:
    """One concept mention in a sentence.

    Attributes:
        concept_id: Canonical concept id (``ctk:congestive_heart_failure``).
        name: The concept's canonical name.
        type: Concept type (one of ``ctk.records.CONCEPT_TYPES``).
        start: Character offset of the mention in the sentence.
        end: Offset just after the mention.
        negated: Whether a negation cue governs it ("no evidence of pneumonia").
    """

    concept_id: str
    name: str
    type: str
    start: int
    end: int
    negated: bool = False


class ConceptExtractor(Plugin, ABC):
    """Finds medical concepts in a sentence.

    Subclasses set :attr:`name` and implement :meth:`extract`; they are registered
    under the entry-point group ``ctk.extractors``. An extractor is created once
    per worker process, so it must be picklable or cheap to rebuild.
    """

    kind: ClassVar[str] = "extractor"

    @abstractmethod
    def extract(self, sentence: str) -> list[Mention]:
        """Concept mentions in one sentence, in text order, not overlapping.

        Args:
            sentence: One sentence of plain text.

        Returns:
            The mentions found.
        """

    def concept(self, concept_id: str) -> Concept | None:
        """The full concept (with synonyms) behind an id, where the extractor knows it."""
        return None
