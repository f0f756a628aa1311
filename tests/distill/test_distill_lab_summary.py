"""The diagnosis head's lab term: per-variable lab summaries computed inside the student."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from conftest import make_admissions, phase_batch, tiny_student_config

from ctk.distill.baseline import lab_summary_features
from ctk.distill.config import StudentConfig, default_lab_normalisation
from ctk.distill.data.examples import example_from_admission
from ctk.distill.modeling.diagnosis_head import DiagnosisHead, multi_hot
from ctk.distill.modeling.lab_summary import N_LAB_STATISTICS, LabSummary
from ctk.distill.modeling.student import ClinRaGenStudent
from ctk.lab_variables import PAPER_VARIABLES
from ctk.phenotypes import PHENOTYPE_NAMES, phenotypes

VARIABLES = list(PAPER_VARIABLES)


def _batch(admissions: list, max_hours: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """``[B, V, T]`` values and mask, shorter stays padded with unobserved hours."""
    examples = [example_from_admission(a, VARIABLES, max_hours) for a in admissions]
    t = max(e.labs.shape[1] for e in examples)
    values = np.zeros((len(examples), len(VARIABLES), t), dtype=np.float32)
    mask = np.zeros_like(values)
    for i, e in enumerate(examples):
        values[i, :, : e.labs.shape[1]] = e.labs
        mask[i, :, : e.lab_mask.shape[1]] = e.lab_mask
    return torch.from_numpy(values), torch.from_numpy(mask)


def test_the_summaries_are_the_lab_baselines_features_normalised() -> None:
    """Same statistics as ``ctk distill baseline``'s lab features, in the lab encoder's
    normalisation, for stays of different lengths padded into one batch."""
    admissions = make_admissions(n=4, hours=20, seed=3) + make_admissions(n=3, hours=9, seed=4)
    center, scale = default_lab_normalisation(VARIABLES)
    summary = LabSummary(center, scale, max_hours=64)
    got = summary(*_batch(admissions)).double().numpy()
    assert got.shape == (7, len(VARIABLES) * N_LAB_STATISTICS) == (7, 77)
    raw = lab_summary_features(admissions, variables=VARIABLES)
    c = np.repeat(np.array(center), N_LAB_STATISTICS).reshape(len(VARIABLES), -1)
    s = np.repeat(np.array(scale), N_LAB_STATISTICS).reshape(len(VARIABLES), -1)
    expected = raw.reshape(7, len(VARIABLES), N_LAB_STATISTICS).copy()
    expected[..., :4] = (expected[..., :4] - c[None, :, :4]) / s[None, :, :4]  # mean min max last
    expected[..., 4] = expected[..., 4] / s[None, :, 4]  # std
    # the lab encoder's normalisation clips at +-20 (the tests' 1-2 kg weights are -28):
    # compare the variables whose values all lie inside
    inside = (np.abs(expected[..., 1:3]) < 20).all(axis=(0, 2))
    assert inside.sum() >= 8
    got = got.reshape(7, len(VARIABLES), N_LAB_STATISTICS)
    np.testing.assert_allclose(got[:, inside], expected[:, inside], rtol=1e-4, atol=1e-4)
    assert (got[:, ~inside, 1:4] >= -20).all()  # clipped, not wrapped


def test_a_variable_never_observed_is_missing_not_abnormal() -> None:
    summary = LabSummary([0.0, 0.0], [1.0, 1.0], max_hours=8)
    values = torch.tensor([[[5.0, 5.0, 5.0, 0.0], [9.0, 9.0, 9.0, 9.0]]])
    mask = torch.tensor([[[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]])
    got = summary(values, mask).reshape(2, N_LAB_STATISTICS)
    # observed: mean 5, min 5, max 5, last 5, std 0, all abnormal (|5| > 1), 0 hours missing
    assert got[0].tolist() == [5.0, 5.0, 5.0, 5.0, 0.0, 1.0, 0.0]
    assert got[1].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def test_the_lab_term_alone_learns_a_lab_only_phenotype() -> None:
    """Shock is planted in the heart rate only (never in the note): a head with the lab
    term, given no useful states, separates it within 150 steps; without labs it cannot."""
    admissions = make_admissions(n=24, hours=20, seed=0)
    values, mask = _batch(admissions)
    truth = multi_hot([a.phenotypes for a in admissions])
    shock = [i for i, a in enumerate(admissions) if "Shock" in a.phenotypes]
    assert 0 < len(shock) < len(admissions)
    center, scale = default_lab_normalisation(VARIABLES)
    torch.manual_seed(0)
    head = DiagnosisHead(8, dropout=0.0, lab_summary=LabSummary(center, scale, 64))
    states, pooled = torch.zeros(len(admissions), 3, 8), torch.ones(len(admissions), 3)
    opt = torch.optim.Adam(head.parameters(), lr=3e-2)
    for _ in range(150):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            head(states, pooled, labs=values, lab_mask=mask), truth
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    col = PHENOTYPE_NAMES.index("Shock")
    with torch.no_grad():
        with_labs = torch.sigmoid(head(states, pooled, labs=values, lab_mask=mask))[:, col]
        without = torch.sigmoid(head(states, pooled))[:, col]
    predicted = (with_labs > 0.5).nonzero().flatten().tolist()
    assert predicted == shock
    assert torch.allclose(without, without[0].expand_as(without))  # no labs: one prior for all


def _student_with_lab_term(tiny_lm: Path) -> ClinRaGenStudent:
    """A tiny student whose head has the words and the lab term, the lab weights drawn at
    random (zero at init), in eval mode."""
    cfg = StudentConfig.model_validate(
        tiny_student_config(tiny_lm, classifier=True, classifier_words=True, classifier_labs=True)
    )
    student = ClinRaGenStudent.build(cfg, seed=0).eval()
    assert student.head is not None and student.head.labs is not None
    with torch.no_grad():
        student.head.labs.weight.normal_()  # zero at init: make the term count
    return student


def test_a_student_with_the_lab_term_saves_and_loads(
    tiny_lm: Path, tiny_cohort: Path, tmp_path: Path
) -> None:
    student = _student_with_lab_term(tiny_lm)
    batch = phase_batch(student, tiny_cohort, 3, 4)
    inputs = (batch["input_ids"], batch["attention_mask"], batch["labs"], batch["lab_mask"])
    before = student.classify(*inputs)
    no_labs = student.classify(batch["input_ids"], batch["attention_mask"])
    assert not torch.allclose(before, no_labs)  # the term reads the labs
    student.save_pretrained(tmp_path / "s")
    loaded = ClinRaGenStudent.from_pretrained(tmp_path / "s")
    assert loaded.config.student.classifier_labs
    assert torch.equal(loaded.classify(*inputs), before)


def test_head_probabilities_match_classify_in_any_batching(
    tiny_lm: Path, tiny_cohort: Path
) -> None:
    from ctk.distill.data.examples import build_examples
    from ctk.distill.inference import head_decisions, head_probabilities

    student = _student_with_lab_term(tiny_lm)
    cfg = student.config.student
    examples = build_examples(tiny_cohort, cfg.lab_variables, cfg.max_hours).examples[:5]
    probs = head_probabilities(student, examples, batch_size=2)
    assert probs.shape == (5, len(PHENOTYPE_NAMES))
    assert torch.allclose(probs, head_probabilities(student, examples, batch_size=5), atol=1e-6)
    batch = phase_batch(student, tiny_cohort, 3, 5)
    inputs = (batch["input_ids"], batch["attention_mask"], batch["labs"], batch["lab_mask"])
    threshold = cfg.classifier_threshold
    short = [p.short_name for p in phenotypes()]
    expected = [[short[j] for j in range(25) if float(row[j]) > threshold] for row in probs]
    assert head_decisions(student, *inputs) == expected


def test_the_word_term_reads_presence_or_log_counts() -> None:
    """Presence: a token said three times counts once; counts: log(1 + 3); padding never counts."""
    ids = torch.tensor([[5, 5, 5, 7, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    states = torch.zeros(1, 6, 4)
    logits = {}
    for counts in (False, True):
        head = DiagnosisHead(4, n_labels=2, dropout=0.0, vocab_size=10, word_counts=counts).eval()
        with torch.no_grad():
            head.score.weight.zero_(), head.score.bias.zero_()
            head.words.weight.zero_()  # type: ignore[union-attr]
            head.words.weight[0, 5] = 1.0  # type: ignore[union-attr]
            head.words.weight[1, 0] = 1.0  # the pad id: masked out
            logits[counts] = head(states, mask.float(), input_ids=ids, input_mask=mask)
    assert torch.allclose(logits[False], torch.tensor([[1.0, 0.0]]))
    assert torch.allclose(logits[True], torch.tensor([[float(np.log(4.0)), 0.0]]))
