"""A rationale names only the diagnoses the student predicted (``ctk diagnose``)."""

from __future__ import annotations

from pathlib import Path

from rationale_fixtures import build_store

from ctk.distill.rationale_claims import check_claims
from ctk.distill.rationale_consistency import (
    drop_unfinished,
    phenotype_mentions,
    restrict_rationale,
)
from ctk.teacher.concepts import ConceptLexicon

# what the demo's student wrote after predicting acute renal failure, diabetes and sepsis
GENERATED = (
    "[template rationale, no language model] The clinical note is consistent with the "
    "diagnoses: acute renal failure; congestive heart failure; coronary artery disease; "
    "hyperlipidemia; essential hypertension; other liver diseases. [E3] Lab anomalies: "
    "Diastolic blood pressure is higher than normal 3 times (max 132); Systolic blood "
    "pressure is higher than normal 47 respiratory failure. [E4] These abnormal values are "
    "in keeping with the diagnoses: CHF; COPD."
)
PREDICTED = ["acute renal failure", "diabetes without complication", "sepsis"]


def test_mentions_take_the_longest_name_and_respect_abbreviation_case() -> None:
    found = phenotype_mentions(
        "Septic shock; hypertension with complications; diabetes mellitus; MI, mi, CHF."
    )
    assert [name for *_, name in found] == [
        "Shock",  # "septic shock", not "septic" (sepsis) + "shock"
        "Hypertension with complications and secondary hypertension",  # not "hypertension"
        "Diabetes mellitus without complication",
        "Acute myocardial infarction",  # "MI" in capitals only: "mi" is not a mention
        "Congestive heart failure; nonhypertensive",
    ]
    assert phenotype_mentions("Heart rate and glucose were normal.") == []


def test_unpredicted_diagnoses_are_removed_and_reported() -> None:
    r = restrict_rationale(GENERATED, PREDICTED)
    named = {name for *_, name in phenotype_mentions(r.text)}
    assert named == {"Acute and unspecified renal failure"}  # only what was predicted
    assert "The clinical note is consistent with the diagnoses: acute renal failure." in r.text
    assert "Diastolic blood pressure is higher than normal 3 times (max 132)." in r.text
    assert "in keeping with" not in r.text  # every item of that list was unpredicted
    assert r.removed == [
        "Chronic obstructive pulmonary disease and bronchiectasis",
        "Congestive heart failure; nonhypertensive",
        "Coronary atherosclerosis and other heart disease",
        "Disorders of lipid metabolism",
        "Essential hypertension",
        "Other liver diseases",
        "Respiratory failure; insufficiency; arrest (adult)",
    ]
    assert r.removed_parts == 9  # 5 list items, 1 lab clause, 2 items and their lead (1)


def test_a_consistent_rationale_is_left_alone() -> None:
    text = "The note is consistent with the diagnoses: sepsis; acute kidney injury. Lactate high."
    r = restrict_rationale(text, ["Septicemia (except in labor)", "acute renal failure"])
    assert r.text == text and r.removed == [] and r.removed_parts == 0
    # nothing predicted: every mention goes, and the sentence without one stays
    r = restrict_rationale(text, [])
    assert r.text == "Lactate high." and len(r.removed) == 2


def test_a_citation_goes_with_the_sentence_it_closes() -> None:
    text = "Sepsis is present. [E1] Shock is present. [E2] [E5] Lactate is high. [E3]"
    r = restrict_rationale(text, ["Septicemia (except in labor)"])
    assert r.text == "Sepsis is present. [E1] Lactate is high. [E3]"
    # the first sentence removed: its citation goes with it, not onto the next one
    r = restrict_rationale(
        "Shock is present. [E1] Known: Sepsis is diagnosed by blood culture. [E2]", ["sepsis"]
    )
    assert r.text == "Known: Sepsis is diagnosed by blood culture. [E2]"


def test_check_claims_removes_what_the_graph_does_not_hold(tmp_path: Path) -> None:
    """A relation the graph lacks, or a 'Known:' sentence stating no edge, is removed."""
    store = build_store(tmp_path / "kg.db")
    try:
        text = (
            "The clinical note is consistent with the diagnoses: heart failure. "
            "Known: Furosemide treats heart failure. [E1] "
            "Known: Furosemide treats was found: values are in range. [E2] "
            "Dyspnea and edema are related. [E3] "
            "Lab anomalies: Heart rate is higher than normal."
        )
        check = check_claims(text, ConceptLexicon(store))
    finally:
        store.close()
    assert check.text == (
        "The clinical note is consistent with the diagnoses: heart failure. "
        "Known: Furosemide treats heart failure. [E1] "
        "Lab anomalies: Heart rate is higher than normal."
    )
    assert check.removed == [
        "Known: Furosemide treats was found: values are in range.",
        "Dyspnea and edema are related.",
    ]
    assert (check.pairs, check.supported) == (2, 1)


def test_an_unfinished_last_sentence_is_split_off() -> None:
    assert drop_unfinished("Known: Sepsis causes shock. [E1] These values are in") == (
        "Known: Sepsis causes shock. [E1]",
        "These values are in",
    )
    assert drop_unfinished("Lactate is 2.5 and") == ("", "Lactate is 2.5 and")  # no sentence ends
    finished = "Known: Sepsis causes shock. [E1] [E2]"
    assert drop_unfinished(finished) == (finished, "")
    assert drop_unfinished("  ") == ("", "")
