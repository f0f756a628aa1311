"""The template backend says what it knows, or says that nothing was found."""

from __future__ import annotations

from typing import Any

from ctk.plugins.llm.template import TEMPLATE_LABEL, TemplateBackend


def _meta(**overrides: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "task": "teacher_rationale",
        "diagnoses": ["Congestive heart failure; nonhypertensive"],
        "captions": ["Heart rate is higher than normal 4 times (max 151)"],
        "has_note": True,
        "evidence": [{"alias": "E1", "text": "Furosemide relieves congestion in heart failure."}],
    }
    meta.update(overrides)
    return meta


def _text(answer: dict[str, Any]) -> str:
    return answer["note_rationale"] + " " + answer["lab_rationale"]


def test_names_the_diagnoses_and_cites_the_evidence() -> None:
    answer = TemplateBackend().compose(_meta())
    text = _text(answer)
    assert text.startswith(TEMPLATE_LABEL)
    assert "heart failure" in text.lower()
    assert "[E1]" in text and answer["cited_facts"][0]["fact_id"] == "E1"


def test_no_diagnoses_is_said_not_papered_over() -> None:
    text = _text(TemplateBackend().compose(_meta(diagnoses=[])))
    assert "the recorded diagnoses" not in text
    assert "No diagnosis among the 25 phenotypes was recorded" in text
    assert "No recorded diagnosis explains these abnormal values" in text


def test_no_evidence_and_no_anomalies_are_said() -> None:
    answer = TemplateBackend().compose(_meta(evidence=[], captions=[]))
    text = _text(answer)
    assert "gave no facts" in text
    assert "No lab anomaly was found" in text
    assert answer["cited_facts"] == []


def test_no_note_and_no_diagnosis() -> None:
    text = _text(TemplateBackend().compose(_meta(has_note=False, diagnoses=[])))
    assert "No clinical note and no diagnosis were available" in text
