"""ctk.graph.fact_sentence: the one way an edge reads as a sentence (retriever, teacher)."""

from __future__ import annotations

from ctk.graph import fact_sentence


def test_known_relation_reads_as_its_phrase() -> None:
    assert fact_sentence("fever", "symptom_of", "sepsis") == "Fever is a symptom of sepsis."
    assert fact_sentence("metoprolol", "treats", "atrial fibrillation") == (
        "Metoprolol treats atrial fibrillation."
    )


def test_unknown_relation_reads_with_spaces() -> None:
    assert fact_sentence("a", "co_occurs_with", "b") == "A co occurs with b."
