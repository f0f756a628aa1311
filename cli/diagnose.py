"""``ctk diagnose``: diagnoses, rationale and the knowledge used, for one admission."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctk.cli.options import (
    JsonOpt,
    LegacyGraphOpt,
    MaxNewTokensOpt,
    NoRepeatNgram,
    RepetitionPenalty,
    StudentModelOpt,
    generation_kwargs,
    graph_option,
    open_cli_store,
)
from ctk.errors import ConfigError, DataError

if TYPE_CHECKING:
    from ctk.distill.inference import DiagnosisResult

__all__ = ["diagnose"]


def _read_admission(
    admission: Path | None, cohort: Path | None, admission_id: str | None
) -> object:
    from ctk.cohort import iter_admissions
    from ctk.jsonl import read_json_record
    from ctk.records import Admission

    if (admission is None) == (cohort is None):
        raise ConfigError(
            "give one admission: --admission FILE.json, or --cohort DIR (with --id)",
            hint="e.g. ctk diagnose --model out/model --cohort cohort --id 10001_episode1",
        )
    if admission is not None and admission.is_dir():  # the old meaning of --admission
        typer.echo("warning: a cohort folder goes to --cohort (with --id)", err=True)
        admission, cohort = None, admission
    path = admission if admission is not None else cohort
    assert path is not None
    if not path.exists():
        raise DataError(f"{path} does not exist", hint="pass an admission JSON or a cohort")
    if admission is not None:
        return read_json_record(
            admission,
            Admission,
            what="an admission record",
            hint="see docs/formats.md; a cohort folder goes to --cohort",
        )
    for adm in iter_admissions(path):
        if admission_id is None or adm.admission_id == admission_id:
            return adm
    raise DataError(
        f"admission {admission_id!r} is not in {path}", hint="check --id against the cohort"
    )


def diagnose(
    model: StudentModelOpt,
    admission: Annotated[
        Path | None,
        typer.Option("--admission", "-a", help="One admission: an Admission JSON file."),
    ] = None,
    cohort: Annotated[
        Path | None,
        typer.Option("--cohort", "-c", help="A cohort folder; the admission is chosen by --id."),
    ] = None,
    admission_id: Annotated[
        str | None,
        typer.Option("--id", help="Admission id in the --cohort (default: its first)."),
    ] = None,
    json_out: JsonOpt = False,
    max_new_tokens: MaxNewTokensOpt = 128,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Knowledge graph (embedded store file or Neo4j URI): also show the graph "
            "facts behind the diagnoses, with their PMIDs/pages, and remove rationale "
            "sentences that relate concepts the graph does not link.",
        ),
    ] = None,
    legacy_kg: LegacyGraphOpt = None,
    no_repeat_ngram: NoRepeatNgram = 6,
    repetition_penalty: RepetitionPenalty = 1.1,
) -> None:
    """Diagnose one admission: phenotypes, rationale, anomalies and knowledge used.

    Example: ctk diagnose --model out/model --cohort cohort --id 10001_episode1 --store kg.db
    """
    from transformers.utils import logging as hf_logging

    from ctk.distill.inference import diagnose_admission, load_student
    from ctk.records import Admission

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    adm = _read_admission(admission, cohort, admission_id)
    kg = graph_option(store, legacy_kg)
    assert isinstance(adm, Admission)
    student = load_student(model)
    generation = generation_kwargs(no_repeat_ngram, repetition_penalty)
    result = diagnose_admission(student, adm, max_new_tokens=max_new_tokens, generation=generation)
    if kg is not None:  # the diagnose layer: the student's output joined with graph facts
        from ctk.distill.rationale_claims import check_claims
        from ctk.kg.facts import graph_facts_for
        from ctk.teacher.concepts import ConceptLexicon

        with open_cli_store(kg, read_only=True) as reader:
            result.graph_facts = graph_facts_for(
                reader, result.diagnoses, knowledge_used=result.knowledge_used
            )
            checked = check_claims(result.rationale, ConceptLexicon(reader))
            result.rationale, result.rationale_unsupported = checked.text, checked.removed
    if json_out:
        typer.echo(json.dumps(result.model_dump(), indent=2))
        return
    _echo_result(result)


def _echo_result(result: DiagnosisResult) -> None:
    """Print a diagnosis for people: diagnoses, rationale (and what was removed), facts."""
    typer.echo(f"Admission {result.admission_id}")
    # one per line: phenotype names hold semicolons ("Congestive heart failure; nonhypertensive")
    typer.echo("Diagnoses:" + ("" if result.diagnoses else " none recognised"))
    for name in result.diagnoses:
        typer.echo(f"  - {name}")
    typer.echo("Rationale: " + (result.rationale or "(none generated)"))
    if result.rationale_removed:
        from ctk.phenotypes import phenotype_by_name

        short = [getattr(phenotype_by_name(n), "short_name", n) for n in result.rationale_removed]
        typer.echo(
            "  (removed from the generated rationale: the parts naming "
            f"{len(short)} phenotype(s) not diagnosed: {', '.join(short)}; "
            "--json shows the text as generated)"
        )
    if result.rationale_unfinished:
        typer.echo("  (removed: an unfinished last sentence, cut by --max-new-tokens)")
    if result.rationale_unsupported:
        typer.echo(
            f"  (removed: {len(result.rationale_unsupported)} sentence(s) claiming what the "
            "graph does not hold: " + " | ".join(result.rationale_unsupported) + ")"
        )
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
