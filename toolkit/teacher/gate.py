"""The quality gate every teacher answer passes before a record is written ``ok``.

A rationale the student learns from must be whole, must not repeat itself, and its
knowledge claims must be about the facts they cite. :func:`gate_answer` checks a
parsed answer against what the teacher was given (:class:`GateContext`) and returns
one :class:`~ctk.records.GateFinding` per problem; an empty list means the answer
passes. The reasons (``GateFinding.reason``):

- ``truncated``: the server stopped at the length limit (``finish_reason ==
  "length"``), or a rationale's last sentence is cut off (no closing ``.``, ``!``
  or ``?``);
- ``repeated_claim``: two cited facts carry the same claim (case, punctuation and
  word order aside);
- ``repeated_sentence``: a rationale says the same sentence twice;
- ``claim_off_fact``: a claim names neither end of the fact it cites (or, for the
  grounded prompt, not both); names and synonyms of the graph's concepts count;
- ``no_concept``: the rationales name no concept of the note, the lab anomalies or
  the facts given (boilerplate such as "The diagnosis fits the note perfectly.");
- ``diagnosis_outside_labels``: a rationale names a phenotype that is not among
  the admission's diagnoses (label-conditioned runs only);
- ``no_evidence``: facts were given and none is cited;
- ``unsupported_pair``: a sentence of Rm or Rt names two graph concepts that the
  graph does not relate (no edge either way; :mod:`ctk.teacher.concepts`), i.e. a
  claim ``ctk rationale check`` would count as unsupported. Only with a graph, and
  only where :attr:`GateContext.check_pairs` asks for it (the grounded prompt; the
  ``require_supported_pairs`` option of a run): "Dyspnea and leg edema point to
  heart failure." relates dyspnea and edema, which a graph rarely links, so the
  free-form prompts do not refuse it by default.

:func:`sentence_findings` runs the checks that apply to one sentence on its own; the
grounded prompt uses it to keep or drop each sentence the model wrote
(:func:`ctk.teacher.grounded.compose_grounded`).

Answers that cannot be parsed get ``empty_answer``, ``not_json``, ``wrong_shape``
or ``unknown_fact`` from :func:`ctk.teacher.answer.parse_answer`. The functions
here are pure: no model, no I/O beyond the graph reads of :class:`ConceptLexicon`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ctk.phenotypes import phenotypes
from ctk.records import CitedFact, GateFinding
from ctk.retrieval import EvidenceRecord, fact_id_of
from ctk.teacher.concepts import ConceptLexicon

__all__ = [
    "NO_EVIDENCE_SENTENCE",
    "SENTENCE_SPLIT",
    "ConceptLexicon",
    "GateContext",
    "fact_ends",
    "gate_answer",
    "is_cut_off",
    "sentence_findings",
]

#: What a rationale says when retrieval gave no facts (ctk adds it when the model did not).
NO_EVIDENCE_SENTENCE = "The knowledge graph gave no facts for this admission."

_QUOTE_CHARS = 48
_PHRASE_WORDS = 3
_CITATION_TAIL = re.compile(r"(\s*[\[(]\s*E\d+(?:\s*,\s*E\d+)*\s*[\])])+\s*$")
#: Where a rationale is cut into sentences (a citation marker right after stays with it).
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?!\[E\d)|(?<=\])\s+")
_CITATION = re.compile(r"\[\s*E\d+")
_WORD = re.compile(r"[a-z0-9]+")
_END = frozenset(".!?")
_CLOSERS = "\"')]}»”’"


def _quote(text: str) -> str:
    """A short quote of the model's own output (never note text)."""
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_CHARS else "..." + text[-_QUOTE_CHARS:]


def is_cut_off(text: str) -> bool:
    """True when the last sentence of ``text`` does not end (no ``.``, ``!`` or ``?``).

    Trailing citation markers (``[E2]``, ``(E1, E3)``) and closing quotes or brackets
    are ignored; an ellipsis counts as cut off. Empty text is not cut off.
    """
    body = _CITATION_TAIL.sub("", text.strip()).rstrip().rstrip(_CLOSERS).rstrip()
    if not body:
        return False
    if body.endswith(("...", "…")):
        return True
    return body[-1] not in _END


def fact_ends(evidence_id: str) -> tuple[str, str] | None:
    """The two concept ids of a graph fact id (``a|rel|b`` or its chunk ``a|rel|b#e0``)."""
    fact, _ = fact_id_of(evidence_id)
    parts = fact.split("|")
    if len(parts) == 3 and parts[0] and parts[2]:
        return parts[0], parts[2]
    return None


def _norm_words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass
class GateContext:
    """What the teacher was given for one admission, as the gate needs it.

    Attributes:
        diagnoses: The admission's diagnoses (phenotype names); empty when the
            teacher was not told them (no ``diagnosis_outside_labels`` check then).
        note_text: The note section the teacher read.
        captions: The lab anomaly captions.
        evidence: The evidence records, in prompt order.
        lexicon: Concept names and synonyms.
        claim_ends: How many ends of its cited fact a claim must name (1 or 2).
        check_pairs: Refuse a Rm or Rt that relates concepts the graph does not
            (``unsupported_pair``).
    """

    diagnoses: Sequence[str]
    note_text: str
    captions: Sequence[str]
    evidence: Sequence[EvidenceRecord]
    lexicon: ConceptLexicon = field(default_factory=ConceptLexicon)
    claim_ends: int = 1
    check_pairs: bool = False

    def ends_of(self, evidence_id: str) -> tuple[str, ...]:
        """The concepts a cited evidence record is about (fact ends, else its concepts)."""
        ends = fact_ends(evidence_id)
        if ends is not None:
            return ends
        for ev in self.evidence:
            if ev.id == evidence_id:
                return tuple(dict.fromkeys(ev.concept_ids))
        return ()


def _check_truncation(texts: dict[str, str], finish_reason: str | None) -> Iterable[GateFinding]:
    if finish_reason == "length":
        yield GateFinding(
            reason="truncated",
            detail="the server stopped at the token limit (finish_reason 'length')",
        )
    for where, text in texts.items():
        if is_cut_off(text):
            yield GateFinding(
                reason="truncated",
                detail=f"{where} ends mid-sentence: {_quote(text)!r}",
            )


def _check_repeats(cited: Sequence[CitedFact], texts: dict[str, str]) -> Iterable[GateFinding]:
    seen: dict[tuple[str, ...], str] = {}
    for cf in cited:
        key = tuple(sorted(_norm_words(cf.claim)))
        if not key:
            continue
        first = seen.get(key)
        if first is not None and first != cf.fact_id:
            yield GateFinding(
                reason="repeated_claim",
                detail=f"the claim for {cf.fact_id} repeats the one for {first}: "
                f"{_quote(cf.claim)!r}",
                fact_id=cf.fact_id,
            )
        else:
            seen.setdefault(key, cf.fact_id)
    for where, text in texts.items():
        sentences: set[tuple[str, ...]] = set()
        for sentence in SENTENCE_SPLIT.split(text):
            key = tuple(_norm_words(sentence))
            if len(key) < 4:
                continue
            if key in sentences:
                yield GateFinding(
                    reason="repeated_sentence",
                    detail=f"{where} repeats a sentence: {_quote(sentence)!r}",
                )
            sentences.add(key)


def _check_phrases(texts: dict[str, str]) -> Iterable[GateFinding]:
    # a small model that cannot end a sentence goes round in circles inside it
    for where, text in texts.items():
        words = _norm_words(text)
        seen: set[tuple[str, ...]] = set()
        for i in range(len(words) - _PHRASE_WORDS + 1):
            phrase = tuple(words[i : i + _PHRASE_WORDS])
            if phrase in seen:
                yield GateFinding(
                    reason="repeated_phrase",
                    detail=f"{where} says {' '.join(phrase)!r} twice: {_quote(text)!r}",
                )
                break
            seen.add(phrase)


def _check_claims(cited: Sequence[CitedFact], ctx: GateContext) -> Iterable[GateFinding]:
    lex = ctx.lexicon
    for cf in cited:
        ends = ctx.ends_of(cf.fact_id)
        if not ends:
            continue  # evidence about no known concept: nothing to check the claim against
        named = [c for c in ends if lex.named_in(c, cf.claim)]
        needed = min(ctx.claim_ends, len(ends))
        if len(named) >= needed:
            continue
        missing = [lex.name(c) for c in ends if c not in named]
        what = "neither end" if not named else "only one end"
        yield GateFinding(
            reason="claim_off_fact",
            detail=f"the claim names {what} of its fact (missing: {', '.join(missing)}): "
            f"{_quote(cf.claim) or '(empty)'!r}",
            fact_id=cf.fact_id,
        )


def _check_concepts(
    cited: Sequence[CitedFact], texts: dict[str, str], ctx: GateContext
) -> Iterable[GateFinding]:
    lex = ctx.lexicon
    fact_concepts: set[str] = set()
    for ev in ctx.evidence:
        fact_concepts.update(ctx.ends_of(ev.id))
    given = lex.find(ctx.note_text) | lex.find(" ; ".join(ctx.captions)) | fact_concepts
    if not given:
        return  # nothing known to name: the check cannot judge
    body = " ".join(texts.values())
    named = lex.find(body) & given
    if not named:
        named = {c for c in fact_concepts if lex.named_in(c, body)}
    if not named:
        yield GateFinding(
            reason="no_concept",
            detail="the rationales name no concept of the note, the lab anomalies or the facts",
        )


def _check_pairs(texts: dict[str, str], ctx: GateContext) -> Iterable[GateFinding]:
    lex = ctx.lexicon
    for where, text in texts.items():
        for pair in lex.pairs(text):
            if pair.supported:
                continue
            a, b = (lex.name(c) for c in pair.concepts)
            yield GateFinding(
                reason="unsupported_pair",
                detail=f"{where} relates {a!r} and {b!r}, which the graph does not "
                f"relate: {_quote(pair.sentence)!r}",
            )


def _phenotype_names() -> list[tuple[str, tuple[str, ...]]]:
    out = []
    for p in phenotypes():
        alts = {p.short_name.lower()}
        for part in re.split(r"[;(]", p.name):
            part = part.strip(" )").lower()
            if len(part) > 3 and not part.startswith(("except", "adult")):
                alts.add(part)
        out.append((p.name, tuple(sorted(alts, key=len, reverse=True))))
    return out


_PHENOTYPE_NAMES = _phenotype_names()


def _check_diagnoses(texts: dict[str, str], ctx: GateContext) -> Iterable[GateFinding]:
    if not ctx.diagnoses:
        return
    labels = {d.lower() for d in ctx.diagnoses}
    # a sentence that cites a fact ("Known: X is a symptom of Y. [E2]") states knowledge,
    # not a diagnosis of this patient
    body = " ".join(
        sentence
        for text in texts.values()
        for sentence in SENTENCE_SPLIT.split(text)
        if not _CITATION.search(sentence)
    ).lower()
    # blank out the admission's own diagnoses first: "hypertension with complications"
    # must not read as "essential hypertension" or a shorter name inside it
    for name, alts in _PHENOTYPE_NAMES:
        if name.lower() in labels:
            for alt in alts:
                body = re.sub(rf"(?<![a-z0-9]){re.escape(alt)}(?![a-z0-9])", " ", body)
    for name, alts in _PHENOTYPE_NAMES:
        if name.lower() in labels:
            continue
        for alt in alts:
            if re.search(rf"(?<![a-z0-9]){re.escape(alt)}(?![a-z0-9])", body):
                yield GateFinding(
                    reason="diagnosis_outside_labels",
                    detail=f"names {alt!r} ({name}), not a diagnosis of this admission",
                )
                break


def gate_answer(
    note_rationale: str,
    lab_rationale: str,
    cited: Sequence[CitedFact],
    ctx: GateContext,
    *,
    finish_reason: str | None = None,
) -> list[GateFinding]:
    """Check one parsed teacher answer; see the module docstring.

    Args:
        note_rationale: Rm as the model wrote it.
        lab_rationale: Rt as the model wrote it.
        cited: Its citations, resolved to evidence ids.
        ctx: What the teacher was given.
        finish_reason: The server's finish reason, where known.

    Returns:
        The findings; empty when the answer passes.

    Example:
        >>> ctx = GateContext(diagnoses=[], note_text="", captions=[], evidence=[])
        >>> [f.reason for f in gate_answer("The note shows", "", [], ctx)]
        ['truncated']
    """
    texts = {
        name: text
        for name, text in (("note_rationale", note_rationale), ("lab_rationale", lab_rationale))
        if text.strip()
    }
    findings: list[GateFinding] = []
    findings += _check_truncation(texts, finish_reason)
    findings += _check_repeats(cited, texts)
    findings += _check_claims(cited, ctx)
    findings += _check_concepts(cited, texts, ctx)
    findings += _check_diagnoses(texts, ctx)
    if ctx.check_pairs:
        findings += _check_pairs(texts, ctx)
    if ctx.evidence and not cited:
        findings.append(
            GateFinding(
                reason="no_evidence",
                detail=f"{len(ctx.evidence)} facts were given and none is cited",
            )
        )
    return findings


def sentence_findings(
    where: str, sentence: str, ctx: GateContext, *, need_claim: bool = False
) -> list[GateFinding]:
    """The gate's checks of one sentence on its own: is it whole, does it not go round in
    circles (no three words said twice), does it name a concept
    given, does it name only the admission's diagnoses, does it relate only concepts the
    graph relates (and, with ``need_claim``, at least two that it does).

    Args:
        where: The field it comes from (``note_rationale``), for the details.
        sentence: The sentence.
        ctx: What the teacher was given.
        need_claim: Refuse a sentence that relates no two concepts the graph relates
            (``no_graph_claim``: "Apolynia is diagnosed by blood culture." names one
            concept and an invented word); only with a graph.

    Returns:
        The findings (``truncated``, ``repeated_phrase``: three words said twice,
        ``no_concept``, ``diagnosis_outside_labels``, ``unsupported_pair``,
        ``no_graph_claim``); empty when the sentence may be kept.
    """
    texts = {where: sentence} if sentence.strip() else {}
    findings: list[GateFinding] = []
    findings += _check_truncation(texts, None)
    findings += _check_phrases(texts)
    findings += _check_concepts([], texts, ctx)
    findings += _check_diagnoses(texts, ctx)
    findings += _check_pairs(texts, ctx)
    lex = ctx.lexicon
    unverified = need_claim and texts and lex.store is not None and not findings
    if unverified and not any(pair.supported for pair in lex.pairs(sentence)):
        findings.append(
            GateFinding(
                reason="no_graph_claim",
                detail=f"{where} relates no two concepts that the graph relates: "
                f"{_quote(sentence)!r}",
            )
        )
    return findings
