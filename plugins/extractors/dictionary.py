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

Speed: an ASCII sentence (nearly every PubMed sentence) is scanned once, in lower
case, by a third automaton that holds both kinds of key; a case-sensitive key
then has to equal the original text as written. It finds exactly the matches of
the two automata (a test compares them), which still scan any other text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import ahocorasick
from pydantic import BaseModel

from ctk.extraction import ConceptExtractor, Mention
from ctk.kg.extraction.abbreviations import find_abbreviations
from ctk.kg.extraction.mention_rules import (
    is_adjective_form,
    is_short_form,
    modifier_rejects,
    unambiguous_short_forms,
)
from ctk.kg.extraction.negation import negated_after, negation_scopes
from ctk.kg.extraction.vocabulary import VocabularyEntry, load_vocabulary
from ctk.plugin import PluginOptions
from ctk.records import Concept

__all__ = [
    "MESH_CLASS_ORIGIN",
    "STOP_ORIGIN",
    "DictionaryExtractor",
    "DictionaryExtractorOptions",
    "ShortForms",
    "plural_forms",
]

#: ``origin`` of vocabulary rows that take their span and yield no mention.
STOP_ORIGIN = "stop"

#: ``origin`` of the pharmacological classes taken from MeSH (option ``drug_classes``).
MESH_CLASS_ORIGIN = "mesh"

#: A document's defined short forms -> the vocabulary entry (index) of the long form.
ShortForms = dict[str, int | None]


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


#: A key of the ASCII automaton: (length, case-insensitive entry index or -1,
#: case-sensitive variants as written -> entry index, or None).
_AsciiKey = tuple[int, int, dict[str, int] | None]


def _automaton(keys: dict[str, Any]) -> ahocorasick.Automaton | None:
    """An Aho-Corasick automaton of ``keys`` (key -> value), None when there are none."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key, value in keys.items():
        automaton.add_word(key, value)
    automaton.make_automaton()
    return automaton


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
        mesh_headings: Link the MeSH headings of PubMed records to concepts
            (:meth:`DictionaryExtractor.link_term`), so that builds count them as
            document-level concepts and pairs. Off by default: on the quality
            benchmark it widens coverage but lowers precision@10 (see
            docs/knowledge-graph.md).
        drug_classes: Also match the pharmacological classes taken from MeSH
            (vocabulary rows of origin ``mesh``: "calcium channel agonist",
            "histamine H2 antagonist", "antihypertensive agent"). Off by default:
            on the quality benchmark they lower precision@10 (see
            docs/knowledge-graph.md). The hand-listed classes (ACE inhibitor,
            beta blocker, diuretic, ... with their MeSH ids) are always matched.
    """

    vocabulary: Path | None = None
    negation: bool = True
    types: list[str] | None = None
    mesh_headings: bool = False
    drug_classes: bool = False


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
            if (self.types is None or e.type in self.types)
            and (self.options.drug_classes or e.origin != MESH_CLASS_ORIGIN)
        ]
        self._entries: list[VocabularyEntry] = entries
        self._by_id = {e.id: e for e in entries}
        ci_keys: dict[str, tuple[int, int]] = {}
        cs_keys: dict[str, tuple[int, int]] = {}
        # real surfaces first, plurals after, so that a plural never shadows a real term
        for pass_no in (0, 1):
            for index, entry in enumerate(entries):
                for surface in (entry.name, *entry.synonyms):
                    forms = [surface] if pass_no == 0 else plural_forms(surface)
                    for form in forms:
                        if _case_sensitive(surface):
                            # as written, and capitalised at a sentence start
                            for variant in dict.fromkeys((form, form[:1].upper() + form[1:])):
                                cs_keys.setdefault(variant, (index, len(variant)))
                        else:
                            key = _lower_same_length(form)
                            ci_keys.setdefault(key, (index, len(key)))
        self._ci = _automaton(ci_keys)
        self._cs = _automaton(cs_keys)
        # ASCII sentences (nearly all) are scanned once, in lower case, by one automaton
        # holding both kinds of key; a case-sensitive key must then match the original
        # text as written. Same matches as the two automata, one pass instead of two.
        both: dict[str, _AsciiKey] = {
            key: (length, index, None) for key, (index, length) in ci_keys.items()
        }
        for variant, (index, length) in cs_keys.items():
            if not variant.isascii():
                continue  # never in an ASCII sentence
            low = variant.lower()
            old = both.get(low)
            as_written = dict(old[2]) if old is not None and old[2] else {}
            as_written[variant] = index
            both[low] = (length, old[1] if old is not None else -1, as_written)
        self._ascii = _automaton(both)

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

    def link_term(self, term: str, term_id: str | None = None) -> Mention | None:
        """The concept a MeSH heading names, or None (cached per term).

        Returns None for every term unless the option ``mesh_headings`` is on.

        By id first: a descriptor UI (``term_id``, ``"D006333"``) links to the
        vocabulary concept that holds it as an xref (``mesh:D006333``; see
        ``tools/build_vocabulary.py`` for how ids are given). A UI no concept
        holds (or none given) falls back to the name: the heading, or its
        uninverted form ("Hypertension, Pulmonary" -> "Pulmonary
        Hypertension"), must be matched whole by one vocabulary surface form
        under the linking rules (a stop phrase or a longer term wins as in
        text); a heading that only contains a concept names nothing.

        Example:
            >>> ex = DictionaryExtractor({"mesh_headings": True})
            >>> ex.link_term("Heart Failure", "D006333").concept_id
            'ctk:congestive_heart_failure'
            >>> ex.link_term("Hypertension, Pulmonary").concept_id
            'ctk:pulmonary_hypertension'
        """
        if not self.options.mesh_headings:
            return None
        cache: dict[tuple[str, str | None], Mention | None] = self.__dict__.setdefault(
            "_term_cache", {}
        )
        key = (term, term_id)
        if key in cache:
            return cache[key]
        found: Mention | None = None
        index = self._mesh_index().get(term_id) if term_id else None
        if index is not None:
            entry = self._entries[index]
            found = Mention(entry.id, entry.name, entry.type, 0, len(term), False)
        else:
            found = self._link_name(term)
        cache[key] = found
        return found

    def _mesh_index(self) -> dict[str, int]:
        """MeSH descriptor UI -> vocabulary entry index (from ``mesh:`` xrefs)."""
        index: dict[str, int] | None = self.__dict__.get("_mesh_by_ui")
        if index is None:
            index = {}
            for i, entry in enumerate(self._entries):
                for xref in entry.xrefs:
                    if xref.startswith("mesh:") and entry.origin != STOP_ORIGIN:
                        index.setdefault(xref[5:], i)
            self.__dict__["_mesh_by_ui"] = index
        return index

    def _link_name(self, term: str) -> Mention | None:
        """The concept a heading names as a whole, as written or uninverted, or None."""
        forms = [term]
        head, sep, modifier = term.partition(", ")
        if sep and "," not in modifier:
            forms.append(f"{modifier} {head}")
        for form in forms:
            whole = [
                m
                for m in self._extract_with(form, {})
                if m.start == 0 and m.end == len(form) and not m.negated
            ]
            if whole:
                return whole[0]
        return None

    def _scan(self, sentence: str) -> list[tuple[int, int, int]]:
        """Whole-word matches ``(start, -length, entry index)`` of both automata.

        The case-insensitive matches come first, then the case-sensitive ones (a
        tie on the same span goes to the case-insensitive entry downstream).
        """
        if self._ascii is not None and sentence.isascii():
            return self._scan_ascii(sentence, sentence.lower())
        return self._scan_two(sentence)

    def _scan_two(self, sentence: str) -> list[tuple[int, int, int]]:
        """:meth:`_scan` with the two automata: any text (the ASCII fast path's reference)."""
        n = len(sentence)
        found: list[tuple[int, int, int]] = []
        scans: list[tuple[ahocorasick.Automaton, str]] = []
        if self._ci is not None:
            scans.append((self._ci, _lower_same_length(sentence)))
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
        return found

    def _scan_ascii(self, sentence: str, low: str) -> list[tuple[int, int, int]]:
        """:meth:`_scan` of an ASCII sentence: one pass over ``low`` (its lower case)."""
        assert self._ascii is not None
        n = len(sentence)
        found: list[tuple[int, int, int]] = []
        as_written: list[tuple[int, int, int]] = []
        for end, (length, index, variants) in self._ascii.iter(low):
            start = end - length + 1
            if start > 0 and low[start - 1].isalnum():
                continue
            if end + 1 < n and low[end + 1].isalnum():
                continue
            if index >= 0:
                found.append((start, -length, index))
            if variants is not None:
                exact = variants.get(sentence[start : end + 1])
                if exact is not None:
                    as_written.append((start, -length, exact))
        return found + as_written if as_written else found

    def resolve_long_form(self, long_form: str) -> int | None:
        """The vocabulary entry (index) a defined long form names, or None.

        The long form names the concept of the match that ends where it ends (the
        head of the phrase) and covers at least half of it; a long form starting
        with a negating prefix ("non-ST elevation ...") names nothing unless the
        match covers the prefix too.
        """
        best: tuple[int, int] | None = None
        text = long_form.rstrip()
        for start, neg_len, index in self._scan(text):
            end = start - neg_len
            if end != len(text) or 2 * (end - start) < len(text):
                continue
            if best is None or -neg_len > best[0]:
                best = (-neg_len, index)
        return best[1] if best is not None else None

    def document_context(self, sentences: Sequence[str]) -> ShortForms:
        """The short forms a document defines, each with the entry its long form names."""
        defined = find_abbreviations(sentences)
        return {short: self.resolve_long_form(long) for short, long in defined.items()}

    def extract_document(self, sentences: Sequence[str]) -> list[list[Mention]]:
        """Mentions of each sentence of one document, short forms resolved per document."""
        context = self.document_context(sentences) if sentences else {}
        return [self._extract_with(s, context) for s in sentences]

    def _extract(self, sentence: str) -> list[Mention]:
        """Concept mentions of one sentence (see the module docstring for the rules).

        A sentence alone defines no short forms except those it defines itself;
        :meth:`extract_document` reads a whole document's definitions.
        """
        return self._extract_with(sentence, self.document_context([sentence]))

    def _extract_with(self, sentence: str, short_forms: ShortForms) -> list[Mention]:
        found = self._scan(sentence)
        if short_forms:
            found = [f for f in found if sentence[f[0] : f[0] - f[1]] not in short_forms]
            found += self._defined_matches(sentence, short_forms)
        kept: list[tuple[int, int, int]] = []
        allowed = unambiguous_short_forms()
        for start, neg_len, index in found:
            surface = sentence[start : start - neg_len]
            if (
                short_forms.get(surface, -1) == -1
                and is_short_form(surface)
                and surface not in allowed
            ):
                continue  # an ambiguous short form the document does not define
            kept.append((start, neg_len, index))
        if not kept:
            return []
        chosen: list[tuple[int, int, int]] = []
        # longest first, then leftmost, keeping non-overlapping spans
        for start, neg_len, index in sorted(kept, key=lambda f: (f[1], f[0])):
            end = start - neg_len
            if all(end <= s or start >= e for s, e, _ in chosen):
                chosen.append((start, end, index))
        chosen.sort()
        scopes = negation_scopes(sentence) if self.negation else []
        out: list[Mention] = []
        for start, end, index in chosen:
            entry = self._entries[index]
            if entry.origin == STOP_ORIGIN:
                continue
            adjective = is_adjective_form(sentence[start:end], entry.name)
            if modifier_rejects(sentence, start, end, adjective=adjective, concept_name=entry.name):
                continue
            negated = False
            if self.negation:
                negated = any(s <= start < e for s, e in scopes) or negated_after(sentence, end)
            out.append(Mention(entry.id, entry.name, entry.type, start, end, negated))
        return out

    def _defined_matches(
        self, sentence: str, short_forms: ShortForms
    ) -> list[tuple[int, int, int]]:
        """Matches of the document's defined short forms that name a concept."""
        out: list[tuple[int, int, int]] = []
        for short, index in short_forms.items():
            if index is None or short not in sentence:
                continue
            pattern = r"(?<![A-Za-z0-9])" + re.escape(short) + r"(?![A-Za-z0-9])"
            out.extend((m.start(), -len(short), index) for m in re.finditer(pattern, sentence))
        return out
