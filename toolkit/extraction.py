"""The concept-extractor plugin interface (entry-point group ``ctk.extractors``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, cast

from pydantic import BaseModel

from ctk.errors import ConfigError, ExtractionError
from ctk.llm import CachedGenerator, LLMBackend, TextGenerator, backend_generator
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

    Subclasses set :attr:`name` (and :attr:`Options` when they take settings) and
    implement :meth:`_extract`; they are registered under the entry-point group
    ``ctk.extractors``. Callers use :meth:`extract`, which checks what the plugin
    returns. An extractor is created once per worker process, so it must be
    picklable or cheap to rebuild. Constructors take ``options`` (a dict or an
    :attr:`Options` instance) like the other plugin kinds.
    """

    kind: ClassVar[str] = "extractor"
    #: True for an extractor that asks an LLM backend: it is built with
    #: :meth:`with_backend`, and a build runs it in one process and checks the
    #: data policy before any text is sent (:func:`ctk.kg.builder.build_kg`).
    uses_llm: ClassVar[bool] = False

    def __init__(self, options: BaseModel | dict[str, Any] | None = None) -> None:
        self.options = self.parse_options(options)

    @classmethod
    def with_backend(
        cls,
        backend: LLMBackend,
        options: BaseModel | dict[str, Any] | None = None,
        *,
        cache_dir: Path | None = None,
        cache_key: str = "",
    ) -> ConceptExtractor:
        """An extractor that asks ``backend`` (only for kinds with :attr:`uses_llm`).

        The kind's constructor takes ``options`` and ``generator=`` (a
        :class:`~ctk.llm.TextGenerator`): the backend, greedy, its answers cached.

        Args:
            backend: The LLM backend (the caller closes it).
            options: The extractor's own options.
            cache_dir: Folder keeping every answer (None: no cache).
            cache_key: What identifies the model in the cache (backend, model, URL).

        Raises:
            ConfigError: This extractor does not use an LLM.
        """
        if not cls.uses_llm:
            raise ConfigError(
                f"the {cls.name!r} extractor does not use an LLM backend",
                hint="drop the LLM settings, or pick an extractor that uses one (llm)",
            )
        generator: TextGenerator = backend_generator(backend)
        if cache_dir is not None:
            generator = CachedGenerator(generator, cache_dir, key=cache_key)
        extractor: ConceptExtractor = cast(Any, cls)(options, generator=generator)
        return extractor

    def extract(self, sentence: str) -> list[Mention]:
        """Concept mentions in one sentence, in text order.

        Args:
            sentence: One sentence of plain text.

        Returns:
            The mentions found, sorted by start offset.

        Raises:
            ExtractionError: The plugin failed, or returned something that is not a
                :class:`Mention` inside the sentence.
        """
        with self.reraise_as(ExtractionError):
            found = self._extract(sentence)
        n = len(sentence)
        for m in found:
            if not isinstance(m, Mention):
                raise ExtractionError(
                    f"extractor {self.name!r} returned {type(m).__name__}, not Mention"
                )
            if not 0 <= m.start < m.end <= n:
                raise ExtractionError(
                    f"extractor {self.name!r} returned the span {m.start}:{m.end} outside a "
                    f"sentence of {n} characters"
                )
        return sorted(found, key=lambda m: m.start)

    @abstractmethod
    def _extract(self, sentence: str) -> list[Mention]:
        """Concept mentions in one sentence, not overlapping (the base sorts and checks)."""

    def extract_document(self, sentences: Sequence[str]) -> list[list[Mention]]:
        """Mentions of each sentence of one document.

        Extractors that use the whole document (abbreviations it defines, as the
        dictionary extractor does) override this; by default each sentence is
        read on its own with :meth:`extract`.

        Args:
            sentences: The document's sentences, in order.

        Returns:
            One list of mentions per sentence.
        """
        return [self.extract(s) for s in sentences]

    def concept(self, concept_id: str) -> Concept | None:
        """The full concept (with synonyms) behind an id, where the extractor knows it."""
        return None

    def link_term(self, term: str, term_id: str | None = None) -> Mention | None:
        """The concept a curated index term names as a whole (a MeSH heading), or None.

        Builds count the headings NLM indexers put on a PubMed record as
        document-level concepts through this hook. The default links nothing:
        an extractor that cannot name a concept cheaply and exactly (a language
        model) leaves headings out.

        Args:
            term: An index term, such as ``"Heart Failure"`` or
                ``"Hypertension, Pulmonary"``.
            term_id: The term's MeSH descriptor UI (``"D006333"``) where the
                record gives it, for linking by id.
        """
        return None
