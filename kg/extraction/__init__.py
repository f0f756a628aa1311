"""Concept extraction (extractor plugins) and relation building.

* :class:`ConceptExtractor` (plugin base, group ``ctk.extractors``) and :class:`Mention`;
* :class:`DictionaryExtractor`, the offline default; :class:`LLMExtractor`;
* :func:`split_sentences`; :func:`typed_relation` (cue patterns);
* :class:`CooccurrenceCounter` (sentences -> a chunk's ``GraphDelta``);
* :func:`npmi`, the association weight.
"""

from ctk.kg.extraction.base import EXTRACTORS, ConceptExtractor, Mention
from ctk.kg.extraction.cooccurrence import CooccurrenceCounter
from ctk.kg.extraction.cues import TypedRelation, typed_relation
from ctk.kg.extraction.dictionary import DictionaryExtractor
from ctk.kg.extraction.llm import LLMExtractor, TextGenerator, backend_generator
from ctk.kg.extraction.sentences import split_sentences
from ctk.kg.extraction.vocabulary import VocabularyEntry, load_vocabulary
from ctk.kg.extraction.weights import npmi, pmi

__all__ = [
    "EXTRACTORS",
    "ConceptExtractor",
    "CooccurrenceCounter",
    "DictionaryExtractor",
    "LLMExtractor",
    "Mention",
    "TextGenerator",
    "TypedRelation",
    "VocabularyEntry",
    "backend_generator",
    "load_vocabulary",
    "npmi",
    "pmi",
    "split_sentences",
    "typed_relation",
]
