"""The ``template`` backend: KG-grounded rationales without any language model.

For demos, tests and a baseline: it reads the structured teacher inputs that
:func:`ctk.teacher.inputs.build_request` puts in ``LLMRequest.metadata`` (diagnoses,
anomaly captions, numbered evidence) and fills fixed sentences with them, citing
the evidence it uses. Output is deterministic and always valid JSON; every
rationale starts with "[template rationale, no language model]" and records carry
``backend="template"`` and ``model="ctk-template-v1"``, so they can never be
mistaken for a model's.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import LLMError
from ctk.phenotypes import phenotype_by_name
from ctk.records import TEMPLATE_LABEL
from ctk.teacher.backend import LLMBackend, LLMRequest, LLMResponse
from ctk.teacher.gate import NO_EVIDENCE_SENTENCE

__all__ = ["TEMPLATE_LABEL", "TemplateBackend", "TemplateBackendOptions"]

_MODEL = "ctk-template-v1"


class TemplateBackendOptions(BaseModel):
    """Settings of the ``template`` backend.

    Attributes:
        max_citations: Most evidence items cited per rationale.
    """

    model_config = ConfigDict(extra="forbid")

    max_citations: int = Field(default=4, ge=0)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    head = text.split(' Evidence: "', 1)[0]
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


class TemplateBackend(LLMBackend):
    """Writes rationales from the anomalies and retrieved facts by rule (offline).

    Example:
        >>> TemplateBackend().generate(request).text  # doctest: +SKIP
        '{"note_rationale": "[template rationale, no language model] ...'
    """

    name: ClassVar[str] = "template"
    Options: ClassVar[type[BaseModel]] = TemplateBackendOptions
    options: TemplateBackendOptions

    @property
    def model_name(self) -> str | None:
        """The fixed template id."""
        return _MODEL

    def _generate(self, request: LLMRequest) -> LLMResponse:
        meta = request.metadata
        if meta.get("task") != "teacher_rationale":
            raise LLMError(
                "the template backend only writes teacher rationales",
                hint="use it through `ctk rationale generate` (it needs the structured inputs)",
            )
        answer = self.compose(meta)
        if meta.get("answer") == "grounded":
            answer = self.ground(answer, meta, request.json_schema or {})
        text = json.dumps(answer, ensure_ascii=False)
        return LLMResponse(
            text=text, model=_MODEL, completion_tokens=0, prompt_tokens=0, raw={"template": _MODEL}
        )

    def compose(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The answer object for one admission's structured inputs."""
        diagnoses: list[str] = list(meta.get("diagnoses") or [])
        captions: list[str] = list(meta.get("captions") or [])
        evidence: list[dict[str, Any]] = list(meta.get("evidence") or [])
        limit = self.options.max_citations
        cited: list[dict[str, str]] = []

        def cite(ev: dict[str, Any]) -> str:
            if all(c["fact_id"] != ev["alias"] for c in cited):
                cited.append({"fact_id": ev["alias"], "claim": _short(ev["text"])})
            return f"[{ev['alias']}]"

        # one clause per diagnosis ("; "), so that a check of co-named concepts does not
        # read the list as a claim that the diagnoses are related to each other
        short = [p.short_name if (p := phenotype_by_name(d)) else d for d in diagnoses]
        dx = "; ".join(short)
        note_parts = [TEMPLATE_LABEL]
        has_note = meta.get("has_note", True)
        if has_note and dx:
            note_parts.append(f"The clinical note is consistent with the diagnoses: {dx}.")
        elif has_note:
            note_parts.append(
                "No diagnosis among the 25 phenotypes was recorded for this admission, "
                "so the note is not related to one."
            )
        elif dx:
            note_parts.append(f"No clinical note was available; the recorded diagnoses: {dx}.")
        else:
            note_parts.append("No clinical note and no diagnosis were available.")
        note_ev = evidence[: max(limit - 1, 1)] if limit else []
        for ev in note_ev:
            note_parts.append(f"Known: {_short(ev['text'])} {cite(ev)}")
        if not evidence:
            note_parts.append(NO_EVIDENCE_SENTENCE)
        lab_parts = [TEMPLATE_LABEL]
        if captions:
            lab_parts.append("Lab anomalies: " + "; ".join(captions) + ".")
            used = {c["fact_id"] for c in cited}
            rest = [ev for ev in evidence if ev["alias"] not in used]
            for ev in rest[: max(limit - len(cited), 0)]:
                lab_parts.append(f"Related knowledge: {_short(ev['text'])} {cite(ev)}")
            if dx:
                lab_parts.append(f"These abnormal values are in keeping with the diagnoses: {dx}.")
            else:
                lab_parts.append("No recorded diagnosis explains these abnormal values.")
        else:
            lab_parts.append("No lab anomaly was found: values in range, or none recorded.")
        return {
            "note_rationale": " ".join(note_parts),
            "lab_rationale": " ".join(lab_parts),
            "cited_facts": cited,
        }

    def ground(
        self, answer: dict[str, Any], meta: dict[str, Any], schema: dict[str, Any]
    ) -> dict[str, Any]:
        """The grounded answer: per diagnosis, the first facts the schema offers it."""
        support_schema = schema.get("properties", {}).get("support", {})

        def picks(array: dict[str, Any]) -> list[str]:
            offered = (array.get("items") or {}).get("enum") or []
            return [str(a) for a in offered[: int(array.get("maxItems", 0))]]

        if support_schema.get("type") == "object":
            support: Any = {
                key: picks(sub) for key, sub in support_schema.get("properties", {}).items()
            }
        else:
            support = picks(support_schema)
        return {
            "support": support,
            "note_rationale": answer["note_rationale"],
            "lab_rationale": answer["lab_rationale"],
        }
