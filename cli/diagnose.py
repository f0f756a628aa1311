"""``ctk diagnose``: diagnoses, rationale and the knowledge used, for one admission."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ctk.errors import DataError

__all__ = ["diagnose"]


def _read_admission(path: Path, admission_id: str | None) -> object:
    from ctk.cohort import iter_admissions
    from ctk.records import Admission

    if not path.exists():
        raise DataError(f"{path} does not exist", hint="pass an admission JSON or a cohort")
    if path.is_file() and path.suffix == ".json":
        try:
            return Admission.model_validate_json(path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise DataError(
                f"{path} is not an admission record: {e}", hint="see docs/formats.md"
            ) from e
    for adm in iter_admissions(path):
        if admission_id is None or adm.admission_id == admission_id:
            return adm
    raise DataError(
        f"admission {admission_id!r} is not in {path}", hint="check --id against the cohort"
    )


def diagnose(
    model: Annotated[Path, typer.Option("--model", "-m", help="A saved student folder.")],
    admission: Annotated[
        Path,
        typer.Option("--admission", "-a", help="An Admission JSON file, or a cohort (with --id)."),
    ],
    admission_id: Annotated[
        str | None, typer.Option("--id", help="Admission id in a cohort (default: the first).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=1)] = 128,
    kg: Annotated[
        str | None,
        typer.Option(
            "--kg",
            help="Knowledge graph (embedded store file or neo4j:// URI): also show the graph "
            "facts behind the diagnoses, with their PMIDs/pages.",
        ),
    ] = None,
) -> None:
    """Diagnose one admission: phenotypes, rationale, anomalies and knowledge used.

    Example: ctk diagnose --model out/model --admission cohort --id 10001_episode1 --kg kg.db
    """
    from transformers.utils import logging as hf_logging

    from ctk.distill.inference import diagnose_admission, load_student
    from ctk.records import Admission

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    adm = _read_admission(admission, admission_id)
    assert isinstance(adm, Admission)
    student = load_student(model)
    result = diagnose_admission(student, adm, max_new_tokens=max_new_tokens)
    if kg is not None:  # the diagnose layer: the student's output joined with graph facts
        from ctk.cli.options import open_cli_store
        from ctk.kg.facts import graph_facts_for

        with open_cli_store(kg, read_only=True) as store:
            result.graph_facts = graph_facts_for(
                store, result.diagnoses, knowledge_used=result.knowledge_used
            )
    if json_out:
        typer.echo(json.dumps(result.model_dump(), indent=2))
        return
    typer.echo(f"Admission {result.admission_id}")
    typer.echo("Diagnoses: " + (", ".join(result.diagnoses_short) or "none recognised"))
    typer.echo("Rationale: " + (result.rationale or "(none generated)"))
    if result.anomaly_captions:
        typer.echo("Lab anomalies:")
        for c in result.anomaly_captions:
            typer.echo(f"  - {c}")
    if result.knowledge_used:
        typer.echo("Knowledge used: " + ", ".join(result.knowledge_used))
    if result.graph_facts:
        typer.echo("Graph facts behind the diagnoses:")
        for f in result.graph_facts:
            docs = ", ".join(f.documents[:3])
            typer.echo(f"  - [{f.fact_id}] {f.claim} (weight {f.weight:.2f}; {docs})")
