"""Extraction: dictionary matching, negation, sentences, cue relations, NPMI, co-occurrence, LLM."""

from __future__ import annotations

import math

import pytest

from ctk.extraction import Mention
from ctk.kg.extraction import CooccurrenceCounter, npmi, split_sentences, typed_relation
from ctk.kg.extraction.vocabulary import load_vocabulary
from ctk.plugins.extractors import DictionaryExtractor
from ctk.records import CONCEPT_TYPES


@pytest.fixture(scope="module")
def ex() -> DictionaryExtractor:
    return DictionaryExtractor()


def _ids(ex: DictionaryExtractor, text: str) -> list[str]:
    return [m.concept_id for m in ex.extract(text)]


def test_bundled_vocabulary_is_sane() -> None:
    vocab = load_vocabulary()
    assert len(vocab) > 5000
    assert {e.type for e in vocab} <= set(CONCEPT_TYPES)
    ids = [e.id for e in vocab]
    assert len(ids) == len(set(ids)) and all(i.startswith("ctk:") for i in ids)
    surfaces = [s.lower() for e in vocab for s in (e.name, *e.synonyms)]
    assert len(surfaces) == len(set(surfaces))  # one surface form -> one concept
    by_id = {e.id: e for e in vocab}
    assert by_id["ctk:congestive_heart_failure"].type == "disease"
    assert "icd9:4280" in by_id["ctk:congestive_heart_failure"].xrefs
    assert by_id["ctk:brain_natriuretic_peptide"].type == "lab_test"
    assert by_id["ctk:furosemide"].type == "drug"
    assert by_id["ctk:dyspnea"].type == "symptom"


def test_sentence_splitter() -> None:
    text = (
        "Heart failure (HF) is common, e.g. in the elderly. Fig. 2 shows BNP vs. NT-proBNP. "
        "Smith et al. found 2.5 mg/dL in 10 pts. It was high! (See J. Smith.)\n\nNew paragraph"
    )
    assert split_sentences(text) == [
        "Heart failure (HF) is common, e.g. in the elderly.",
        "Fig. 2 shows BNP vs. NT-proBNP.",
        "Smith et al. found 2.5 mg/dL in 10 pts.",
        "It was high!",
        "(See J. Smith.)",
        "New paragraph",
    ]
    assert split_sentences("  ") == []


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Sepsis can lead to septic shock.", ("causes", "ctk:sepsis", "ctk:shock")),
        (
            "Pulmonary edema is caused by heart failure.",
            ("causes", "ctk:congestive_heart_failure", "ctk:other_lower_respiratory_disease"),
        ),
        (
            "Dyspnea is a common symptom of pneumonia.",
            ("symptom_of", "ctk:dyspnea", "ctk:pneumonia"),
        ),
        (
            "Congestive heart failure presents with orthopnea.",
            ("symptom_of", "ctk:orthopnea", "ctk:congestive_heart_failure"),
        ),
        (
            "Furosemide is used to treat fluid overload.",
            ("treats", "ctk:furosemide", "ctk:fluid_overload"),
        ),
        (
            "Septic shock is treated with norepinephrine.",
            ("treats", "ctk:norepinephrine", "ctk:shock"),
        ),
        (
            "Heart failure is diagnosed with echocardiography.",
            ("diagnosed_by", "ctk:congestive_heart_failure", "ctk:echocardiography"),
        ),
        (
            "Elevated BNP is used to diagnose heart failure.",
            ("diagnosed_by", "ctk:congestive_heart_failure", "ctk:brain_natriuretic_peptide"),
        ),
        ("Pneumonia and sepsis were frequent.", None),
        ("Fever treats pneumonia.", None),  # a symptom cannot treat: types must fit
    ],
)
def test_cue_relations(
    ex: DictionaryExtractor, sentence: str, expected: tuple[str, str, str] | None
) -> None:
    a, b = ex.extract(sentence)[:2]
    rel = typed_relation(sentence, a, b)
    assert (None if rel is None else (rel.type, rel.source_id, rel.target_id)) == expected


def test_npmi_against_hand_computation() -> None:
    # N=100 sentences, a in 10, b in 20, both in 5
    p_ab, p_a, p_b = 0.05, 0.10, 0.20
    hand = math.log(p_ab / (p_a * p_b)) / -math.log(p_ab)
    assert npmi(5, 10, 20, 100) == pytest.approx(hand)
    assert npmi(5, 10, 20, 100) == pytest.approx(0.305865, abs=1e-6)
    assert npmi(10, 10, 10, 100) == pytest.approx(1.0)  # always together
    assert npmi(1, 10, 10, 100) == pytest.approx(0.0)  # independent: p_ab = p_a p_b
    assert npmi(0, 10, 10, 100) == -1.0
    assert npmi(3, 3, 3, 3) == 1.0
    assert npmi(1, 0, 5, 10) == 0.0


def test_cooccurrence_delta(ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(ex, max_evidence=1)
    counter.add_text(
        "pubmed", "1", "Heart failure presents with dyspnea. No evidence of pneumonia.", 2020
    )
    counter.add_text("pubmed", "2", "Dyspnea is a symptom of heart failure and heart failure.")
    delta = counter.delta()
    assert delta.sentences == 3
    mentions = {c.id: c.mentions for c in delta.concepts}
    assert mentions == {"ctk:congestive_heart_failure": 2, "ctk:dyspnea": 2}  # negated one left out
    hf = next(c for c in delta.concepts if c.id == "ctk:congestive_heart_failure")
    assert "CHF" in hf.synonyms
    rels = {(r.source_id, r.type, r.target_id): r for r in delta.relations}
    assert set(rels) == {
        ("ctk:congestive_heart_failure", "associated_with", "ctk:dyspnea"),
        ("ctk:dyspnea", "symptom_of", "ctk:congestive_heart_failure"),
    }
    co = rels[("ctk:congestive_heart_failure", "associated_with", "ctk:dyspnea")]
    assert co.count == 2 and len(co.evidence) == 1  # evidence capped
    assert co.evidence[0].document_id == "1" and co.evidence[0].year == 2020
    assert co.evidence[0].sentence == "Heart failure presents with dyspnea."


def test_mention_is_plain_data() -> None:
    m = Mention("ctk:x", "x", "disease", 0, 1)
    assert m.negated is False and m == Mention("ctk:x", "x", "disease", 0, 1)
