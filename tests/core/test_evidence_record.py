"""EvidenceRecord.from_fact: a graph fact as a retrieval record."""

from __future__ import annotations

from ctk.records import Evidence, Relation
from ctk.retrieval import EvidenceRecord


def _fact(*evidence: Evidence) -> Relation:
    return Relation(
        id="fever|symptom_of|sepsis",
        source_id="fever",
        target_id="sepsis",
        type="symptom_of",
        evidence=list(evidence),
    )


def test_a_fact_cites_itself_and_its_two_concepts_from_its_first_sentence() -> None:
    fact = _fact(
        Evidence(source="pubmed", document_id="111", sentence="Fever in sepsis."),
        Evidence(source="wikipedia", document_id="Sepsis", sentence="Sepsis causes fever."),
    )
    record = EvidenceRecord.from_fact(fact, "Fever is a symptom of sepsis.", score=0.7)
    assert record.id == record.fact_ids[0] == "fever|symptom_of|sepsis"
    assert record.concept_ids == ["fever", "sepsis"]
    assert (record.source, record.document_id) == ("pubmed", "111")
    assert (record.text, record.score) == ("Fever is a symptom of sepsis.", 0.7)


def test_a_fact_without_evidence_comes_from_the_graph() -> None:
    record = EvidenceRecord.from_fact(_fact(), "Fever is a symptom of sepsis.", score=0.1)
    assert (record.source, record.document_id) == ("graph", None)
