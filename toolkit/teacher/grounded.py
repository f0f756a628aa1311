"""Grounded generation by construction: the ``teacher_grounded`` answer and its schema.

The model answers, for each diagnosis, the ids of the retrieved facts that support
it, then Rm and Rt::

    {"support": {"congestive heart failure": ["E2", "E5"], "pneumonia": ["E1"]},
     "note_rationale": "...", "lab_rationale": "..."}

The JSON schema sent to the server (:func:`grounded_schema`) makes this hold while
sampling on a schema-constrained server (llama.cpp, which ``ctk teacher serve``
runs; vLLM's guided decoding): each fact id is an ``enum`` of exactly the
retrieved ids, and a diagnosis is offered only the facts with an end that is that
diagnosis (none when no fact is about it; every fact when no fact is about any
diagnosis), so nothing else can be cited; Rm and Rt are one
whole sentence each (:data:`SENTENCE_PATTERN`), so a small model cannot run on into
schema-like noise or stop mid-sentence short of the token limit.

ctk writes each picked fact's claim itself, from the fact (:func:`fact_claim`: "Dyspnea
is a symptom of heart failure."), so a claim always names both ends of the fact it
cites and is a whole sentence.

ctk also composes Rm and Rt (:func:`compose_grounded`): each sentence the model wrote
is kept only when it passes the gate's sentence checks on its own
(:func:`ctk.teacher.gate.sentence_findings`: whole, names a concept of the note, labs
or facts, names only the admission's diagnoses, relates only concepts the graph
relates, and relates at least two that it does: a claim the graph can vouch for);
the others are dropped and recorded. Then each picked fact is added as
"Known: <claim> [E2]", to Rt when one of its ends is named in the lab anomalies, to
Rm otherwise. So every concept pair a kept grounded rationale claims is a graph
edge, and the picked facts are in the text the student learns from (the cited
facts alone are not). (Letting the model write the words between the two
names under a ``pattern`` per fact was tried: llama.cpp held it, but sampling under a
``oneOf`` of one pattern per fact ran at about 1 token/s on 2 CPU cores.) ctk still
parses and gates every answer: servers that ignore schemas exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ctk.graph import fact_sentence
from ctk.phenotypes import phenotype_by_name
from ctk.records import CitedFact, GateFinding
from ctk.retrieval import EvidenceRecord, fact_id_of
from ctk.teacher.answer import (
    AnswerError,
    extract_json,
    validate_shape,
)
from ctk.teacher.gate import (
    SENTENCE_SPLIT,
    ConceptLexicon,
    GateContext,
    fact_ends,
    sentence_findings,
)

__all__ = [
    "GROUNDED_FACTS_FLAT",
    "GROUNDED_FACTS_PER_DIAGNOSIS",
    "SENTENCE_MAX_WORDS",
    "SENTENCE_PATTERN",
    "WORD_MAX_CHARS",
    "ComposedRationale",
    "GroundedAnswer",
    "compose_grounded",
    "diagnosis_key",
    "fact_claim",
    "grounded_schema",
    "parse_grounded_answer",
]

#: Most facts picked per diagnosis.
GROUNDED_FACTS_PER_DIAGNOSIS = 2
#: Most facts picked when no diagnosis is given.
GROUNDED_FACTS_FLAT = 4
#: Most words in the model's Rm or Rt sentence.
SENTENCE_MAX_WORDS = 25
#: Most characters in one of its words.
WORD_MAX_CHARS = 24
_WORD_CHARS = "[A-Za-z0-9'()/%-]"
#: Rm and Rt are one whole sentence each: a capital first, a full stop last, no braces,
#: quotes or full stop between, 3 to :data:`SENTENCE_MAX_WORDS` words of at most
#: :data:`WORD_MAX_CHARS` characters, a ``,``, ``;`` or ``:`` only at a word's end.
#: Without bounds SmolLM2-135M sometimes ran one sentence on to the token limit (600
#: tokens, then a repair that did the same); with words bounded but not their length it
#: went on inside one word ("Diabeteswithcomplications:Dysbiosis:Ketosis:..."). The
#: bounds are per word: llama.cpp samples a ``maxLength`` string through one nested rule
#: per character of the whole string, which ran at several seconds per token on 2 busy
#: cores; these nest at most ``SENTENCE_MAX_WORDS + WORD_MAX_CHARS`` deep.
SENTENCE_PATTERN = (
    f"^[A-Z]{_WORD_CHARS}{{0,{WORD_MAX_CHARS - 1}}}[,;:]?"
    f"( {_WORD_CHARS}{{1,{WORD_MAX_CHARS}}}[,;:]?){{2,{SENTENCE_MAX_WORDS - 1}}}[.]$"
)


class GroundedAnswer(BaseModel):
    """The JSON object the grounded teacher answers with."""

    model_config = ConfigDict(extra="ignore", title="GroundedTeacherRationale")

    support: dict[str, list[str]] | list[str] = Field(
        default_factory=list, description="Per diagnosis: the ids of the facts picked."
    )
    note_rationale: str = Field(min_length=1)
    lab_rationale: str = ""

    def picked(self) -> list[str]:
        """Every picked fact id, diagnosis by diagnosis, first pick first, no repeats."""
        ids = (
            self.support
            if isinstance(self.support, list)
            else [i for items in self.support.values() for i in items]
        )
        return list(dict.fromkeys(ids))


def diagnosis_key(diagnosis: str) -> str:
    """The short name a diagnosis goes by in the answer (``congestive heart failure``)."""
    p = phenotype_by_name(diagnosis)
    return p.short_name if p is not None else diagnosis


def fact_claim(ev: EvidenceRecord, lexicon: ConceptLexicon | None = None) -> str:
    """The claim ctk writes for a picked fact: the fact as one sentence.

    ``a|symptom_of|b`` -> "A is a symptom of b." with the graph's names; evidence
    that is not a graph fact gives its own first sentence.
    """
    ends = fact_ends(ev.id)
    if ends is None:
        first = " ".join(ev.text.split()).split(". ", 1)[0].rstrip(".")
        return f"{first[:157]}." if first else ""
    lex = lexicon or ConceptLexicon()
    relation = fact_id_of(ev.id)[0].split("|")[1]
    return fact_sentence(lex.name(ends[0]), relation, lex.name(ends[1]))


def _facts_of(
    diagnosis: str, evidence: Sequence[tuple[str, EvidenceRecord]], lex: ConceptLexicon
) -> list[str]:
    names = f"{diagnosis} ; {diagnosis_key(diagnosis)}"
    out = []
    for alias, ev in evidence:
        ends = fact_ends(ev.id) or tuple(ev.concept_ids)
        if any(lex.named_in(c, names) for c in ends):
            out.append(alias)
    return out


def _id_list(aliases: Sequence[str], *, min_items: int, max_items: int) -> dict[str, Any]:
    if not aliases:
        # items must be given: llama.cpp reads an array schema without them as any array
        return {"type": "array", "items": {"type": "string", "enum": ["none"]}, "maxItems": 0}
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(aliases)},
        "minItems": min(min_items, len(aliases)),
        "maxItems": min(max_items, len(aliases)),
    }


def grounded_schema(
    evidence: Sequence[EvidenceRecord],
    diagnoses: Sequence[str],
    lexicon: ConceptLexicon | None = None,
) -> dict[str, Any]:
    """The schema of the grounded answer for one admission; see the module docstring.

    Args:
        evidence: The retrieved evidence, in prompt order (``E1`` first).
        diagnoses: The admission's diagnoses (empty: one flat list of fact ids).
        lexicon: Concept names, to tell which facts are about which diagnosis.

    Returns:
        A self-contained JSON schema (no ``$ref``), every property required.
    """
    lex = lexicon or ConceptLexicon()
    numbered = [(f"E{i}", ev) for i, ev in enumerate(evidence, start=1)]
    if diagnoses:
        per = {d: _facts_of(d, numbered, lex) for d in diagnoses}
        if not any(per.values()):  # no fact names any diagnosis: each may pick from all
            per = {d: [alias for alias, _ in numbered] for d in diagnoses}
        props = {
            diagnosis_key(d): _id_list(per[d], min_items=1, max_items=GROUNDED_FACTS_PER_DIAGNOSIS)
            for d in diagnoses
        }
        support: dict[str, Any] = {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }
    else:
        support = _id_list(
            [alias for alias, _ in numbered], min_items=1, max_items=GROUNDED_FACTS_FLAT
        )
    text = {"type": "string", "pattern": SENTENCE_PATTERN}
    return {
        "title": "GroundedTeacherRationale",
        "type": "object",
        "properties": {
            "support": support,
            "note_rationale": {**text, "description": "Rm: from the clinical note."},
            "lab_rationale": {**text, "description": "Rt: from the lab anomalies."},
        },
        "required": ["support", "note_rationale", "lab_rationale"],
        "additionalProperties": False,
    }


def parse_grounded_answer(
    text: str, evidence: Sequence[EvidenceRecord], lexicon: ConceptLexicon | None = None
) -> tuple[GroundedAnswer, list[CitedFact]]:
    """Parse a grounded answer; each picked fact becomes a citation with ctk's claim.

    Args:
        text: The model's answer.
        evidence: The evidence given, in prompt order (``E1`` first).
        lexicon: Concept names for the claims.

    Raises:
        AnswerError: ``empty_answer``, ``not_json``, ``wrong_shape`` or ``unknown_fact``.
    """
    answer = validate_shape(extract_json(text), GroundedAnswer)
    by_alias = {f"E{i}": ev for i, ev in enumerate(evidence, start=1)}
    by_id = {ev.id: ev for ev in evidence}
    cited: list[CitedFact] = []
    unknown: list[str] = []
    for pick in answer.picked():
        key = pick.strip().strip("[]").strip()
        ev = by_alias.get(key.upper()) or by_id.get(key)
        if ev is None:
            unknown.append(pick)
        elif all(c.fact_id != ev.id for c in cited):
            cited.append(CitedFact(fact_id=ev.id, claim=fact_claim(ev, lexicon)))
    if unknown:
        raise AnswerError(
            "unknown_fact",
            f"the answer picks {', '.join(repr(u) for u in unknown[:5])}, not among the "
            f"facts given (E1..E{len(evidence)})",
        )
    return answer, cited


class ComposedRationale(BaseModel):
    """Rm and Rt as ctk writes them for a grounded answer (:func:`compose_grounded`).

    Attributes:
        note_rationale: Rm: the model's kept sentences, then the note-side facts.
        lab_rationale: Rt: the model's kept sentences, then the lab-side facts.
        kept_sentences: Sentences of the model's own that were checked and kept.
        dropped: One finding per sentence of the model's own that was dropped
            (its first reason, the detail starting "dropped: ").
    """

    model_config = ConfigDict(extra="forbid")

    note_rationale: str = ""
    lab_rationale: str = ""
    kept_sentences: int = 0
    dropped: list[GateFinding] = Field(default_factory=list)


def compose_grounded(
    note_rationale: str,
    lab_rationale: str,
    cited: Sequence[CitedFact],
    ctx: GateContext,
    *,
    check_sentences: bool = True,
) -> ComposedRationale:
    """Rm and Rt of a grounded answer: the model's sentences that pass, then the picked facts.

    Args:
        note_rationale: Rm as the model wrote it.
        lab_rationale: Rt as the model wrote it.
        cited: The picked facts with ctk's claims (:func:`parse_grounded_answer`).
        ctx: What the teacher was given (evidence in prompt order, captions, lexicon).
        check_sentences: Check the model's sentences and drop the failing ones
            (False: keep every sentence, as a ``--no-gate`` run does).

    Returns:
        The composed rationale; see the module docstring.

    Example:
        >>> ctx = GateContext(diagnoses=[], note_text="", captions=[], evidence=[])
        >>> compose_grounded("The note shows", "", [], ctx).dropped[0].reason
        'truncated'
    """
    out = ComposedRationale()
    parts: dict[str, list[str]] = {"note_rationale": [], "lab_rationale": []}
    for where, text in (("note_rationale", note_rationale), ("lab_rationale", lab_rationale)):
        for sentence in SENTENCE_SPLIT.split(text.strip()):
            if not sentence.strip():
                continue
            findings = (
                sentence_findings(where, sentence, ctx, need_claim=True) if check_sentences else []
            )
            if findings:
                first = findings[0]
                out.dropped.append(
                    GateFinding(reason=first.reason, detail=f"dropped: {first.detail}")
                )
            else:
                parts[where].append(sentence.strip())
                out.kept_sentences += int(check_sentences)
    alias = {ev.id: f"E{i}" for i, ev in enumerate(ctx.evidence, start=1)}
    captions = " ; ".join(ctx.captions)
    lex = ctx.lexicon
    for cf in cited:
        ends = ctx.ends_of(cf.fact_id)
        lab_side = bool(captions) and any(lex.named_in(c, captions) for c in ends)
        where = "lab_rationale" if lab_side else "note_rationale"
        claim = cf.claim.strip()
        said = " ".join(parts["note_rationale"] + parts["lab_rationale"]).lower()
        if not claim or claim.rstrip(".").lower() in said:
            continue  # the answer already says it (the template backend does)
        marker = f" [{alias[cf.fact_id]}]" if cf.fact_id in alias else ""
        parts[where].append(f"Known: {claim}{marker}")
    out.note_rationale = " ".join(parts["note_rationale"])
    out.lab_rationale = " ".join(parts["lab_rationale"])
    return out
