"""Concept linking errors found by judging graph edges by hand (issue 10), one test each.

The sentences are written for these tests, in the shape of the errors seen in
real abstracts: a short form read in the wrong sense, a term nested in a longer
one that names something else, listed terms, repeated pairs, duplicate articles
and animal studies.
"""

from __future__ import annotations

import pytest

from ctk.kg.extraction import CooccurrenceCounter
from ctk.kg.extraction.abbreviations import best_long_form, find_abbreviations
from ctk.kg.extraction.enumerations import enumeration_groups
from ctk.kg.extraction.weights import association_weight, npmi
from ctk.kg.sources.document import Document
from ctk.plugins.extractors import DictionaryExtractor


@pytest.fixture(scope="module")
def ex() -> DictionaryExtractor:
    return DictionaryExtractor()


def _ids(ex: DictionaryExtractor, text: str) -> list[str]:
    return [m.concept_id for m in ex.extract(text)]


def _doc_ids(ex: DictionaryExtractor, sentences: list[str]) -> list[list[str]]:
    return [[m.concept_id for m in ms] for ms in ex.extract_document(sentences)]


# ----------------------------------------------------------------- short forms


def test_schwartz_hearst_definitions() -> None:
    found = find_abbreviations(
        [
            "Children with autism spectrum disorder (ASD) were assessed.",
            "Crowns were milled by computer-aided design/computer-aided manufacturing (CAD/CAM).",
            "The ASD group (n = 40) was older.",
            "HFpEF (heart failure with preserved ejection fraction) is common.",
        ]
    )
    assert found == {
        "ASD": "autism spectrum disorder",
        "CAD/CAM": "computer-aided design/computer-aided manufacturing",
        "HFpEF": "heart failure with preserved ejection fraction",
    }
    assert best_long_form("CAD", "the coronary artery disease") == "coronary artery disease"
    assert best_long_form("XYZ", "heart failure") is None


def test_cad_cam_is_not_coronary_artery_disease(ex: DictionaryExtractor) -> None:
    assert _ids(ex, "Zirconia crowns were made with CAD/CAM technology.") == []
    assert _ids(ex, "All-ceramic CAD restorations failed in 3 patients.") == []
    # where the document defines CAD as coronary artery disease, it is
    cad = "ctk:coronary_artery_disease"
    assert _doc_ids(
        ex, ["Patients with coronary artery disease (CAD) were enrolled.", "CAD was severe."]
    ) == [[cad, cad], [cad]]


def test_asd_follows_its_definition(ex: DictionaryExtractor) -> None:
    asd = "ctk:atrial_septal_defect"
    heart = [
        "Transcatheter closure of atrial septal defect (ASD) in adults.",
        "Residual ASD shunting was rare.",
    ]
    assert _doc_ids(ex, heart) == [[asd, asd], [asd]]
    autism = ["Children with autism spectrum disorder (ASD) were assessed.", "ASD traits."]
    got = _doc_ids(ex, autism)
    assert "ctk:autistic_behavior" not in got[0] + got[1]  # the vocabulary's own ASD sense
    assert got[1] == []  # its long form is no concept of the vocabulary: nothing
    # undefined, an ambiguous short form counts nowhere
    assert _ids(ex, "ASD was repaired at 4 years.") == []


def test_a_document_defined_short_form_absent_from_the_vocabulary(ex: DictionaryExtractor) -> None:
    hf = "ctk:congestive_heart_failure"
    got = _doc_ids(ex, ["Heart failure (HF) is common.", "HF patients had dyspnea."])
    assert got == [[hf, hf], [hf, "ctk:dyspnea"]]


# ------------------------------------------------------------- nested terms


@pytest.mark.parametrize(
    ("sentence", "wanted", "not_wanted"),
    [
        (
            "Pulmonary hypertension complicates systemic sclerosis.",
            "ctk:pulmonary_hypertension",
            "ctk:essential_hypertension",
        ),
        (
            "Exertional heat stroke occurred in two recruits.",
            "ctk:heat_stroke",
            "ctk:acute_cerebrovascular_disease",
        ),
        ("Septic abortion remains a cause of maternal death.", "ctk:septic_abortion", "ctk:sepsis"),
        (
            "Acute rheumatic fever follows streptococcal pharyngitis.",
            "ctk:rheumatic_fever",
            "ctk:fever",
        ),
        (
            "Sodium nitroprusside lowered the blood pressure.",
            "ctk:sodium_nitroprusside",
            "ctk:sodium",
        ),
        (
            "Non-ST segment elevation myocardial infarction was treated early.",
            "ctk:acute_myocardial_infarction",
            "ctk:st_segment_elevation",
        ),
    ],
)
def test_a_longer_term_is_not_its_nested_term(
    ex: DictionaryExtractor, sentence: str, wanted: str, not_wanted: str
) -> None:
    ids = _ids(ex, sentence)
    assert wanted in ids and not_wanted not in ids


def test_animal_study_stimuli_are_not_shock(ex: DictionaryExtractor) -> None:
    assert _ids(ex, "Rats received foot shock before the session.") == []
    assert _ids(ex, "Mice learned shock avoidance in a shuttle box.") == []
    assert _ids(ex, "Footshock stress raised corticosterone.") == []
    assert _ids(ex, "Heat shock protein 70 was induced.") == []
    assert _ids(ex, "Septic shock needed vasopressors.") == ["ctk:shock", "ctk:vasopressor"]


def test_prefix_and_modifier_rules(ex: DictionaryExtractor) -> None:
    # a negating prefix: non-ST segment elevation is not ST elevation
    assert "ctk:st_segment_elevation" not in _ids(ex, "Patients with non-ST segment elevation.")
    assert _ids(ex, "ST segment elevation was seen in V2.") == ["ctk:st_segment_elevation"]
    # one node for every written form
    for form in ("ST-segment elevation", "ST elevation", "ST-elevation", "ST-segment elevations"):
        assert _ids(ex, f"{form} in V2.") == ["ctk:st_segment_elevation"], form
    # an adjective form names its concept only for a person or standing alone
    assert _ids(ex, "Septic patients were enrolled.") == ["ctk:sepsis"]
    assert _ids(ex, "The child was febrile.") == ["ctk:fever"]
    assert "ctk:sepsis" not in _ids(ex, "Septic emboli were seen in the lungs.")
    # an ion followed by a salt or compound word is part of a molecule's name
    assert "ctk:sodium" not in _ids(ex, "Sodium citrate was infused.")
    assert _ids(ex, "Serum sodium was 128 mmol/L.") == ["ctk:sodium"]


# --------------------------------------------------------- counting and weights


def test_enumerations_are_found() -> None:
    ex = DictionaryExtractor()
    sentence = (
        "Scabies, impetigo, acute myocardial infarction, bronchiectasis and anemia were common."
    )
    ms = ex.extract(sentence)
    assert len(ms) == 5 and len(set(enumeration_groups(sentence, ms))) == 1
    two = "Hypertension and diabetes were common."
    assert enumeration_groups(two, ex.extract(two)) == [-1, -1]


def test_listed_pairs_are_discounted_and_related_pairs_are_not(ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(ex)
    counter.add_text("text", "d1", "Heart failure causes dyspnea, edema and fatigue.")
    rels = {(r.source_id, r.type, r.target_id) for r in counter.delta().relations}
    assert ("ctk:congestive_heart_failure", "associated_with", "ctk:dyspnea") in rels
    assert ("ctk:dyspnea", "associated_with", "ctk:edema") not in rels  # only listed


def test_counts_are_documents_not_sentences(ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(ex)
    counter.add_text(
        "text",
        "d1",
        "Heart failure presents with dyspnea. Dyspnea in heart failure is common. "
        "Heart failure and dyspnea were scored.",
    )
    counter.add_text("text", "d2", "Dyspnea is a symptom of heart failure.")
    delta = counter.delta()
    assert delta.documents == 2 and delta.sentences == 4
    co = next(r for r in delta.relations if r.type == "associated_with")
    assert co.count == 2  # two documents, though four sentences pair them
    assert {c.id: c.mentions for c in delta.concepts}["ctk:dyspnea"] == 2
    assert [e.document_id for e in co.evidence] == ["d1", "d2"]


def _pubmed(pmid: str, abstract: str, mesh: list[str] | None = None) -> Document:
    return Document(
        source="pubmed", doc_id=pmid, title="A study.", text=abstract, mesh_terms=mesh or []
    )


def test_duplicate_articles_count_once(ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(ex)
    text = "Sepsis causes acute kidney injury in the elderly."
    counter.add(
        [_pubmed("1", text), _pubmed("2", "  " + text.upper()), _pubmed("3", text + " Also.")]
    )
    delta = counter.delta()
    assert delta.documents == 2
    assert next(r for r in delta.relations if r.type == "associated_with").count == 2
    assert sum(counter.notes.values()) == 1


def test_title_only_records_are_never_duplicates(ex: DictionaryExtractor) -> None:
    # different articles share generic titles ("Case for diagnosis."); without an
    # abstract there is nothing to tell them apart, so each counts
    title = "Sepsis and acute kidney injury."
    counter = CooccurrenceCounter(ex)
    counter.add(
        [
            Document(source="pubmed", doc_id="1", title=title),
            Document(source="pubmed", doc_id="2", title=title),
            Document(source="pubmed", doc_id="3", title=title, text="   "),
        ]
    )
    delta = counter.delta()
    assert delta.documents == 3
    assert {c.id: c.mentions for c in delta.concepts}["ctk:sepsis"] == 3
    assert next(r for r in delta.relations if r.type == "associated_with").count == 3
    assert not counter.notes


def test_animal_studies_do_not_make_edges(ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(ex)
    text = "Sepsis causes acute kidney injury."
    counter.add(
        [
            _pubmed("1", text, ["Animals", "Rats", "Sepsis"]),
            _pubmed("2", text + " In humans.", ["Animals", "Humans"]),
        ]
    )
    delta = counter.delta()
    assert delta.documents == 2
    assert {c.id: c.mentions for c in delta.concepts}["ctk:sepsis"] == 2
    co = next(r for r in delta.relations if r.type == "associated_with")
    assert co.count == 1 and co.evidence[0].document_id == "2"
    assert any("non-human" in note for note in counter.notes)


def test_the_weight_ranks_support_above_a_single_rare_pair() -> None:
    # a pair of two concepts seen once each, together, has the top NPMI...
    assert npmi(1, 1, 1, 50_000) == pytest.approx(1.0)
    # ...but thirty papers on a common pair outrank it once support is counted
    once = association_weight(1, 1, 1, 50_000)
    thirty = association_weight(30, 300, 400, 50_000)
    assert npmi(30, 300, 400, 50_000) < npmi(1, 1, 1, 50_000)
    assert thirty > once
    assert association_weight(0, 3, 3, 10) == -1.0
    assert association_weight(5, 10, 20, 100) == pytest.approx(npmi(5, 10, 20, 100) * 5 / 8)


@pytest.fixture(scope="module")
def mesh_ex() -> DictionaryExtractor:
    return DictionaryExtractor({"mesh_headings": True})


def test_mesh_headings_link_whole_and_uninverted(
    ex: DictionaryExtractor, mesh_ex: DictionaryExtractor
) -> None:
    assert ex.link_term("Heart Failure") is None  # off by default
    ex = mesh_ex
    hf = ex.link_term("Heart Failure")
    assert hf is not None and hf.concept_id == "ctk:congestive_heart_failure"
    pulmonary = ex.link_term("Hypertension, Pulmonary")  # MeSH's inverted form
    assert pulmonary is not None and pulmonary.concept_id == "ctk:pulmonary_hypertension"
    assert ex.link_term("Humans") is None
    # a heading that only contains a concept names nothing
    assert ex.link_term("Heart Failure Clinics") is None


def test_mesh_headings_count_as_document_concepts_and_pairs(mesh_ex: DictionaryExtractor) -> None:
    counter = CooccurrenceCounter(mesh_ex)
    counter.add(
        [
            # text pairs sepsis with AKI; headings add heart failure and diuretics
            _pubmed("1", "Sepsis causes acute kidney injury.", ["Humans", "Sepsis", "Heart Failure",
                                                                "Diuretics"]),
            # text pairs the same two: one document, one count, text evidence kept
            _pubmed("2", "Diuretics relieve heart failure.", ["Heart Failure", "Diuretics"]),
            # an animal study: its headings count as concepts, never as pairs
            _pubmed("3", "Mice were studied.", ["Animals", "Heart Failure", "Diuretics"]),
        ]
    )  # fmt: skip
    delta = counter.delta()
    mentions = {c.id: c.mentions for c in delta.concepts}
    assert mentions["ctk:congestive_heart_failure"] == 3 and mentions["ctk:sepsis"] == 1
    edges = {(r.source_id, r.target_id): r for r in delta.relations if r.type == "associated_with"}
    hf_diuretic = edges[("ctk:congestive_heart_failure", "ctk:diuretic")]
    assert hf_diuretic.count == 2
    # evidence in corpus order: the headings of document 1, the sentence of document 2
    assert [e.document_id for e in hf_diuretic.evidence] == ["1", "2"]
    assert hf_diuretic.evidence[0].sentence == "A study. [MeSH: Heart Failure; Diuretics]"
    assert hf_diuretic.evidence[1].sentence == "Diuretics relieve heart failure."
    assert edges[("ctk:congestive_heart_failure", "ctk:sepsis")].count == 1
    # sepsis and acute kidney injury: paired by the text only (AKI is no heading)
    text_only = [r for k, r in edges.items() if "ctk:sepsis" in k and len(k) == 2]
    by_sentence = [r for r in text_only if r.evidence[0].sentence.startswith("Sepsis causes")]
    assert len(by_sentence) == 1 and by_sentence[0].count == 1
