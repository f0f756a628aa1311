"""The built-in concept extractors: dictionary (vocabulary + rules) and LLM."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ctk.errors import RecordParseError
from ctk.kg.extraction import CooccurrenceCounter
from ctk.kg.extraction.vocabulary import load_vocabulary
from ctk.plugins.extractors import DictionaryExtractor, LLMExtractor
from ctk.plugins.extractors.dictionary import plural_forms
from ctk.registry import EXTRACTORS


@pytest.fixture(scope="module")
def ex() -> DictionaryExtractor:
    return DictionaryExtractor()


def _ids(ex: DictionaryExtractor, text: str) -> list[str]:
    return [m.concept_id for m in ex.extract(text)]


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
