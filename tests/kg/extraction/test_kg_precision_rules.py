"""Rules for the error classes the pooled judgement of the top neighbours found (issue 10).

Lists whose items are partly no concept, wrong senses of "shock" and "lipase",
animal studies without MeSH headings, and a disease's two phenotype groups.
The sentences are written for these tests.
"""

from __future__ import annotations

import pytest

from ctk.kg.extraction import CooccurrenceCounter
from ctk.kg.extraction.enumerations import enumeration_groups, list_items
from ctk.kg.extraction.refinements import same_disease_pairs
from ctk.kg.extraction.subjects import animal_only, animal_only_text
from ctk.kg.sources.document import Document
from ctk.plugins.extractors import DictionaryExtractor


@pytest.fixture(scope="module")
def ex() -> DictionaryExtractor:
    return DictionaryExtractor()


def _groups(ex: DictionaryExtractor, sentence: str) -> tuple[list[str], list[int]]:
    ms = ex.extract(sentence)
    return [m.concept_id for m in ms], enumeration_groups(sentence, ms)


def _pairs(counter: CooccurrenceCounter) -> set[tuple[str, str]]:
    return {(r.source_id, r.target_id) for r in counter.delta().relations}


# ------------------------------------------------- lists with items that are no concept


@pytest.mark.parametrize(
    ("sentence", "listed"),
    [
        # composite endpoints: "death" is no concept, yet the list has three items
        ("The composite endpoint of death, stroke, or myocardial infarction was reduced.", True),
        ("Death, stroke or myocardial infarction occurred in 12 patients.", True),
        ("The primary outcome was stroke, death, or myocardial infarction at one year.", True),
        # two items, no list
        ("Stroke and myocardial infarction were common.", False),
        # a clause comma, not a list
        ("In patients with hypertension, diabetes was common.", False),
        ("After surgery, stroke or myocardial infarction occurred in 3 patients.", False),
        ("Clinically, stroke and myocardial infarction were rare.", False),
        ("Sepsis caused pneumonia, which is common, and death.", False),
    ],
)
def test_two_mentions_in_a_list_or_not(
    ex: DictionaryExtractor, sentence: str, listed: bool
) -> None:
    ids, groups = _groups(ex, sentence)
    assert len(ids) == 2
    assert (groups[0] >= 0 and groups[0] == groups[1]) is listed
    assert listed or groups == [-1, -1]


def test_outcome_list_with_unlinked_items_is_a_list(ex: DictionaryExtractor) -> None:
    ids, groups = _groups(ex, "Outcomes were mortality, reoperation, sepsis and pneumonia.")
    assert set(ids) == {"ctk:pneumonia", "ctk:sepsis"}
    assert groups[0] >= 0 and groups[0] == groups[1]


def test_alarm_feature_list_counts_items_after_the_mentions(ex: DictionaryExtractor) -> None:
    sentence = (
        "Alarm features were weight loss, dysphagia, a palpable mass or iron deficiency anaemia."
    )
    ms = ex.extract(sentence)
    ids = [m.concept_id for m in ms]
    i, j = ids.index("ctk:weight_loss"), ids.index("ctk:dysphagia")
    groups = enumeration_groups(sentence, ms)
    assert groups[i] >= 0 and groups[i] == groups[j]
    assert list_items(sentence, ms, i, j) >= 3


def _deduplicated(ex: DictionaryExtractor, sentence: str) -> list[int]:
    """Enumeration groups of the mentions the counter uses (one per concept)."""
    seen: dict[str, object] = {}
    ms = []
    for m in ex.extract_document([sentence])[0]:
        if m.concept_id not in seen:
            seen[m.concept_id] = m
            ms.append(m)
    return enumeration_groups(sentence, ms)


@pytest.mark.parametrize(
    "sentence",
    [
        # the last item follows the chain with "or", no comma
        "Events were defined as stroke, myocardial infarction or revascularisation.",
        # short parentheses and decimals inside the items
        "Outcomes included shock (4.1%), myocardial infarction (MI), pneumonia (2.5%) and AKI.",
        "Alarm features were: upper GI bleed - 16.6%; dysphagia - 10.3%; anaemia - 3.5%.",
    ],
)
def test_list_items_with_numbers_and_short_forms(ex: DictionaryExtractor, sentence: str) -> None:
    groups = _deduplicated(ex, sentence)
    assert len(groups) >= 2 and len(set(groups)) == 1 and groups[0] >= 0


def test_two_items_joined_by_and_stay_a_co_mention(ex: DictionaryExtractor) -> None:
    ids, groups = _groups(ex, "Hypertension and diabetes were common.")
    assert len(ids) == 2 and groups == [-1, -1]


def test_listed_pair_with_unlinked_items_adds_no_edge(ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(ex)
    counter.add_text(
        "text", "d1", "Death, stroke or myocardial infarction occurred in 12 patients."
    )
    counter.add_text("text", "d2", "Stroke is a complication of myocardial infarction.")
    co = [r for r in counter.delta().relations if r.type == "associated_with"]
    assert [r.count for r in co] == [1]  # d2 only
    assert [e.document_id for e in co[0].evidence] == ["d2"]


# ------------------------------------------------------------------------ wrong senses


@pytest.mark.parametrize(
    "sentence",
    [
        "Shock-refractory ventricular fibrillation was treated with amiodarone.",
        "Shock-resistant ventricular fibrillation persisted.",
        "Defibrillation shocks terminated ventricular fibrillation.",
        "A DC shock restored sinus rhythm after ventricular fibrillation.",
        "An electrical shock was given for ventricular fibrillation.",
        "Three shocks delivered by the device ended ventricular fibrillation.",
        "The implantable cardioverter-defibrillator gave a shock for ventricular fibrillation.",
        "Ventricular fibrillation was shock-resistant when it needed more than 3 shocks.",
        "Patients with ventricular fibrillation received two shocks.",
    ],
)
def test_electrical_shock_is_not_circulatory_shock(ex: DictionaryExtractor, sentence: str) -> None:
    ids = [m.concept_id for m in ex.extract(sentence)]
    assert "ctk:shock" not in ids
    assert "ctk:ventricular_fibrillation" in ids or "fibrillation" not in sentence


@pytest.mark.parametrize(
    "sentence",
    [
        "Septic shock and cardiogenic shock were common.",
        "Shock was defined by ICD-9 codes in sepsis.",
        "Shock and sepsis were common in the intensive care unit.",
        "Septic shock refractory to vasopressors was treated with hydrocortisone.",
        "Cardiogenic shock refractory to medical management needed ultrafiltration.",
        "Refractory shock persisted; shock resistant to fluids was common.",
    ],
)
def test_circulatory_shock_stays(ex: DictionaryExtractor, sentence: str) -> None:
    assert "ctk:shock" in [m.concept_id for m in ex.extract(sentence)]


def test_lipoprotein_lipase_is_not_serum_lipase(ex: DictionaryExtractor) -> None:
    lipase = "ctk:lipase"
    assert lipase not in [m.concept_id for m in ex.extract("Lipoprotein lipase was reduced.")]
    assert lipase not in [m.concept_id for m in ex.extract("Hepatic lipase was measured.")]
    assert lipase in [m.concept_id for m in ex.extract("Serum lipase was raised.")]


# ------------------------------------------------------- animal studies without MeSH


def test_animal_text_without_mesh_is_animal_only() -> None:
    assert animal_only_text(["Bleomycin-induced pulmonary fibrosis in mice."])
    assert animal_only_text(["A porcine model of sepsis.", "Pigs received endotoxin."])
    assert not animal_only_text(["Fibrosis in mice and in patients with scleroderma."])
    assert not animal_only_text(["A cohort of 200 adults with sepsis."])
    assert not animal_only_text(["Sepsis causes shock."])  # no subjects named: not animal-only
    # with MeSH headings, the check tags decide, whatever the text says
    assert not animal_only(["Humans", "Animals", "Sepsis"], ["Sepsis in mice."])
    assert animal_only(["Animals", "Sepsis"], ["Sepsis in patients."])
    assert animal_only([], ["Sepsis in rats."])


def _pubmed(pmid: str, text: str, mesh: list[str]) -> Document:
    return Document(source="pubmed", doc_id=pmid, title="A study.", text=text, mesh_terms=mesh)


def test_unindexed_animal_study_adds_concepts_not_pairs(ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(ex)
    counter.add(
        [
            _pubmed("1", "Bleomycin causes pulmonary fibrosis in mice.", []),
            _pubmed("2", "Bleomycin causes pulmonary fibrosis in patients.", []),
        ]
    )
    delta = counter.delta()
    co = [r for r in delta.relations if r.type == "associated_with"]
    assert co and all(r.count == 1 for r in co)
    assert all(e.document_id == "2" for r in co for e in r.evidence)
    assert {c.id: c.mentions for c in delta.concepts}["ctk:bleomycin"] == 2
    assert sum(n for k, n in counter.notes.items() if "no MeSH" in k) == 1


# ------------------------------------------------------- one disease's phenotype groups


def test_same_disease_phenotype_groups_are_not_paired(ex: DictionaryExtractor) -> None:
    assert ("ctk:diabetes_with_complications", "ctk:diabetes_without_complication") in (
        same_disease_pairs()
    )
    assert ("ctk:essential_hypertension", "ctk:hypertension_with_complications") in (
        same_disease_pairs()
    )
    counter = CooccurrenceCounter(ex)
    counter.add_text("text", "d1", "Diabetic nephropathy is common in type 2 diabetes.")
    counter.add_text("text", "d2", "Hypertensive heart disease follows hypertension in diabetes.")
    pairs = _pairs(counter)
    assert ("ctk:diabetes_with_complications", "ctk:diabetes_without_complication") not in pairs
    assert ("ctk:essential_hypertension", "ctk:hypertension_with_complications") not in pairs
    # other pairs of the same sentences stay
    assert ("ctk:diabetes_without_complication", "ctk:essential_hypertension") in pairs


def test_same_disease_mesh_headings_are_not_paired() -> None:
    counter = CooccurrenceCounter(DictionaryExtractor({"mesh_headings": True}))
    counter.add(
        [
            _pubmed(
                "1",
                "A study of renal outcomes in 300 patients.",
                ["Humans", "Diabetes Mellitus", "Diabetic Nephropathies", "Hypertension"],
            )
        ]
    )
    pairs = _pairs(counter)
    assert ("ctk:diabetes_with_complications", "ctk:diabetes_without_complication") not in pairs
    # other heading pairs stay
    assert ("ctk:diabetes_without_complication", "ctk:essential_hypertension") in pairs
