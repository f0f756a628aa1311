"""Inputs of the viewer tests: a small cohort, its graph, template rationales, an eval folder.

Everything is made by ctk itself (the embedded store, ``write_cohort``, the
template teacher through ``ctk rationale generate``, the evaluation module's
scores); one admission's note and rationale carry ``<script>`` to test escaping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rationale_fixtures import HF, PNA, build_store, make_admissions

from ctk.cli.main import main
from ctk.cohort import write_cohort
from ctk.distill.baseline import run_baselines
from ctk.distill.evaluation import EvalReport, classification_scores, compare_with_baseline
from ctk.records import Admission, ClinicalNote

#: A note that must show as text, never run.
XSS_NOTE = 'Patient wrote <script>document.title="pwned"</script> & had heart failure <b>bold</b>.'
XSS_ID = "adm<x>&1"
#: What the fixture's student writes after its diagnoses: one relation the graph holds, one
#: it does not (dyspnea-edema), and a list naming a phenotype it may not predict (diabetes).
STUDENT_RATIONALE = (
    "Known: Furosemide treats heart failure. [E1] Dyspnea and edema are related. [E2] "
    "The note is consistent with the diagnoses: pneumonia; diabetes."
)


@dataclass(frozen=True)
class ViewInputs:
    """Paths of one set of viewer inputs."""

    cohort: Path
    store: Path
    rationales: Path
    eval_dir: Path
    cache: Path


def _ctk(argv: list[str]) -> None:
    try:
        main(argv)
    except SystemExit as e:
        assert not e.code, f"ctk {' '.join(argv)} exited with {e.code}"


def make_inputs(root: Path) -> ViewInputs:
    """Build the inputs under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    build_store(root / "kg.db").close()
    admissions = make_admissions(6)
    for a in admissions[4:]:
        a.split = "test"
    admissions.append(
        Admission(
            admission_id=XSS_ID,
            source="synthetic",
            split="train",
            note=ClinicalNote(text=XSS_NOTE),
            phenotypes=[HF],
        )
    )
    write_cohort(root / "cohort", admissions, source="synthetic")
    _ctk(
        [
            "rationale",
            "generate",
            "--cohort",
            str(root / "cohort"),
            "--store",
            str(root / "kg.db"),
            "--retriever",
            "graph",
            "--llm",
            "template",
            "--split",
            "train",
            "--out",
            str(root / "rationales.jsonl"),
        ]
    )
    eval_dir = root / "eval"
    eval_dir.mkdir()
    tested = [a for a in admissions if a.split == "test"]
    predicted = [[HF, PNA] for _ in tested]
    truth = [a.phenotypes for a in tested]
    micro, macro, per = classification_scores(truth, predicted)
    report = EvalReport(
        model="student",
        cohort=str(root / "cohort"),
        split="test",
        n=len(tested),
        micro=micro,
        macro=macro,
        per_phenotype=per,
    )
    compare_with_baseline(report, run_baselines(root / "cohort", "test"))  # the real baselines
    (eval_dir / "report.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    with (eval_dir / "predictions.jsonl").open("w", encoding="utf-8") as fh:
        for a, p in zip(tested, predicted, strict=True):
            line = {
                "admission_id": a.admission_id,
                "predicted": p,
                "true": a.phenotypes,
                "text": f"### Disease Diagnosed: {', '.join(p)}. ### Rationale: <i>x</i> "
                + STUDENT_RATIONALE,
            }
            fh.write(json.dumps(line) + "\n")
    return ViewInputs(
        cohort=root / "cohort",
        store=root / "kg.db",
        rationales=root / "rationales.jsonl",
        eval_dir=eval_dir,
        cache=root / "cache",
    )
