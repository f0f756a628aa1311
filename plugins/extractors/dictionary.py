"""The default, offline concept extractor: dictionary matching with Aho-Corasick.

Every name and synonym of the vocabulary (see :mod:`ctk.kg.extraction.vocabulary`)
and its plural forms go into an Aho-Corasick automaton (``pyahocorasick``); a
sentence is scanned once. Matching rules:

* whole words only: a match must not touch a letter or digit on either side
  ("MI" is not found inside "MIMIC");
* case-insensitive, except surface forms with a capital after their first letter
  (acronyms and formulas such as ``MI``, ``CAD``, ``pH``, ``HbA1c``), which must
  match their case;
* plurals: ``arrhythmias``, ``diuretics``, ``stenoses``, ``therapies`` match their
  singular entry;
* overlapping matches: the longest wins, then the leftmost ("septic shock" over
  "shock");
* negation (optional, on by default): see :mod:`ctk.kg.extraction.negation`.

Each surface form maps to one canonical concept id and type.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import ahocorasick
from pydantic import BaseModel

from ctk.extraction import ConceptExtractor, Mention
from ctk.kg.extraction.negation import negated_after, negation_scopes
from ctk.kg.extraction.vocabulary import VocabularyEntry, load_vocabulary
from ctk.plugin import PluginOptions
from ctk.records import Concept

__all__ = ["DictionaryExtractor", "DictionaryExtractorOptions", "plural_forms"]


def plural_forms(surface: str) -> list[str]:
    """English plural forms of a term's last word (``arrhythmia`` -> ``arrhythmias``).

    Args:
        surface: A name or synonym.

    Returns:
        Candidate plurals (may be empty for words that do not pluralise).
    """
    head, _, last = surface.rpartition(" ")
    prefix = f"{head} " if head else ""
    low = last.lower()
    if len(low) < 3 or not low[-1].isalpha():
        return []
    if low.endswith("is"):  # stenosis -> stenoses
        forms = [last[:-2] + "es"]
    elif low.endswith("y") and low[-2:-1] not in set("aeiou"):
        forms = [last[:-1] + "ies"]
    elif low.endswith(("s", "x", "z", "ch", "sh")):
        forms = [last + "es"] if not low.endswith(("us", "ss")) else []
    elif low.endswith("um"):  # bacterium -> bacteria
        forms = [last[:-2] + "a", last + "s"]
    else:
        forms = [last + "s"]
    return [prefix + f for f in forms]


def _case_sensitive(surface: str) -> bool:
    """Acronyms and formulas: a capital letter after the first character."""
    return any(c.isupper() for c in surface[1:])


def _lower_same_length(text: str) -> str:
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class DictionaryExtractorOptions(PluginOptions):
    """Settings of the ``dictionary`` extractor.

    Attributes:
        vocabulary: A vocabulary TSV (see
            :func:`~ctk.kg.extraction.vocabulary.load_vocabulary`); None for the one
            shipped with ctk.
        negation: Mark mentions governed by a negation cue as negated.
        types: Keep only concepts of these types (None: all).
    """

    vocabulary: Path | None = None
    negation: bool = True
    types: list[str] | None = None


class DictionaryExtractor(ConceptExtractor):
    """Aho-Corasick dictionary matching over the bundled medical vocabulary.

    Args:
        options: :class:`DictionaryExtractorOptions` (or a dict of them).

    Example:
        >>> ex = DictionaryExtractor()
        >>> [m.concept_id for m in ex.extract("Heart failure presents with dyspnea.")]
        ['ctk:congestive_heart_failure', 'ctk:dyspnea']
    """

    name: ClassVar[str] = "dictionary"
    Options: ClassVar[type[BaseModel]] = DictionaryExtractorOptions
    options: DictionaryExtractorOptions

    def __init__(self, options: BaseModel | dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.vocabulary_path = self.options.vocabulary
        self.negation = self.options.negation
        self.types = tuple(self.options.types) if self.options.types else None
        self._build()

    def _build(self) -> None:
        entries = [
            e
            for e in load_vocabulary(self.vocabulary_path)
            if self.types is None or e.type in self.types
        ]
        self._entries: list[VocabularyEntry] = entries
        self._by_id = {e.id: e for e in entries}
        ci = ahocorasick.Automaton()
        cs = ahocorasick.Automaton()
        # real surfaces first, plurals after, so that a plural never shadows a real term
        for pass_no in (0, 1):
            for index, entry in enumerate(entries):
                for surface in (entry.name, *entry.synonyms):
                    forms = [surface] if pass_no == 0 else plural_forms(surface)
                    for form in forms:
                        if _case_sensitive(surface):
                            if form not in cs:
                                cs.add_word(form, (index, len(form)))
                        else:
                            key = _lower_same_length(form)
                            if key not in ci:
                                ci.add_word(key, (index, len(key)))
        self._ci: ahocorasick.Automaton | None = None
        if len(ci):
            ci.make_automaton()
            self._ci = ci
        self._cs: ahocorasick.Automaton | None = None
        if len(cs):
            cs.make_automaton()
            self._cs = cs

    def __getstate__(self) -> dict[str, object]:
        return {"options": self.options.model_dump()}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["options"])  # type: ignore[misc]

    def __len__(self) -> int:
        return len(self._entries)

    def concept(self, concept_id: str) -> Concept | None:
        """The vocabulary concept with this id (with synonyms)."""
        entry = self._by_id.get(concept_id)
        return entry.to_concept() if entry is not None else None

    def _extract(self, sentence: str) -> list[Mention]:
        """Concept mentions of one sentence (see the module docstring for the rules)."""
        n = len(sentence)
        found: list[tuple[int, int, int]] = []  # (start, -length, entry index)
        low = _lower_same_length(sentence)
        scans: list[tuple[ahocorasick.Automaton, str]] = []
        if self._ci is not None:
            scans.append((self._ci, low))
        if self._cs is not None:
            scans.append((self._cs, sentence))
        for automaton, text in scans:
            for end, (index, length) in automaton.iter(text):
                start = end - length + 1
                if start > 0 and sentence[start - 1].isalnum():
                    continue
                if end + 1 < n and sentence[end + 1].isalnum():
                    continue
                found.append((start, -length, index))
        if not found:
            return []
        found.sort()
        chosen: list[tuple[int, int, int]] = []
        # longest first, then leftmost, keeping non-overlapping spans
        for start, neg_len, index in sorted(found, key=lambda f: (f[1], f[0])):
            end = start - neg_len
            if all(end <= s or start >= e for s, e, _ in chosen):
                chosen.append((start, end, index))
        chosen.sort()
        scopes = negation_scopes(sentence) if self.negation else []
        out: list[Mention] = []
        for start, end, index in chosen:
            entry = self._entries[index]
            negated = False
            if self.negation:
                negated = any(s <= start < e for s, e in scopes) or negated_after(sentence, end)
            out.append(Mention(entry.id, entry.name, entry.type, start, end, negated))
        return out
