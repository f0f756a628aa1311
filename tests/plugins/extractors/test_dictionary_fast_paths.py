"""The dictionary extractor's fast paths find exactly what the plain paths find.

An ASCII sentence is scanned once, in lower case, by one automaton that holds the
case-insensitive and the case-sensitive keys; negation cues in an ASCII sentence
are searched in lower case without IGNORECASE. Both must give the same matches,
mentions and negation scopes as the general paths (two automata; the
case-insensitive patterns), which still serve non-ASCII text.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ctk.extraction import Mention
from ctk.kg.extraction import negation
from ctk.kg.extraction.sentences import split_sentences
from ctk.kg.sources.spec import open_source
from ctk.plugins.extractors.dictionary import DictionaryExtractor
from ctk.report import ProblemReport

CORPORA = Path(__file__).resolve().parents[3] / "samples" / "corpora"

# sentences of our own with the shapes the fast paths must keep: acronyms and
# formulas in their case and capitalised, plurals, hyphens, sentence-initial
# capitals, upper-case negation cues, stops and contrast words
OWN = [
    "MI and CAD were ruled out; HbA1c was 9.1% and pH 7.21.",
    "PH 7.21, Ph 7.3 and ph 7.4 are not the same as pH.",
    "Hypertension, diabetes mellitus, CHF and COPD were common.",
    "NO EVIDENCE OF pneumonia, but Sepsis was present.",
    "Without fever or chills; Septic patients had Septic arthritis.",
    "Heart failure (HF) presents with dyspnea; HF was treated with furosemide.",
    "Non-ST segment elevation MI (NSTEMI) and STEMI, heat stroke and stroke.",
    "Sodium nitroprusside lowered the sodium; potassium channel blockers.",
    "Arrhythmias, stenoses and therapies: atrial fibrillation is ABSENT.",
    "Acute kidney injury (AKI) DENIES nothing; aki is lower case.",
]


@pytest.fixture(scope="module")
def ex() -> DictionaryExtractor:
    return DictionaryExtractor()


@pytest.fixture(scope="module")
def documents() -> list[list[str]]:
    """Our sentences, then the sentences of each bundled sample document."""
    docs = [OWN]
    report = ProblemReport()
    for spec in (
        f"pubmed:{CORPORA / 'pubmed_baseline_sample.xml.gz'}",
        f"pubmed:{CORPORA / 'pubmed_efetch_sample.xml'}",
        f"wikipedia:{CORPORA / 'enwiki_medical_sample.xml.bz2'}",
    ):
        source = open_source(spec)
        for path in source.files:
            for doc in source.format.iter_documents(path, report, Counter()):
                passages = getattr(doc, "passages", None)
                if passages is not None:
                    docs.append([s for p in passages() for s in split_sentences(p)])
    return docs


def test_ascii_scan_equals_two_automata(
    ex: DictionaryExtractor, documents: list[list[str]]
) -> None:
    ascii_sentences = [s for doc in documents for s in doc if s.isascii()]
    assert len(ascii_sentences) > 200
    matched = 0
    for sentence in ascii_sentences:
        fast = ex._scan_ascii(sentence, sentence.lower())
        plain = ex._scan_two(sentence)
        assert sorted(fast) == sorted(plain), sentence
        matched += bool(fast)
    assert matched > 100  # the comparison covers many matches, not empty lists


def test_same_mentions_with_the_plain_scan(
    ex: DictionaryExtractor, documents: list[list[str]]
) -> None:
    plain = DictionaryExtractor()
    plain._scan = plain._scan_two  # type: ignore[method-assign]
    mentions: list[Mention] = []
    for sentences in documents:
        got = ex.extract_document(sentences)
        assert got == plain.extract_document(sentences)
        mentions.extend(m for found in got for m in found)
    # the fixture exercises case-sensitive forms and negation, not only plain words
    assert any(m.negated for m in mentions)
    assert {"ctk:ph", "ctk:acute_myocardial_infarction"} <= {m.concept_id for m in mentions}


def test_negation_lower_case_search_equals_ignorecase(documents: list[list[str]]) -> None:
    sentences = [s for doc in documents for s in doc if s.isascii()]
    scoped = 0
    for sentence in sentences:
        fast = negation.negation_scopes(sentence)
        plain = negation._scopes(sentence, sentence, negation._PRE, negation._STOP)
        assert fast == plain, sentence
        scoped += bool(fast)
    assert scoped >= 7  # our sentences with cues, and the samples' few
    upper = negation.negation_scopes("NO EVIDENCE OF pneumonia")
    assert upper == negation.negation_scopes("no evidence of pneumonia") == [(2, 24)]


def test_non_ascii_text_takes_the_general_paths(ex: DictionaryExtractor) -> None:
    sentence = "Sepsis and pneumonia – not fever – were seen in Zürich."
    assert not sentence.isascii()
    assert ex._scan(sentence) == ex._scan_two(sentence)
    found = {m.concept_id: m.negated for m in ex.extract(sentence)}
    assert found.get("ctk:fever") is True and found.get("ctk:pneumonia") is False
