"""Valid diagnoses by construction (seq2seq and decoder-only), real words, the grammar itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import phase_batch, tiny_student_config

from ctk.distill.config import StudentConfig
from ctk.distill.constrained import (
    DiagnosisConstraint,
    DiagnosisGrammar,
    FactConstraint,
    rationale_facts,
    vocabulary_index,
)
from ctk.distill.data.examples import build_examples
from ctk.distill.inference import generate_texts, head_decisions
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.distill.targets import DIAGNOSIS_HEADER, parse_diagnoses, split_generation
from ctk.distill.tiny import cohort_texts
from ctk.distill.tokenizer import train_word_tokenizer
from ctk.phenotypes import phenotype_by_name, phenotypes

SHORT = [p.short_name for p in phenotypes()]


def _valid_diagnosis_part(text: str) -> list[str]:
    """The short names of a grammar-valid diagnosis part; fails the test otherwise."""
    assert text.startswith(DIAGNOSIS_HEADER + " "), text[:80]
    body, _ = split_generation(text)
    assert body.endswith("."), body
    items = body[:-1].split(", ")
    if items == ["none"]:
        return []
    assert all(i in SHORT for i in items), items
    idx = [SHORT.index(i) for i in items]
    assert idx == sorted(set(idx)), items  # benchmark order, each once
    return items


def _student(lm: Path, seed: int = 0, **cfg: object) -> ClinRaGenStudent:
    return ClinRaGenStudent.build(StudentConfig(**tiny_student_config(lm, **cfg)), seed=seed)


def test_grammar_admits_only_phenotype_lists() -> None:
    g = DiagnosisGrammar()
    ok = [
        "### Disease Diagnosed: none.",
        "### Disease Diagnosed: sepsis, shock.",
        " ### Disease Diagnosed: acute renal failure, copd. ### Rationale: anything at all",
    ]
    for text in ok:
        assert g.walk(g.start(), text) is not None, text
    bad = [
        "### Disease Diagnosed: sepsisis.",  # not a name
        "### Disease Diagnosed: shock, sepsis.",  # not benchmark order
        "### Disease Diagnosed: sepsis, sepsis.",  # twice
        "### Disease Diagnosed: none, sepsis.",  # none is alone
        "### Disease Diagnosed: sepsis. Rationale",  # only EOS or the rationale header
        "Disease: sepsis.",
    ]
    for text in bad:
        assert g.walk(g.start(), text) is None, text
    assert g.accepts_end(g.walk(g.start(), "### Disease Diagnosed: shock.") or ("x",))
    forced = g.start(["copd", "shock"])
    assert g.walk(forced, "### Disease Diagnosed: copd, shock.") == ("after", 0)
    assert g.walk(g.start(), "  ### Disease Diagnosed: none.") is None  # one leading space at most
    assert g.walk(forced, "### Disease Diagnosed: copd.") is None


@pytest.mark.parametrize("lm_fixture", ["tiny_lm", "tiny_spm_lm", "tiny_llama"])
def test_untrained_students_write_valid_diagnoses(
    lm_fixture: str, request: pytest.FixtureRequest, tiny_cohort: Path
) -> None:
    """Random weights, seq2seq and decoder-only, word and sub-word tokenizers: every
    generated diagnosis part is a valid phenotype list; unconstrained, it is not."""
    lm = request.getfixturevalue(lm_fixture)
    student = _student(lm)
    s = student.config.student
    examples = build_examples(tiny_cohort, s.lab_variables, s.max_hours, split=None).examples[:6]
    texts = generate_texts(student, examples, max_new_tokens=120, max_source_len=64)
    for text in texts:
        _valid_diagnosis_part(text)
    free = generate_texts(student, examples, max_new_tokens=30, max_source_len=64, constrain=False)
    assert not any(t.startswith(DIAGNOSIS_HEADER) for t in free)  # the constraint did it


@pytest.mark.parametrize("lm_fixture", ["tiny_lm", "tiny_llama"])
def test_head_decisions_are_what_the_text_says(
    lm_fixture: str, request: pytest.FixtureRequest, tiny_cohort: Path
) -> None:
    lm = request.getfixturevalue(lm_fixture)
    student = _student(lm, seed=3, classifier=True, classifier_threshold=0.5)
    assert student.head is not None
    with torch.no_grad():  # spread the random head's scores so that it names some phenotypes
        student.head.score.bias.copy_(torch.linspace(-3, 3, len(SHORT)))
    s = student.config.student
    examples = build_examples(tiny_cohort, s.lab_variables, s.max_hours, split=None).examples[:4]
    texts = generate_texts(student, examples, max_new_tokens=120, max_source_len=64)
    from ctk.distill.data.collator import PhaseCollator

    batch = PhaseCollator(
        student.tokenizer,
        3,
        n_variables=len(s.lab_variables),
        use_labs=True,
        max_source_len=64,
        with_targets=False,
        causal=student.is_causal,
    )(examples)
    decided = head_decisions(
        student, batch["input_ids"], batch["attention_mask"], batch["labs"], batch["lab_mask"]
    )
    assert any(decided) and any(len(d) < len(SHORT) for d in decided)
    for text, names in zip(texts, decided, strict=True):
        assert _valid_diagnosis_part(text) == names
        wanted = [n for n in (phenotype_by_name(x) for x in names) if n is not None]
        assert parse_diagnoses(text) == [p.name for p in wanted]
    # the text-only path is one option away and still valid
    for text in generate_texts(
        student, examples, max_new_tokens=120, max_source_len=64, use_head=False
    ):
        _valid_diagnosis_part(text)


def test_constraint_masks_all_but_the_grammar(tiny_lm: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_lm))
    index = vocabulary_index(tok)
    constraint = DiagnosisConstraint(index)
    scores = torch.zeros(1, len(tok))
    start = torch.zeros(1, 1, dtype=torch.long)  # a seq2seq decoder start token
    out = constraint(start, scores.clone())
    allowed = torch.isfinite(out[0]).nonzero().flatten().tolist()
    assert allowed and all(tok.decode([i]).strip().startswith("#") for i in allowed)
    assert len(allowed) < len(tok) // 10


def test_word_tokenizer_writes_only_words_it_read(
    tiny_lm: Path, tiny_cohort: Path, tiny_rationales: Path
) -> None:
    """A word-level student writes words of its training texts, trained or not."""
    student = _student(tiny_lm, seed=5)
    s = student.config.student
    examples = build_examples(tiny_cohort, s.lab_variables, s.max_hours, split=None).examples[:4]
    texts = generate_texts(
        student,
        examples,
        max_new_tokens=60,
        max_source_len=64,
        generation={"min_new_tokens": 30},
        constrain=False,
    )
    known = {w for t in cohort_texts(tiny_cohort, rationales=tiny_rationales) for w in t.split()}
    words = [w for t in texts for w in t.split()]
    assert len(words) >= 4 * 30, texts
    assert [w for w in words if w not in known] == []


@pytest.mark.parametrize("lm_fixture", ["tiny_lm", "tiny_llama"])
def test_head_with_words_trains_and_survives_save_and_load(
    lm_fixture: str, request: pytest.FixtureRequest, tiny_cohort: Path, tmp_path: Path
) -> None:
    """The bag-of-words term learns the planted words; the head is part of the saved model."""

    lm = request.getfixturevalue(lm_fixture)
    student = _student(lm, seed=1, classifier=True, classifier_words=True)
    assert student.head is not None and student.head.words is not None
    batch = phase_batch(student, tiny_cohort, 1, n=12)
    opt = torch.optim.AdamW(student.head.parameters(), lr=5e-2)
    student.train()
    losses = []
    for _ in range(30):
        out = student(**batch)
        assert out.head_loss is not None and out.loss is not None
        losses.append(float(out.head_loss.detach()))
        opt.zero_grad()
        out.head_loss.backward()
        opt.step()
    assert losses[-1] < 0.5 * losses[0]
    student.eval()
    batch.pop("labels"), batch.pop("diagnosis_labels")
    probs = student.classify(**batch)
    student.save_pretrained(tmp_path / "s")
    again = ClinRaGenStudent.from_pretrained(tmp_path / "s")
    assert again.config.student.classifier_words and again.head is not None
    assert torch.allclose(again.classify(**batch), probs, atol=1e-5)


def test_rationale_facts_are_the_stated_sentences() -> None:
    texts = [
        "Known: Furosemide treats heart failure. [E1] Known: Sepsis causes shock. [E2]",
        "Lab anomalies: x. Related knowledge: Hypoxemia is associated with respiratory failure.",
        "Known: Furosemide treats heart failure. [E3] No fact here.",
    ]
    assert rationale_facts(texts) == [
        "Furosemide treats heart failure.",
        "Hypoxemia is associated with respiratory failure.",
        "Sepsis causes shock.",
    ]


FACTS = ["Sepsis causes shock.", "Sepsis causes acute renal failure.", "Furosemide treats edema."]


def _fact_tokenizer(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    if kind == "sentencepiece":
        return _student(request.getfixturevalue("tiny_spm_lm")).tokenizer
    texts = [
        "### Disease Diagnosed: none. ### Rationale: The note says so.",
        *(f"Known: {f} [E1] Related knowledge: {f}" for f in FACTS),
        "Sepsis treats nothing. Shock causes edema, acute failure.",
    ]
    return train_word_tokenizer(texts, tmp_path, split_punctuation=kind == "word-split")


@pytest.mark.parametrize("kind", ["word", "word-split", "sentencepiece"])
def test_a_stated_fact_is_a_taught_one(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """After 'Known:' only a taught fact can be written, whatever the scores; then text is free.

    Word-level (whole words, or punctuation split) and sub-word tokenizers; random scores,
    many draws (the constraint reads decoded text, so seq2seq and decoder-only alike).
    """
    tok = _fact_tokenizer(kind, tmp_path, request)
    index = vocabulary_index(tok)

    def state(text: str, draw: int) -> str:
        """The fact the constraint lets random scores write after ``text``."""
        constraint = FactConstraint(index, FACTS)
        constraint.start = 1  # position 0 stands for a decoder start token
        ids = [0, *tok(text, add_special_tokens=False)["input_ids"]]
        gen = torch.Generator().manual_seed(draw)
        for _ in range(40):
            scores = torch.randn(1, len(tok), generator=gen)
            masked = constraint(torch.tensor([ids]), scores.clone())
            if torch.isfinite(masked).all():  # free again: the fact is complete
                break
            assert int(torch.isfinite(masked).sum()) < len(tok) // 4
            ids.append(int(masked.argmax()))
        written = "".join(index.text.get(i, "") for i in ids[1:]).rsplit("Known:", 1)[1].strip()
        found = [f for f in FACTS if written.startswith(f)]
        assert found, written
        return found[0]

    start = "### Disease Diagnosed: none. ### Rationale: Known:"
    assert len({state(start, draw) for draw in range(12)}) >= 2  # the scores chose
    # a fact already stated in the rationale is not stated again
    again = f"### Disease Diagnosed: none. ### Rationale: Known: {FACTS[0]} [E1] Known:"
    assert all(state(again, draw) != FACTS[0] for draw in range(8))
    # without a trigger, or once a fact is complete, the scores are left alone
    free = FactConstraint(index, FACTS)
    free.start = 1
    plain = tok("### Disease Diagnosed: none. ### Rationale: shock", add_special_tokens=False)
    scores = torch.randn(1, len(tok))
    assert torch.equal(free(torch.tensor([[0, *plain["input_ids"]]]), scores.clone()), scores)
