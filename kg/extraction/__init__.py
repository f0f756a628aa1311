"""Relation building from concept mentions (the extractors themselves are plugins).

* :func:`split_sentences`; :func:`typed_relation` (cue patterns);
* :class:`CooccurrenceCounter` (sentences -> a chunk's ``GraphDelta``);
* :func:`npmi`, the association weight;
* :func:`load_vocabulary`, the bundled concept vocabulary the dictionary extractor uses.

The extractor plugin base (:class:`~ctk.extraction.ConceptExtractor`) lives in the
core and the built-in extractors in :mod:`ctk.plugins.extractors`.
"""

from ctk.kg.extraction.cooccurrence import CooccurrenceCounter
from ctk.kg.extraction.cues import TypedRelation, typed_relation
from ctk.kg.extraction.sentences import split_sentences
from ctk.kg.extraction.vocabulary import VocabularyEntry, load_vocabulary
from ctk.kg.extraction.weights import npmi, pmi

__all__ = [
    "CooccurrenceCounter",
    "TypedRelation",
    "VocabularyEntry",
    "load_vocabulary",
    "npmi",
    "pmi",
    "split_sentences",
    "typed_relation",
]
