"""``ctk rationale check``: cited facts and claimed concept pairs against the graph."""

from __future__ import annotations

from pathlib import Path

from rationale_fixtures import build_store

from ctk.records import CitedFact, Rationale
from ctk.retrieval import chunk_id
from ctk.teacher.check import check_rationales

DYSPNEA_HF = "ctk:dyspnea|symptom_of|ctk:heart_failure"


def test_check_counts_citations_and_claims(tmp_path: Path) -> None:
    store = build_store(tmp_path / "kg.db")
    good = Rationale(
        admission_id="a",
        note_rationale="Shortness of breath is a symptom of heart failure. The patient is tired.",
        lab_rationale="Tachycardia is associated with heart failure.",
        cited_facts=[CitedFact(fact_id=DYSPNEA_HF), CitedFact(fact_id=chunk_id(DYSPNEA_HF, 0))],
    )
    bad = Rationale(
        admission_id="b",
        note_rationale="Insulin treats pneumonia.",  # no such edge
        lab_rationale="Fever points to pneumonia.",  # supported
        cited_facts=[
            CitedFact(fact_id="ctk:insulin|treats|ctk:pneumonia"),
            CitedFact(fact_id=chunk_id(DYSPNEA_HF, 7)),
        ],  # no 8th sentence
    )
    failed = Rationale(admission_id="c", status="failed", error="LLMResponseError: x")
    report = check_rationales([good, bad, failed], store)
    store.close()
    assert (report.rationales, report.checked, report.failed) == (3, 2, 1)
    a, b, _ = report.admissions
    assert (a.cited, a.cited_found, a.pairs, a.supported_pairs) == (2, 2, 2, 2)
    assert a.support_rate == 1.0 and a.citation_rate == 1.0
    assert b.missing_citations == ["ctk:insulin|treats|ctk:pneumonia", chunk_id(DYSPNEA_HF, 7)]
    assert (b.pairs, b.supported_pairs) == (2, 1)
    assert b.unsupported[0].names == ("insulin", "pneumonia")
    assert b.unsupported[0].sentence == "Insulin treats pneumonia."
    assert report.citation_rate == 0.5
    assert report.support_rate == 0.75
    assert report.mean_admission_support_rate == 0.75
