"""Extraction: dictionary matching, negation, sentences, cue relations, NPMI, co-occurrence, LLM."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest

from ctk.errors import RecordParseError
from ctk.extraction import Mention
from ctk.kg.extraction import CooccurrenceCounter, npmi, split_sentences, typed_relation
from ctk.kg.extraction.vocabulary import load_vocabulary
from ctk.plugins.extractors import DictionaryExtractor, LLMExtractor
from ctk.plugins.extractors.dictionary import plural_forms
from ctk.records import CONCEPT_TYPES
from ctk.registry import EXTRACTORS


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


def test_whole_words_and_case(ex: DictionaryExtractor) -> None:
    assert _ids(ex, "MIMIC is a database.") == []
    mi = "ctk:acute_myocardial_infarction"
    assert _ids(ex, "He had an MI in 2019.") == []  # an undefined, ambiguous short form
    assert _ids(ex, "He had a myocardial infarction (MI) in 2019.") == [mi, mi]
    assert _ids(ex, "He had a STEMI in 2019.") == [mi]  # on the unambiguous list
    assert _ids(ex, "mi amigo") == []  # acronyms keep their case
    assert _ids(ex, "HEART FAILURE and Heart Failure") == ["ctk:congestive_heart_failure"] * 2
    assert _ids(ex, "pH 7.21") == ["ctk:ph"] and _ids(ex, "PH 7.21") == []
    assert _ids(ex, "nonpneumonia") == []


def test_plurals_and_synonyms_map_to_one_id(ex: DictionaryExtractor) -> None:
    assert _ids(ex, "Frequent arrhythmias were seen.") == ["ctk:cardiac_dysrhythmias"]
    assert _ids(ex, "Loop diuretics and beta blockers.") == [
        "ctk:loop_diuretic",
        "ctk:beta_blocker",
    ]
    assert plural_forms("stenosis") == ["stenoses"] and plural_forms("therapy") == ["therapies"]
    same = {
        _ids(ex, s)[0]
        for s in ("CHF", "heart failure", "congestive heart failure", "cardiac failure")
    }
    assert same == {"ctk:congestive_heart_failure"}
    [m] = ex.extract("Shortness of breath at rest.")
    assert (m.concept_id, m.name, m.type, m.start, m.end) == (
        "ctk:dyspnea",
        "dyspnea",
        "symptom",
        0,
        19,
    )


def test_longest_match_wins(ex: DictionaryExtractor) -> None:
    mentions = ex.extract("Septic shock with acute kidney injury.")
    assert [(m.concept_id, m.start, m.end) for m in mentions] == [
        ("ctk:shock", 0, 12),
        ("ctk:acute_renal_failure", 18, 37),
    ]


def test_negation(ex: DictionaryExtractor) -> None:
    [m] = ex.extract("There was no evidence of pneumonia.")
    assert m.concept_id == "ctk:pneumonia" and m.negated
    neg = {m.concept_id: m.negated for m in ex.extract("No fever, but dyspnea persisted.")}
    assert neg == {"ctk:fever": True, "ctk:dyspnea": False}
    [m] = ex.extract("Pneumothorax was ruled out.")
    assert m.negated
    [m] = ex.extract("Pneumothorax was confirmed.")
    assert not m.negated
    [m] = DictionaryExtractor({"negation": False}).extract("No fever.")
    assert not m.negated


def test_custom_vocabulary_and_bad_file(tmp_path: Path) -> None:
    good = tmp_path / "v.tsv.gz"
    good.write_bytes(
        gzip.compress(
            b"id\tname\ttype\tsynonyms\txrefs\torigin\n"
            b'x:quote\tO\'Brien "syndrome"\tdisease\t`tick` fever\t\tmine\n'
        )
    )
    ex = DictionaryExtractor({"vocabulary": good})
    assert [
        m.concept_id for m in ex.extract('A case of O\'Brien "syndrome" and `tick` fevers.')
    ] == [
        "x:quote",
        "x:quote",
    ]
    bad = tmp_path / "bad.tsv"
    bad.write_text(
        "id\tname\ttype\tsynonyms\txrefs\torigin\nx:1\tthing\tgizmo\t\t\t\n", encoding="utf-8"
    )
    with pytest.raises(RecordParseError, match="line 2"):
        load_vocabulary(bad)


def test_extractor_plugins_registered() -> None:
    assert EXTRACTORS.get("dictionary") is DictionaryExtractor
    assert EXTRACTORS.get("llm") is LLMExtractor


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


class _ScriptedModel:
    """A test double of the LLM Protocol: answers from a table, records prompts."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.prompts: list[str] = []

    def generate(self, prompt: str) -> str:
        self.prompts.append(prompt)
        for key, answer in self.answers.items():
            if key in prompt:
                return answer
        return "I cannot answer."


def test_llm_extractor_maps_names_to_vocabulary_or_llm_ids() -> None:
    model = _ScriptedModel(
        {
            "Zorblax": 'Sure: [{"name": "Zorblax syndrome", "type": "disease"}, '
            '{"name": "chest pain", "type": "symptom"}, {"name": "not in text", "type": "drug"},'
            ' {"name": "troponin", "type": "gizmo"}]',
            "nothing": "[]",
        }
    )
    ex = LLMExtractor(generator=model)
    mentions = ex.extract("Zorblax syndrome causes chest pain and no troponin rise.")
    assert [(m.concept_id, m.type, m.negated) for m in mentions] == [
        ("llm:zorblax_syndrome", "disease", False),
        ("ctk:chest_pain", "symptom", False),
        ("ctk:troponin", "lab_test", True),
    ]
    assert "Zorblax syndrome causes" in model.prompts[0]
    assert ex.unmatched == 1
    assert ex.concept("llm:zorblax_syndrome") is not None
    assert ex.extract("nothing here") == [] and ex.failures == 0
    assert ex.extract("garbage answer") == [] and ex.failures == 1
    counter = CooccurrenceCounter(ex)
    counter.add_sentence("text", "d", "Zorblax syndrome causes chest pain and no troponin rise.")
    [rel] = [r for r in counter.delta().relations if r.type == "causes"]
    assert (rel.source_id, rel.target_id) == ("llm:zorblax_syndrome", "ctk:chest_pain")
    with pytest.raises(TypeError):
        LLMExtractor(generator=object())  # type: ignore[arg-type]


def test_mention_is_plain_data() -> None:
    m = Mention("ctk:x", "x", "disease", 0, 1)
    assert m.negated is False and m == Mention("ctk:x", "x", "disease", 0, 1)
