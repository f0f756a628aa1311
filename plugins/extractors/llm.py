"""Concept extraction by an LLM (the paper's approach), through any text generator.

The extractor asks a model to list the medical concepts of a sentence as JSON
(``[{"name": "heart failure", "type": "disease"}, ...]``), then maps each name to
the bundled vocabulary's canonical id when it is a known name or synonym, or to
an ``llm:<slug>`` id otherwise. Names not found verbatim in the sentence are
dropped (the model must quote, not paraphrase), as are unknown types (mapped to
``other``) and answers that are not a JSON list (counted in :attr:`LLMExtractor.failures`).

Any object with ``generate(prompt: str) -> str`` works (:class:`TextGenerator`);
:func:`backend_generator` adapts a :class:`ctk.llm.LLMBackend` plugin,
and :class:`CachedGenerator` keeps every answer on disk keyed by a hash of the
model and the prompt, as rationale runs are cached: a re-run (a resumed build, a
rebuild into a new store) asks the model nothing it has answered before.
:meth:`LLMExtractor.with_backend` (the extractor kind's) puts the three together; it is what
:func:`ctk.kg.builder.build_kg` (``ctk kg build --extractor llm --llm openai
--base-url ...``) calls.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from ctk.extraction import ConceptExtractor, Mention
from ctk.kg.extraction.negation import negated_after, negation_scopes
from ctk.kg.extraction.vocabulary import VocabularyEntry, load_vocabulary
from ctk.llm import CachedGenerator, TextGenerator, backend_generator
from ctk.plugin import PluginOptions
from ctk.records import CONCEPT_TYPES, Concept

if TYPE_CHECKING:
    pass

__all__ = [
    "PROMPT",
    "CachedGenerator",
    "LLMExtractor",
    "LLMExtractorOptions",
    "TextGenerator",
    "backend_generator",
]

#: The prompt; ``{sentence}`` is replaced by the sentence.
PROMPT = (
    "List the medical concepts (diseases, symptoms, findings, lab tests, drugs, "
    "procedures) mentioned in the sentence below. Answer with a JSON list only, each "
    'item {{"name": <the words exactly as written in the sentence>, "type": one of '
    + ", ".join(CONCEPT_TYPES)
    + "}}. Answer [] when there is none.\n\nSentence: {sentence}"
)
_JSON_LIST = re.compile(r"\[.*\]", re.DOTALL)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


class LLMExtractorOptions(PluginOptions):
    """Settings of the ``llm`` extractor.

    Attributes:
        negation: Mark mentions governed by a negation cue as negated.
        prompt: The prompt template (``{sentence}`` placeholder).
    """

    negation: bool = True
    prompt: str = PROMPT


class LLMExtractor(ConceptExtractor):
    """Extract concepts by prompting an LLM (one call per sentence).

    Args:
        options: :class:`LLMExtractorOptions` (or a dict of them).
        generator: The model (``generate(prompt) -> str``); see :func:`backend_generator`.

    Example:
        >>> class Echo:
        ...     def generate(self, prompt: str) -> str:
        ...         return '[{"name": "dyspnea", "type": "symptom"}]'
        >>> [m.concept_id for m in LLMExtractor(generator=Echo()).extract("Dyspnea at rest.")]
        ['ctk:dyspnea']
    """

    name: ClassVar[str] = "llm"
    Options: ClassVar[type[BaseModel]] = LLMExtractorOptions
    options: LLMExtractorOptions
    uses_llm: ClassVar[bool] = True

    def __init__(
        self,
        options: BaseModel | dict[str, Any] | None = None,
        *,
        generator: TextGenerator,
    ) -> None:
        if not isinstance(generator, TextGenerator):
            raise TypeError("generator must have a generate(prompt: str) -> str method")
        super().__init__(options)
        self.generator = generator
        self.negation = self.options.negation
        self.prompt = self.options.prompt
        self.failures = 0
        self.unmatched = 0
        self._surfaces: dict[str, VocabularyEntry] = {}
        for entry in load_vocabulary():
            for surface in (entry.name, *entry.synonyms):
                self._surfaces.setdefault(surface.lower(), entry)
        self._seen: dict[str, Concept] = {}

    def concept(self, concept_id: str) -> Concept | None:
        """A concept this extractor has produced (vocabulary or ``llm:`` id)."""
        return self._seen.get(concept_id)

    def _parse(self, answer: str) -> list[tuple[str, str]]:
        match = _JSON_LIST.search(answer)
        if match is None:
            self.failures += 1
            return []
        try:
            items = json.loads(match.group(0))
        except json.JSONDecodeError:
            self.failures += 1
            return []
        if not isinstance(items, list):
            self.failures += 1
            return []
        out: list[tuple[str, str]] = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                ctype = item.get("type")
                out.append((item["name"].strip(), ctype if ctype in CONCEPT_TYPES else "other"))
        return out

    def _extract(self, sentence: str) -> list[Mention]:
        """Ask the model for the sentence's concepts and locate them in it."""
        answer = self.generator.generate(self.prompt.format(sentence=sentence))
        lowered = sentence.lower()
        taken: list[tuple[int, int]] = []
        mentions: list[Mention] = []
        scopes = negation_scopes(sentence) if self.negation else []
        for name, ctype in self._parse(answer):
            if not name:
                continue
            start = lowered.find(name.lower())
            if start < 0:
                self.unmatched += 1
                continue
            end = start + len(name)
            if any(not (end <= s or start >= e) for s, e in taken):
                continue
            taken.append((start, end))
            entry = self._surfaces.get(name.lower())
            if entry is not None:
                concept = entry.to_concept()
            else:
                concept = Concept(id=f"llm:{_slug(name)}", name=name.lower(), type=ctype)  # type: ignore[arg-type]
            self._seen.setdefault(concept.id, concept)
            negated = self.negation and (
                any(s <= start < e for s, e in scopes) or negated_after(sentence, end)
            )
            mentions.append(Mention(concept.id, concept.name, concept.type, start, end, negated))
        mentions.sort(key=lambda m: m.start)
        return mentions
