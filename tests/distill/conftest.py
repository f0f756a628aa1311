"""Fixtures of the distillation tests: a tiny cohort and a tiny T5 built offline."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ctk.cohort import write_cohort
from ctk.lab_variables import PAPER_VARIABLES
from ctk.phenotypes import phenotypes
from ctk.records import Admission, ClinicalNote, LabSeries, Rationale

_NOTE_PHENOS = [p for p in phenotypes() if p.short_name != "shock"][:6]


def make_admissions(n: int = 24, hours: int = 20, seed: int = 0) -> list[Admission]:
    """Small admissions: notes name some phenotypes; high heart rate marks shock."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        chosen = rng.sample(_NOTE_PHENOS, rng.randint(0, 2))
        shock = i % 3 == 0
        names = [p.name for p in chosen] + (["Shock"] if shock else [])
        text = "Patient admitted. " + " ".join(f"History of {p.short_name}." for p in chosen)
        values: list[list[float | None]] = []
        for v in PAPER_VARIABLES:
            row: list[float | None] = []
            for _ in range(hours):
                if rng.random() < 0.3:
                    row.append(None)
                elif v == "Heart Rate":
                    row.append(150.0 + rng.random() * 5 if shock else 80.0 + rng.random() * 5)
                else:
                    row.append(1.0 + rng.random())
            values.append(row)
        labs = LabSeries(variables=list(PAPER_VARIABLES), hours=list(range(hours)), values=values)
        out.append(
            Admission(
                admission_id=f"a{i}",
                split="train" if i < n - 6 else "test",
                note=ClinicalNote(text=text),
                labs=labs,
                phenotypes=names,
                source="test",
            )
        )
    return out


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Iterator[None]:
    """Tiny models run fastest on one thread (and do not fight other jobs for cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 24-admission cohort folder (18 train, 6 test)."""
    folder = tmp_path_factory.mktemp("cohort")
    write_cohort(folder, make_admissions(), source="test")
    return folder


@pytest.fixture(scope="session")
def tiny_rationales(tmp_path_factory: pytest.TempPathFactory, tiny_cohort: Path) -> Path:
    """Rationale JSONL for all admissions but a2 and a3, plus a failed line for a2."""
    path = tmp_path_factory.mktemp("rat") / "rationales.jsonl"
    lines = []
    for adm in make_admissions():
        if adm.admission_id in ("a2", "a3"):
            continue
        lines.append(
            Rationale(
                admission_id=adm.admission_id,
                diagnoses=adm.phenotypes,
                note_rationale="The note says so.",
                lab_rationale="Heart rate is high." if "Shock" in adm.phenotypes else "",
            ).model_dump_json()
        )
    lines.append(Rationale(admission_id="a2", status="failed", error="x").model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_lm(
    tmp_path_factory: pytest.TempPathFactory, tiny_cohort: Path, tiny_rationales: Path
) -> Path:
    """A tiny T5 (d_model 32, 1 layer) with a word-level tokenizer trained on the cohort."""
    from ctk.distill.config import TinyLMSpec
    from ctk.distill.tiny import build_tiny_lm, cohort_texts

    spec = TinyLMSpec(d_model=32, d_ff=64, num_layers=1, num_heads=2, d_kv=16)
    texts = cohort_texts(tiny_cohort, rationales=tiny_rationales)
    return build_tiny_lm(tmp_path_factory.mktemp("lm"), texts, spec)


@pytest.fixture(scope="session")
def tiny_spm_lm(tmp_path_factory: pytest.TempPathFactory, tiny_cohort: Path) -> Path:
    """A tiny T5 with a SentencePiece (sub-word) tokenizer."""
    from ctk.distill.config import TinyLMSpec
    from ctk.distill.tiny import build_tiny_lm, cohort_texts

    spec = TinyLMSpec(
        d_model=32,
        d_ff=64,
        num_layers=1,
        num_heads=2,
        d_kv=16,
        vocab_size=400,
        tokenizer="sentencepiece",
    )
    return build_tiny_lm(tmp_path_factory.mktemp("spm"), cohort_texts(tiny_cohort), spec)


@pytest.fixture(scope="session")
def tiny_llama(
    tmp_path_factory: pytest.TempPathFactory, tiny_cohort: Path, tiny_rationales: Path
) -> Path:
    """A tiny random Llama (hidden 32, 2 layers): the decoder-only student of the tests."""
    from ctk.distill.config import TinyLMSpec
    from ctk.distill.tiny import build_tiny_lm, cohort_texts

    spec = TinyLMSpec(arch="llama", d_model=32, d_ff=64, num_layers=2, num_heads=2)
    texts = cohort_texts(tiny_cohort, rationales=tiny_rationales)
    return build_tiny_lm(tmp_path_factory.mktemp("llama"), texts, spec)


def tiny_student_config(lm: Path, **overrides: object) -> dict[str, object]:
    """Student settings for tests (tiny lab encoder)."""
    cfg: dict[str, object] = {
        "lm_path": str(lm),
        "lab_d_model": 16,
        "lab_layers": 1,
        "lab_heads": 2,
        "n_prototypes": 8,
        "ka_heads": 2,
        "lab_dropout": 0.1,
        "max_hours": 64,
    }
    cfg.update(overrides)
    return cfg


def tiny_run_config(
    cohort: Path, lm: Path, out: Path, *, steps: int = 3, **student: object
) -> dict[str, object]:
    """A run config dict for a few-step run."""
    return {
        "output_dir": str(out),
        "data": {"cohort": str(cohort)},
        "student": tiny_student_config(lm, **student),
        "train": {
            "seed": 7,
            "batch_size": 4,
            "warmup_steps": 1,
            "save_every": 2,
            "log_every": 1,
            "max_source_len": 64,
            "max_target_len": 48,
            "tensorboard": False,
            "phases": {
                1: {"lr": 1e-3, "max_steps": steps},
                2: {"lr": 1e-3, "max_steps": steps, "aux_weight": 0.5},
                3: {"lr": 1e-3, "max_steps": steps},
            },
        },
    }


def phase_batch(
    student: Any, cohort: Path, phase: int, n: int = 4, *, targets: bool = True
) -> dict[str, Any]:
    """A collated batch of the cohort's first ``n`` examples for ``phase`` (ids dropped)."""
    from ctk.distill.data.collator import PhaseCollator
    from ctk.distill.data.examples import build_examples

    s = student.config.student
    examples = build_examples(cohort, s.lab_variables, s.max_hours).examples[:n]
    batch: dict[str, Any] = PhaseCollator(
        student.tokenizer,
        phase,
        n_variables=len(s.lab_variables),
        use_labs=s.use_labs,
        max_source_len=64,
        max_target_len=48,
        with_targets=targets,
        causal=student.is_causal,
    )(examples)
    batch.pop("admission_ids")
    return batch
