"""What the teacher reads for one admission, the chat request built from it, and its hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from ctk.anomalies import anomaly_captions
from ctk.llm import LLMRequest
from ctk.records import Admission
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever
from ctk.teacher.answer import answer_schema_json, constrained_schema
from ctk.teacher.gate import ConceptLexicon
from ctk.teacher.grounded import grounded_schema
from ctk.teacher.prompts import PromptTemplate

__all__ = [
    "DEFAULT_SECTION",
    "NOTE_EXCERPT_CHARS",
    "TeacherInput",
    "build_request",
    "build_teacher_input",
    "input_hash",
]


#: The note section the teacher reads (the whole note when absent).
DEFAULT_SECTION = "brief hospital course"

# --------------------------------------------------------------------------- inputs


class TeacherInput(BaseModel):
    """Everything the teacher is given for one admission.

    Attributes:
        admission_id: The admission.
        section: The note section used.
        note_text: Its text ("" when the admission has no note).
        captions: Lab anomaly captions.
        diagnoses: True diagnoses (training time) or empty.
        evidence: Retrieved evidence, best first.
    """

    model_config = ConfigDict(extra="forbid")

    admission_id: str
    section: str = DEFAULT_SECTION
    note_text: str = ""
    captions: list[str] = Field(default_factory=list)
    diagnoses: list[str] = Field(default_factory=list)
    evidence: list[EvidenceRecord] = Field(default_factory=list)

    def aliases(self) -> dict[str, str]:
        """``E1`` -> evidence id, in prompt order."""
        return {f"E{i}": ev.id for i, ev in enumerate(self.evidence, start=1)}


def _captions_of(admission: Admission) -> list[str]:
    if admission.labs is None:
        return []
    return [str(c) for c in anomaly_captions(admission.labs)]


def build_teacher_input(
    admission: Admission,
    retriever: Retriever,
    *,
    k: int = 8,
    section: str = DEFAULT_SECTION,
    use_true_diagnoses: bool = True,
    captioner: Callable[[Admission], list[str]] | None = None,
) -> TeacherInput:
    """Collect the note section, anomaly captions and evidence for one admission.

    Args:
        admission: The admission.
        retriever: Where evidence comes from.
        k: Evidence records to retrieve.
        section: Note section to read.
        use_true_diagnoses: Give the true diagnoses (label-conditioned teacher).
        captioner: Turns labs into captions (default :func:`ctk.anomalies.anomaly_captions`).

    Returns:
        The teacher's input.

    Raises:
        RetrievalError: The retriever failed.
    """
    note = admission.note.main_text(section) if admission.note is not None else ""
    captions = (captioner or _captions_of)(admission)
    diagnoses = list(admission.phenotypes) if use_true_diagnoses else []
    query = RetrievalQuery(
        admission_id=admission.admission_id,
        note_text=note,
        anomaly_captions=captions,
        diagnoses=diagnoses,
    )
    evidence = retriever.retrieve(query, k) if (note or captions or diagnoses) else []
    return TeacherInput(
        admission_id=admission.admission_id,
        section=section,
        note_text=note,
        captions=captions,
        diagnoses=diagnoses,
        evidence=evidence,
    )


def _evidence_lines(evidence: list[EvidenceRecord]) -> str:
    if not evidence:
        return "(none retrieved)"
    lines = []
    for i, ev in enumerate(evidence, start=1):
        where = f" ({ev.source}{': ' + ev.document_id if ev.document_id else ''})"
        lines.append(f"[E{i}] {' '.join(ev.text.split())}{where}")
    return "\n".join(lines)


#: Characters of the note section a compact prompt shows (``$note_excerpt``).
NOTE_EXCERPT_CHARS = 700


def build_request(
    inp: TeacherInput,
    template: PromptTemplate,
    *,
    temperature: float = 0.0,
    max_tokens: int = 384,
    lexicon: ConceptLexicon | None = None,
) -> LLMRequest:
    """Render the teacher prompt for one admission.

    The request's ``metadata`` carries the same inputs in structured form for
    backends that do not read text (``template``); network backends never send it.
    A ``grounded`` template gets the schema of :func:`ctk.teacher.grounded.grounded_schema`
    (its claim patterns use the concept names of ``lexicon``).
    """
    if template.answer == "grounded":
        schema = grounded_schema(inp.evidence, inp.diagnoses, lexicon)
    else:
        schema = constrained_schema(inp.aliases())
    note = inp.note_text.strip()
    excerpt = " ".join(note.split())
    if len(excerpt) > NOTE_EXCERPT_CHARS:
        excerpt = excerpt[:NOTE_EXCERPT_CHARS].rsplit(" ", 1)[0] + " ..."
    values = {
        "diagnoses": ", ".join(inp.diagnoses) if inp.diagnoses else "(not given)",
        "section": inp.section,
        "note": note or "(no note available)",
        "note_excerpt": excerpt or "(no note available)",
        "captions": "\n".join(f"- {c}" for c in inp.captions) or "- none (all values in range)",
        "evidence": _evidence_lines(inp.evidence),
        "evidence_ids": ", ".join(inp.aliases()) or "(none)",
        "schema": answer_schema_json()
        if template.answer == "free"
        else json.dumps(schema, sort_keys=True),
    }
    metadata = {
        "task": "teacher_rationale",
        "admission_id": inp.admission_id,
        "diagnoses": inp.diagnoses,
        "captions": inp.captions,
        "has_note": bool(inp.note_text.strip()),
        "evidence": [
            {
                "alias": alias,
                **ev.model_dump(
                    include={"id", "text", "source", "document_id", "concept_ids", "fact_ids"}
                ),
            }
            for alias, ev in zip(inp.aliases(), inp.evidence, strict=True)
        ],
    }
    if template.answer != "free":
        metadata["answer"] = template.answer
    return LLMRequest(
        messages=template.render(**values),
        json_schema=schema,
        temperature=temperature,
        max_tokens=max_tokens,
        metadata=metadata,
    )


def input_hash(request: LLMRequest, *, backend: str, model: str | None, prompt: str) -> str:
    """SHA-256 of the full input of one generation: the cache key.

    Covers the messages, schema, sampling settings, structured metadata, backend,
    model and prompt version, so any change gives a new key.
    """
    payload = {
        "request": request.model_dump(mode="json"),
        "backend": backend,
        "model": model,
        "prompt": prompt,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
