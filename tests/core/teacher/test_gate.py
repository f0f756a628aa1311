"""The quality gate on every teacher answer: each reason, repair then reject, grounded schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer
from rationale_fixtures import HF, build_store, make_admissions

from ctk.kg.stores.embedded import EmbeddedStore
from ctk.plugins.llm.openai_compat import OpenAIBackend
from ctk.plugins.llm.template import TemplateBackend
from ctk.plugins.retrievers.graph import GraphRetriever
from ctk.records import CitedFact, Rationale
from ctk.retrieval import EvidenceRecord
from ctk.teacher import GenerationConfig, check_rationales, generate_rationales, read_rationales
from ctk.teacher.gate import (
    NO_EVIDENCE_SENTENCE,
    ConceptLexicon,
    GateContext,
    gate_answer,
    is_cut_off,
)
from ctk.teacher.grounded import (
    compose_grounded,
    fact_claim,
    grounded_schema,
    parse_grounded_answer,
)

DYS = "ctk:dyspnea|symptom_of|ctk:heart_failure"
EDEMA = "ctk:edema|symptom_of|ctk:heart_failure"
TACHY = "ctk:tachycardia|associated_with|ctk:heart_failure"


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = build_store(tmp_path / "kg.db")
    yield s
    s.close()


def _ctx(store: EmbeddedStore | None, **extra: object) -> GateContext:
    evidence = [
        EvidenceRecord(id=DYS, text="Dyspnea is a symptom of heart failure."),
        EvidenceRecord(id=EDEMA, text="Edema is a symptom of heart failure."),
    ]
    values: dict[str, object] = {
        "diagnoses": [HF],
        "note_text": "Admitted with shortness of breath and leg oedema.",
        "captions": ["Heart rate is higher than normal 3 times (max 131)"],
        "evidence": evidence,
        "lexicon": ConceptLexicon(store),
    }
    values.update(extra)
    return GateContext(**values)  # type: ignore[arg-type]


GOOD_RM = "Shortness of breath and leg edema in the note point to heart failure."
GOOD_RT = "The fast heart rate fits a failing heart."
GOOD_CITED = [
    CitedFact(fact_id=DYS, claim="Dyspnea is a symptom of heart failure."),
    CitedFact(fact_id=EDEMA, claim="Oedema is common in CHF."),  # synonyms count
]


def reasons(findings: list[object]) -> list[str]:
    return sorted({f.reason for f in findings})  # type: ignore[attr-defined]


def test_a_good_answer_passes(store: EmbeddedStore) -> None:
    assert gate_answer(GOOD_RM, GOOD_RT, GOOD_CITED, _ctx(store)) == []


@pytest.mark.parametrize(
    ("text", "cut"),
    [
        ("The lab results confirm that theyve", True),
        ("Fits heart failure. [E1]", False),
        ("Fits heart failure (E1, E2).", False),
        ('He said "it fits."', False),
        ("It goes on...", True),
        ("", False),
    ],
)
def test_cut_off_sentences(text: str, cut: bool) -> None:
    assert is_cut_off(text) is cut


def test_each_reason(store: EmbeddedStore) -> None:
    ctx = _ctx(store)
    assert reasons(gate_answer(GOOD_RM, GOOD_RT, GOOD_CITED, ctx, finish_reason="length")) == [
        "truncated"
    ]
    assert reasons(gate_answer(GOOD_RM, "The lab results confirm that", GOOD_CITED, ctx)) == [
        "truncated"
    ]
    same = [
        CitedFact(fact_id=f, claim="Heart failure explains dyspnea and edema.")
        for f in (DYS, EDEMA)
    ]
    found = gate_answer(GOOD_RM, GOOD_RT, same, ctx)
    assert reasons(found) == ["repeated_claim"] and found[0].fact_id == EDEMA
    off = [
        CitedFact(fact_id=DYS, claim="A complete blood count was taken."),
        GOOD_CITED[1],
    ]
    found = gate_answer(GOOD_RM, GOOD_RT, off, ctx)
    assert reasons(found) == ["claim_off_fact"] and found[0].fact_id == DYS
    assert "neither end" in found[0].detail
    boiler = gate_answer(
        "The patient's diagnosis fits the clinical note perfectly.",
        "The lab results confirm the diagnosis.",
        GOOD_CITED,
        ctx,
    )
    assert reasons(boiler) == ["no_concept"]
    outside = gate_answer(GOOD_RM, "The values also suggest pneumonia.", GOOD_CITED, ctx)
    assert reasons(outside) == ["diagnosis_outside_labels"]
    assert "pneumonia" in outside[0].detail
    assert reasons(gate_answer(GOOD_RM, GOOD_RT, [], ctx)) == ["no_evidence"]
    twice = "Dyspnea points to heart failure here. Dyspnea points to heart failure here."
    assert reasons(gate_answer(twice, GOOD_RT, GOOD_CITED, ctx)) == ["repeated_sentence"]


def test_grounded_claims_must_name_both_ends(store: EmbeddedStore) -> None:
    one_end = [CitedFact(fact_id=DYS, claim="Dyspnea is common."), GOOD_CITED[1]]
    assert gate_answer(GOOD_RM, GOOD_RT, one_end, _ctx(store)) == []
    found = gate_answer(GOOD_RM, GOOD_RT, one_end, _ctx(store, claim_ends=2))
    assert reasons(found) == ["claim_off_fact"] and "only one end" in found[0].detail


def test_diagnosis_check_ignores_cited_knowledge_and_the_labels_own_names(
    store: EmbeddedStore,
) -> None:
    rm = "Known: fever is a symptom of pneumonia. [E3] The note points to congestive heart failure."
    assert gate_answer(rm, GOOD_RT, GOOD_CITED, _ctx(store)) == []


def test_unsupported_pairs_are_refused_only_when_asked(store: EmbeddedStore) -> None:
    # GOOD_RM relates dyspnea and edema (both findings of heart failure, no edge between them)
    assert gate_answer(GOOD_RM, GOOD_RT, GOOD_CITED, _ctx(store)) == []
    found = gate_answer(GOOD_RM, GOOD_RT, GOOD_CITED, _ctx(store, check_pairs=True))
    assert reasons(found) == ["unsupported_pair"]
    assert "'dyspnea' and 'edema'" in found[0].detail and "note_rationale" in found[0].detail
    supported = "Shortness of breath points to heart failure; so does the leg edema."
    assert gate_answer(supported, GOOD_RT, GOOD_CITED, _ctx(store, check_pairs=True)) == []


def _grounded_ctx(store: EmbeddedStore | None) -> GateContext:
    evidence = [
        EvidenceRecord(id=DYS, text="..."),
        EvidenceRecord(id=EDEMA, text="..."),
        EvidenceRecord(id=TACHY, text="..."),
    ]
    return _ctx(
        store,
        evidence=evidence,
        captions=["Tachycardia: heart rate higher than normal 3 times (max 131)"],
        claim_ends=2,
        check_pairs=True,
    )


def test_compose_grounded_keeps_sentences_that_pass_and_adds_the_picked_facts(
    store: EmbeddedStore,
) -> None:
    ctx = _grounded_ctx(store)
    lex = ctx.lexicon
    cited = [
        CitedFact(fact_id=f, claim=fact_claim(EvidenceRecord(id=f, text=""), lex))
        for f in (DYS, TACHY)
    ]
    out = compose_grounded(
        "Dyspnea and edema point to heart failure.", "Tachycardia fits heart failure.", cited, ctx
    )
    # the model's Rm relates dyspnea and edema: dropped; its Rt is an edge: kept
    assert [f.reason for f in out.dropped] == ["unsupported_pair"]
    assert out.dropped[0].detail.startswith("dropped: note_rationale relates")
    assert out.kept_sentences == 1
    assert out.note_rationale == "Known: Dyspnea is a symptom of heart failure. [E1]"
    assert out.lab_rationale == (
        "Tachycardia fits heart failure. Known: Tachycardia is associated with heart failure. [E3]"
    )  # tachycardia is named in the lab anomalies: Rt
    assert gate_answer(out.note_rationale, out.lab_rationale, cited, ctx) == []
    # a sentence that already says the fact is not repeated; --no-gate keeps every sentence
    said = compose_grounded("Dyspnea is a symptom of heart failure.", "", cited[:1], ctx)
    assert said.note_rationale == "Dyspnea is a symptom of heart failure."
    raw = compose_grounded("Dyspnea and edema.", "", [], ctx, check_sentences=False)
    assert raw.note_rationale == "Dyspnea and edema." and not raw.dropped


@pytest.mark.parametrize(
    ("rm", "reason"),
    [
        ("Dyspnea also suggests pneumonia.", "diagnosis_outside_labels"),
        ("The patient's diagnosis fits the note perfectly.", "no_concept"),
        ("Dyspnea points to heart failure and", "truncated"),
        ("Dyspnea was noted on the ward.", "no_graph_claim"),  # nothing the graph can vouch for
        (  # what SmolLM2 wrote with the sentence bounded (every pair an edge)
            "Heart failure: dyspnea in heart failure: edema in heart failure: dyspnea.",
            "repeated_phrase",
        ),
    ],
)
def test_compose_grounded_drops_each_kind_of_bad_sentence(
    store: EmbeddedStore, rm: str, reason: str
) -> None:
    out = compose_grounded(rm, "", [], _grounded_ctx(store))
    assert [f.reason for f in out.dropped] == [reason] and out.note_rationale == ""


def test_without_a_graph_ids_stand_for_names() -> None:
    assert gate_answer(GOOD_RM, GOOD_RT, GOOD_CITED[:1], _ctx(None)) == []
    off = [CitedFact(fact_id=DYS, claim="Unrelated words only.")]
    assert reasons(gate_answer(GOOD_RM, GOOD_RT, off, _ctx(None))) == ["claim_off_fact"]


# --------------------------------------------------------------------------- through the run


def _openai(server: FakeOpenAIServer) -> OpenAIBackend:
    return OpenAIBackend(
        {
            "base_url": server.base_url,
            "model": "m",
            "backoff_s": 0.01,
            "timeout_s": 5.0,
            "structured_output": "json_object",
        }
    )


def _run(
    store: EmbeddedStore, srv: FakeOpenAIServer, out: Path, n: int = 1, **cfg: object
) -> object:
    return generate_rationales(
        make_admissions(n),
        retriever=GraphRetriever(store=store),
        backend=_openai(srv),
        out=out,
        store=store,
        config=GenerationConfig(concurrency=1, use_cache=False, **cfg),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("truncated", "truncated"),
        ("repeated", "repeated_claim"),
        ("off_fact", "claim_off_fact"),
        ("boilerplate", "no_concept"),
        ("outside_labels", "diagnosis_outside_labels"),
        ("empty", "empty_answer"),
        ("invalid_json", "not_json"),
        ("wrong_shape", "wrong_shape"),
        ("bad_cite", "unknown_fact"),
    ],
)
def test_scripted_server_answers_are_repaired_then_rejected(
    store: EmbeddedStore, tmp_path: Path, behaviour: str, reason: str
) -> None:
    out = tmp_path / "r.jsonl"
    with FakeOpenAIServer(default=behaviour) as srv:
        summary = _run(store, srv, out)
        assert srv.calls == 2  # the answer, then one repair
        repair = srv.requests[1]["messages"][-1]["content"]
        assert "could not be used" in repair and reason in repair
    (record,) = list(read_rationales(out))
    assert record.status == "rejected" and record.repaired
    assert reason in {f.reason for f in record.gate_reasons}
    assert summary.rejected == 1 and summary.generated == 0  # type: ignore[attr-defined]
    assert summary.gate_reasons.get(reason) == 1  # type: ignore[attr-defined]
    raw = json.loads(out.read_text().splitlines()[0])
    assert raw["schema_version"] == 3 and raw["gate_reasons"]


def test_a_repaired_answer_is_ok_and_says_so(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    with FakeOpenAIServer() as srv:
        srv.script("off_fact", "ok")
        summary = _run(store, srv, out)
    (record,) = list(read_rationales(out))
    assert record.status == "ok" and record.repaired and not record.gate_reasons
    assert summary.repaired == 1 and summary.repair_reasons == {"claim_off_fact": 1}  # type: ignore[attr-defined]


def test_retry_rejected_generates_only_those(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    with FakeOpenAIServer() as srv:
        srv.script("boilerplate", "boilerplate")
        first = _run(store, srv, out, n=3)
        assert first.rejected == 1  # type: ignore[attr-defined]
        kept = _run(store, srv, out, n=3)
        assert kept.rejected_earlier == 1 and kept.skipped_existing == 3  # type: ignore[attr-defined]
        srv.reset()
        again = _run(store, srv, out, n=3, retry_rejected=True)
        assert srv.calls == 1
    assert (again.generated, again.skipped_existing) == (1, 2)  # type: ignore[attr-defined]
    assert [r.status for r in read_rationales(out)] == ["ok", "ok", "ok"]


def test_grounded_schema_offers_only_retrieved_ids_per_diagnosis(store: EmbeddedStore) -> None:
    evidence = [
        EvidenceRecord(id=DYS, text="Dyspnea is a symptom of heart failure."),
        EvidenceRecord(id="ctk:fever|symptom_of|ctk:pneumonia", text="Fever ... pneumonia."),
        EvidenceRecord(id=EDEMA, text="Edema is a symptom of heart failure."),
    ]
    schema = grounded_schema(
        evidence,
        [HF, "Pneumonia (except that caused by tuberculosis or sexually transmitted disease)"],
        ConceptLexicon(store),
    )
    support = schema["properties"]["support"]
    assert support["required"] == ["congestive heart failure", "pneumonia"]
    hf = support["properties"]["congestive heart failure"]
    assert hf["items"]["enum"] == ["E1", "E3"] and hf["minItems"] == 1
    assert support["properties"]["pneumonia"]["items"]["enum"] == ["E2"]
    answer = json.dumps(
        {
            "support": {"congestive heart failure": ["E3", "E1"], "pneumonia": ["E2"]},
            "note_rationale": "x" * 30,
            "lab_rationale": "y" * 30,
        }
    )
    _, cited = parse_grounded_answer(answer, evidence, ConceptLexicon(store))
    assert [c.fact_id for c in cited] == [EDEMA, DYS, "ctk:fever|symptom_of|ctk:pneumonia"]
    assert cited[0].claim == "Edema is a symptom of heart failure."


def test_fact_claim_names_both_ends_without_a_graph() -> None:
    ev = EvidenceRecord(id="ctk:furosemide|treats|ctk:heart_failure#e0", text="...")
    assert fact_claim(ev) == "Furosemide treats heart failure."


def test_grounded_run_through_the_scripted_server(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    with FakeOpenAIServer(default="grounded") as srv:
        summary = _run(store, srv, out, n=2, prompt="teacher_grounded", max_tokens=600)
        schema = srv.requests[0]["response_format"]["schema"]
    enum = schema["properties"]["support"]["properties"]["congestive heart failure"]["items"]
    records = list(read_rationales(out))
    assert summary.generated == 2, [r.gate_reasons for r in records]  # type: ignore[attr-defined]
    for r in records:
        assert r.status == "ok" and r.prompt_version == "teacher_grounded@2"
        assert r.cited_facts and {c.fact_id for c in r.cited_facts} <= set(r.evidence_ids)
        aliases = {f"E{i}": e for i, e in enumerate(r.evidence_ids, start=1)}
        assert {aliases[a] for a in enum["enum"]} <= set(r.evidence_ids)
        # the scripted Rm relates dyspnea and edema: dropped and recorded; the facts are added
        assert [f.reason for f in r.gate_reasons] == ["unsupported_pair"]
        assert r.gate_reasons[0].detail.startswith("dropped: ")
        assert "dyspnea and edema" not in r.note_rationale
        assert r.lab_rationale.startswith("Tachycardia in the vital signs fits heart failure.")
        assert all(c.claim in f"{r.note_rationale} {r.lab_rationale}" for c in r.cited_facts)
    assert summary.model_sentences_dropped == {"unsupported_pair": 2}  # type: ignore[attr-defined]
    assert summary.model_sentences_kept == 2  # type: ignore[attr-defined]
    report = check_rationales(records, store)
    assert report.pairs > 0 and report.support_rate == 1.0


def test_free_form_answers_refuse_unsupported_pairs_when_asked(
    store: EmbeddedStore, tmp_path: Path
) -> None:
    with FakeOpenAIServer(default="unsupported_pair") as srv:
        lenient = _run(store, srv, tmp_path / "a.jsonl")
        assert srv.calls == 1 and lenient.generated == 1  # type: ignore[attr-defined]
        strict = _run(store, srv, tmp_path / "b.jsonl", require_supported_pairs=True)
        assert srv.calls == 3  # the answer, then one repair
    assert strict.gate_reasons == {"unsupported_pair": 1}  # type: ignore[attr-defined]
    (record,) = list(read_rationales(tmp_path / "b.jsonl"))
    assert record.status == "rejected" and "'cough' and 'insulin'" in record.gate_reasons[0].detail


def test_template_backend_answers_the_grounded_prompt(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    summary = generate_rationales(
        make_admissions(3),
        retriever=GraphRetriever(store=store),
        backend=TemplateBackend(),
        out=out,
        store=store,
        config=GenerationConfig(prompt="teacher_grounded"),
    )
    assert summary.generated == 3 and summary.rejected == 0
    assert all(r.cited_facts for r in read_rationales(out))


def test_empty_retrieval_says_so(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    with FakeOpenAIServer(default="uncited") as srv:
        generate_rationales(
            make_admissions(1),
            retriever=GraphRetriever(store=store, options={"min_weight": 99.0}),
            backend=_openai(srv),
            out=out,
            store=store,
            config=GenerationConfig(use_cache=False),
        )
    (record,) = list(read_rationales(out))
    assert record.evidence_ids == [] and record.cited_facts == []
    assert record.status == "ok" and NO_EVIDENCE_SENTENCE in record.note_rationale


def test_version_2_records_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text(json.dumps({"schema_version": 2, "admission_id": "a", "status": "ok"}) + "\n")
    (record,) = list(read_rationales(path))
    assert isinstance(record, Rationale) and record.gate_reasons == [] and not record.repaired


def test_an_empty_fact_list_is_closed_for_llama_cpp() -> None:
    """llama.cpp reads ``{"type": "array", "maxItems": 0}`` without ``items`` as any array."""
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    schema = grounded_schema([], [HF])
    empty = schema["properties"]["support"]["properties"]["congestive heart failure"]
    assert empty["maxItems"] == 0 and "items" in empty
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    assert "value ::=" not in grammar  # no free JSON value anywhere in the answer


def test_the_sentence_pattern_bounds_words_not_characters() -> None:
    """A small model cannot run one sentence on to the token limit, and llama.cpp gets one
    grammar rule per word (per character, as ``maxLength`` gives, sampled far too slowly)."""
    import re

    from ctk.teacher.grounded import SENTENCE_MAX_WORDS, SENTENCE_PATTERN, WORD_MAX_CHARS

    assert re.match(SENTENCE_PATTERN, "Dyspnea points to heart failure (NYHA III).")
    assert re.match(SENTENCE_PATTERN, "Findings: dyspnea, edema; tachycardia.")
    assert not re.match(SENTENCE_PATTERN, "Dyspnea.")
    # what SmolLM2 wrote once the words were bounded and their length was not
    mashed = "Diabetes with " + "Complications:Dysbiosis:Ketosis:" * 3 + "x."
    assert not re.match(SENTENCE_PATTERN, mashed)
    assert not re.match(SENTENCE_PATTERN, f"A long {'y' * (WORD_MAX_CHARS + 1)} word.")
    words = ["Dyspnea"] + ["and"] * (SENTENCE_MAX_WORDS - 1)
    assert re.match(SENTENCE_PATTERN, " ".join(words) + ".")
    assert not re.match(SENTENCE_PATTERN, " ".join([*words, "edema"]) + ".")
    llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")
    schema = {
        "type": "object",
        "properties": {"s": {"type": "string", "pattern": SENTENCE_PATTERN}},
    }
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(schema))
    assert grammar.count("(") < 3 * SENTENCE_MAX_WORDS
