"""The teacher's answer: its JSON model, the schema sent to a server, and the parser.

The model must answer one JSON object valid for :class:`TeacherAnswer` that cites
only evidence it was given (as ``E1``, ``E2``...); :func:`parse_answer` maps those
short numbers back to the graph's fact ids.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctk.errors import LLMResponseError
from ctk.records import CitedFact

__all__ = [
    "CLAIM_MAX_CHARS",
    "MAX_CITED_FACTS",
    "RATIONALE_MAX_CHARS",
    "RATIONALE_MIN_CHARS",
    "AnswerError",
    "CitedClaim",
    "TeacherAnswer",
    "answer_schema_json",
    "constrained_schema",
    "extract_json",
    "parse_answer",
    "resolve_citations",
    "validate_shape",
]


_ALIAS = re.compile(r"^\s*\[?\s*[Ee](\d+)\s*\]?\s*$")
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)

# --------------------------------------------------------------------------- answer model


class AnswerError(LLMResponseError):
    """An answer that cannot be used, with the quality gate's reason code.

    Attributes:
        reason: ``empty_answer``, ``not_json``, ``wrong_shape`` or ``unknown_fact``.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class CitedClaim(BaseModel):
    """One knowledge item a rationale relies on."""

    model_config = ConfigDict(extra="ignore")

    fact_id: str = Field(description="The number of the knowledge item, e.g. E3.")
    claim: str = Field(default="", description="What the rationale takes from it.")


class TeacherAnswer(BaseModel):
    """The JSON object a teacher must answer with."""

    model_config = ConfigDict(extra="ignore", title="TeacherRationale")

    note_rationale: str = Field(
        min_length=1, description="Rm: why the diagnoses fit, from the clinical note."
    )
    lab_rationale: str = Field(
        default="", description="Rt: why the diagnoses fit, from the lab anomalies."
    )
    cited_facts: list[CitedClaim] = Field(
        default_factory=list, description="Knowledge items used, by number."
    )


@functools.cache
def answer_schema_json() -> str:
    return json.dumps(TeacherAnswer.model_json_schema(), sort_keys=True)


#: Bounds of the schema sent to the server (see :func:`constrained_schema`).
RATIONALE_MIN_CHARS = 20
RATIONALE_MAX_CHARS = 300
CLAIM_MAX_CHARS = 160
MAX_CITED_FACTS = 4


def constrained_schema(aliases: Iterable[str]) -> dict[str, Any]:
    """The schema sent as structured output: :class:`TeacherAnswer` with bounds.

    Grammar-constrained servers (llama.cpp's json-schema-to-grammar, vLLM's guided
    decoding) enforce it while sampling, so even a small model cannot answer an empty
    or punctuation-only rationale, cite a number it was not given (``fact_id`` is an
    ``enum`` of the evidence numbers), or run away past ``max_tokens``: rationales
    hold ``RATIONALE_MIN_CHARS``..``RATIONALE_MAX_CHARS`` characters, claims at most
    ``CLAIM_MAX_CHARS``, and there are at most ``MAX_CITED_FACTS`` citations.
    ctk still validates every answer (servers that ignore the schema exist).

    Args:
        aliases: The evidence numbers of this prompt (``E1``, ``E2``, ...).

    Returns:
        A self-contained JSON schema (no ``$ref``), every property required.
    """
    ids = list(aliases)
    text = {
        "type": "string",
        "minLength": RATIONALE_MIN_CHARS,
        "maxLength": RATIONALE_MAX_CHARS,
    }
    fact: dict[str, Any] = (
        {"type": "string", "enum": ids} if ids else {"type": "string", "maxLength": 0}
    )
    cited: dict[str, Any] = {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "fact_id": fact,
                "claim": {"type": "string", "minLength": 5, "maxLength": CLAIM_MAX_CHARS},
            },
            "required": ["fact_id", "claim"],
            "additionalProperties": False,
        },
        "minItems": 1 if ids else 0,
        "maxItems": min(MAX_CITED_FACTS, len(ids)),
    }
    return {
        "title": "TeacherRationale",
        "type": "object",
        "properties": {
            "note_rationale": {
                **text,
                "description": TeacherAnswer.model_fields["note_rationale"].description,
            },
            "lab_rationale": {
                **text,
                "description": TeacherAnswer.model_fields["lab_rationale"].description,
            },
            "cited_facts": cited,
        },
        "required": ["note_rationale", "lab_rationale", "cited_facts"],
        "additionalProperties": False,
    }


def extract_json(text: str) -> Any:
    """The JSON value of an answer (code fences and text around one object ignored).

    Raises:
        AnswerError: ``empty_answer`` or ``not_json``.
    """
    body = _FENCE.sub("", text.strip()).strip()
    if not body:
        raise AnswerError("empty_answer", "the answer is empty")
    try:
        return json.loads(body, strict=False)  # raw newlines inside strings are common
    except json.JSONDecodeError:
        pass
    start = body.find("{")
    end = body.rfind("}")
    if start < 0 or end <= start:
        raise AnswerError("not_json", "the answer holds no JSON object")
    try:
        return json.loads(body[start : end + 1], strict=False)
    except json.JSONDecodeError as e:
        raise AnswerError(
            "not_json", f"the answer is not valid JSON ({e.msg} at char {e.pos})"
        ) from e


def parse_answer(text: str, aliases: dict[str, str]) -> tuple[TeacherAnswer, list[CitedFact]]:
    """Parse and validate a teacher's answer and resolve its citations.

    Args:
        text: The model's answer.
        aliases: Short evidence numbers (``E1``) -> evidence ids, in prompt order.

    Returns:
        The validated answer and its citations as fact/chunk ids.

    Raises:
        AnswerError: Empty, not JSON, not valid for the schema, or citing evidence
            that was not given (the message says which; ``reason`` gives the code).
    """
    raw = extract_json(text)
    answer = validate_shape(raw, TeacherAnswer)
    return answer, resolve_citations(answer.cited_facts, aliases)


M = TypeVar("M", bound=BaseModel)


def validate_shape(raw: Any, model: type[M]) -> M:
    """Validate parsed JSON against an answer model.

    Raises:
        AnswerError: ``wrong_shape``, naming the first field at fault.
    """
    if not isinstance(raw, dict):
        raise AnswerError("wrong_shape", f"the answer is JSON {type(raw).__name__}, not an object")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "answer"
        raise AnswerError(
            "wrong_shape", f"the answer does not follow the schema: {where}: {first['msg']}"
        ) from e


def resolve_citations(claims: Iterable[CitedClaim], aliases: dict[str, str]) -> list[CitedFact]:
    """Map cited evidence numbers (``E3``) or ids back to evidence ids; first claim per id.

    Raises:
        AnswerError: ``unknown_fact``: a citation is not among the evidence given.
    """
    by_id = set(aliases.values())
    cited: list[CitedFact] = []
    unknown: list[str] = []
    for c in claims:
        m = _ALIAS.match(c.fact_id)
        real = aliases.get(f"E{m.group(1)}") if m else (c.fact_id if c.fact_id in by_id else None)
        if real is None:
            unknown.append(c.fact_id)
        elif all(f.fact_id != real for f in cited):
            cited.append(CitedFact(fact_id=real, claim=c.claim))
    if unknown:
        raise AnswerError(
            "unknown_fact",
            f"the answer cites {', '.join(repr(u) for u in unknown[:5])}, not among the "
            f"evidence given (E1..E{len(aliases)})",
        )
    return cited
