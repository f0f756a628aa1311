"""``ctk rationale``: generate teacher rationales and check them against the graph."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctk.cli.options import (
    ApiKeyEnvOpt,
    BaseUrlOpt,
    CohortOpt,
    EndpointsOpt,
    GraphOpt,
    LegacyGraphOpt,
    LlmOpt,
    LlmOptionOpt,
    ModelOpt,
    backend_settings,
    graph_option,
    llm_servers,
    open_cli_store,
    parse_options,
)
from ctk.cli.plugins import installed_names

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from ctk.teacher import CheckReport, GenerationProgress, GenerationSummary, Teacher

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Generate teacher rationales (retrieval + LLM) and check them against the graph.\n\n"
        "Example: ctk rationale generate --cohort cohort --store kg.db --retriever graph "
        "--llm template --out rationales.jsonl && "
        "ctk rationale check rationales.jsonl --store kg.db"
    ),
    no_args_is_help=True,
)


def _default_index(kg: str | None, out: Path) -> Path:
    from ctk.kg.stores import is_neo4j_uri

    if kg and not is_neo4j_uri(kg):
        return Path(kg).with_name(Path(kg).name + ".index")
    return out.with_name(out.name + ".index")


@app.command()
def generate(
    cohort: CohortOpt,
    out: Annotated[Path, typer.Option(help="Output JSONL of rationales (appended to; resumable).")],
    store: GraphOpt = None,
    legacy_kg: LegacyGraphOpt = None,
    retriever: Annotated[
        str,
        typer.Option(
            help=f"Retriever plugin (installed: {installed_names('ctk.retrievers')}); "
            "`ctk plugins show NAME` lists its options."
        ),
    ] = "graph",
    retriever_option: Annotated[
        list[str] | None,
        typer.Option(
            "--retriever-option",
            metavar="KEY=VALUE",
            help="Retriever option key=value (repeatable).",
        ),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option(help="Folder for retrieval indexes (default: KG.index beside the store)."),
    ] = None,
    k: Annotated[int, typer.Option(min=1, help="Evidence records per admission.")] = 8,
    llm: LlmOpt = "template",
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    endpoints: EndpointsOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    structured_output: Annotated[
        str | None, typer.Option(help="openai backend: auto, json_schema, json_object or none.")
    ] = None,
    timeout: Annotated[float | None, typer.Option(help="Per-request timeout in seconds.")] = None,
    llm_option: LlmOptionOpt = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Most LLM calls in flight (default 4; with several servers, their total "
            "capacity).",
        ),
    ] = None,
    prompt: Annotated[
        str,
        typer.Option(
            help="Prompt template name or file: teacher (full), teacher_compact for small "
            "local models (note cut to 700 characters, about 3x fewer prompt tokens), or "
            "teacher_grounded (facts picked per diagnosis from the retrieved ids, one claim per "
            "fact naming both its concepts; held by the schema on llama.cpp/vLLM)."
        ),
    ] = "teacher",
    section: Annotated[
        str, typer.Option(help="Note section the teacher reads.")
    ] = "brief hospital course",
    true_diagnoses: Annotated[
        bool,
        typer.Option(
            "--true-diagnoses/--no-true-diagnoses",
            help="Give the true diagnoses to the teacher (training-time, label-conditioned).",
        ),
    ] = True,
    split: Annotated[str | None, typer.Option(help="Only admissions of this split.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N admissions.")] = None,
    cache: Annotated[Path | None, typer.Option(help="Cache folder (default: OUT.cache).")] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    retry_failed: Annotated[
        bool, typer.Option(help="Generate again the admissions recorded as failed.")
    ] = False,
    retry_rejected: Annotated[
        bool,
        typer.Option(
            help="Generate again the admissions whose answers the quality gate rejected "
            "(e.g. after changing --prompt or --max-tokens; with --allow-mixed if options differ)."
        ),
    ] = False,
    gate: Annotated[
        bool,
        typer.Option(
            "--gate/--no-gate",
            help="Check every answer before it is written ok: whole sentences, no repeated "
            "claim, claims naming their fact's concepts, concepts of the admission named, no "
            "diagnosis outside the labels (--no-gate keeps only the JSON checks).",
        ),
    ] = True,
    require_supported_pairs: Annotated[
        bool,
        typer.Option(
            help="Also refuse a free-form answer whose Rm or Rt relates two concepts the graph "
            "does not relate (the grounded prompt always drops such sentences), e.g. "
            "ctk rationale generate --prompt teacher --require-supported-pairs ...",
        ),
    ] = False,
    allow_partial: Annotated[
        bool,
        typer.Option(
            help="Exit 0 even when some admissions failed (by default any failed record in OUT "
            "makes the command exit 1)."
        ),
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            help="Exit 0 when the cohort (or --split) holds no admission (an error, exit 2, by "
            "default)."
        ),
    ] = False,
    allow_mixed: Annotated[
        bool,
        typer.Option(
            help="Append to an OUT whose records were made with another retriever or LLM backend "
            "or other options (refused by default; each record keeps its own provenance)."
        ),
    ] = False,
    allow_remote: Annotated[
        bool, typer.Option(help="Allow sending cohort text to a host that is not this machine.")
    ] = False,
    temperature: Annotated[
        float, typer.Option(min=0.0, max=2.0, help="Sampling temperature.")
    ] = 0.0,
    max_tokens: Annotated[
        int,
        typer.Option(
            min=16,
            help="Most tokens per answer (an answer cut at this limit is rejected as "
            "truncated; the grounded prompt needs about 600).",
        ),
    ] = 384,
) -> None:
    """Generate teacher rationales for a cohort (resumable, cached, concurrent).

    Admissions already in OUT are skipped, so an interrupted run continues where it
    stopped; answers are cached by a hash of the full input. Every answer passes a
    quality gate (valid JSON, whole sentences, distinct claims that name their
    facts' concepts...); one that fails gets one repair attempt with the reasons,
    then is recorded as rejected with them (never ok). Every
    record names the retriever and backend (with versions and options) that made
    it; resuming OUT with other ones is refused unless --allow-mixed.

    Exit status: 0 when every admission of OUT has an ok rationale; 1 when some failed
    or were rejected (re-run with --retry-failed / --retry-rejected to generate only
    those; --allow-partial exits 0);
    2 on an error before or during the run (bad option, plugin that cannot be built).

    Example: ctk rationale generate --cohort cohort --store kg.db --llm template --out r.jsonl
    """
    from rich.console import Console

    from ctk.cohort import select_admissions
    from ctk.teacher import GenerationConfig, TeacherConfig, build_teacher

    kg = graph_option(store, legacy_kg)
    if not _validate_before_generating(cohort, split=split, limit=limit, allow_empty=allow_empty):
        return
    servers = llm_servers(base_url, endpoints)
    config = TeacherConfig(
        retriever=retriever,
        retriever_options=parse_options(retriever_option, "--retriever-option"),
        index_dir=index or _default_index(kg, out),
        llm=llm or "template",
        llm_options=parse_options(llm_option, "--llm-option"),
        backend=backend_settings(
            model, servers, api_key_env, structured_output=structured_output, timeout_s=timeout
        ),
        generation=GenerationConfig(
            k=k,
            concurrency=concurrency or 4,
            cache_dir=cache,
            use_cache=not no_cache,
            prompt=prompt,
            section=section,
            use_true_diagnoses=true_diagnoses,
            allow_remote=allow_remote,
            retry_failed=retry_failed,
            retry_rejected=retry_rejected,
            gate=gate,
            require_supported_pairs=require_supported_pairs,
            allow_mixed=allow_mixed,
            temperature=temperature,
            max_tokens=max_tokens,
        ),
    )
    err = Console(stderr=True)
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(open_cli_store(kg, read_only=True)) if kg else None
        teacher = stack.enter_context(build_teacher(config, store=reader))
        _fit_to_servers(teacher, err, concurrency_given=concurrency is not None)
        admissions, total = select_admissions(cohort, split=split, limit=limit)
        with _progress_bar(err, total) as on_progress:
            summary = teacher.generate(admissions, out=out, total=total, on_progress=on_progress)

    failed = _print_summary(summary, out, err)
    if failed and not allow_partial:
        raise typer.Exit(1)


def _fit_to_servers(teacher: Teacher, err: Console, *, concurrency_given: bool) -> None:
    """Keep every server of a pool busy (unless --concurrency); warn before text leaves."""
    pool = getattr(teacher.backend, "pool", None)
    if not concurrency_given and pool is not None:
        teacher.config.generation.concurrency = pool.capacity
    if teacher.backend.is_remote:
        err.print(
            "[bold yellow]data-use warning:[/] cohort text will be sent to "
            f"{teacher.backend.base_url}. MIMIC's data use agreement forbids sharing notes "
            "with third parties; make sure this service is covered by your agreement.",
            highlight=False,
        )


def _validate_before_generating(
    cohort: Path, *, split: str | None, limit: int | None, allow_empty: bool
) -> bool:
    """Read every admission the run will use: a corrupt line stops it before any record.

    Returns:
        Whether there is anything to generate (False only for an empty selection
        with ``allow_empty``).

    Raises:
        RecordParseError: A line is not a valid admission (file and line named).
        DataError: No admission is selected and ``allow_empty`` is false.
    """
    from ctk.cohort import validate_cohort
    from ctk.errors import DataError

    report = validate_cohort(cohort, split=split, limit=limit)
    if not report.empty:
        return True
    message = f"{cohort}: {report.problems[-1]}"
    if allow_empty:
        typer.echo(f"{message}; nothing to generate (--allow-empty)", err=True)
        return False
    raise DataError(
        message,
        hint="check the path and --split (`ctk data validate COHORT` shows what it holds); "
        "--allow-empty exits 0 instead",
    )


@contextlib.contextmanager
def _progress_bar(
    err: Console, total: int | None
) -> Iterator[Callable[[GenerationProgress], None]]:
    """A live progress bar on stderr; yields the callback the teacher calls per admission."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[bold]rationales"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("[red]{task.fields[failed]} failed"),
        TextColumn("[yellow]{task.fields[rejected]} rejected"),
        TextColumn("{task.fields[cached]} cached"),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("generate", total=total, rate="-", failed=0, rejected=0, cached=0)

        def on_progress(p: GenerationProgress) -> None:
            elapsed = time.perf_counter() - started
            rate = f"{p.done / elapsed:.2f}/s" if elapsed > 0 and p.done else "-"
            bar.update(
                task,
                completed=p.done + p.skipped,
                rate=rate,
                failed=p.failed,
                rejected=p.rejected,
                cached=p.cached,
            )

        yield on_progress


def _print_summary(summary: GenerationSummary, out: Path, err: Console) -> int:
    """What the run did (stdout), its warnings and failures (stderr).

    Returns:
        The admissions of the output without an ok rationale (failed + rejected).
    """
    from rich.console import Console

    out_console = Console()
    rejected = f"{summary.rejected} rejected by the gate, " if summary.rejected else ""
    out_console.print(
        f"{summary.generated} generated, {summary.cached} from cache, {rejected}"
        f"{summary.failed} failed, "
        f"{summary.skipped_existing} already done; {summary.llm_calls} backend calls "
        f"({summary.prompt_tokens} prompt + {summary.completion_tokens} completion tokens) "
        f"in {summary.elapsed_s:.1f}s -> {out}",
        highlight=False,
    )
    if summary.backend == "template":
        out_console.print("(template backend: rule-written rationales, no language model)")
    if summary.repaired or summary.repair_reasons:
        out_console.print(
            f"  repaired: {summary.repaired} answer(s) passed the gate after one repair "
            f"(first answers refused for: {_counts(summary.repair_reasons)})",
            highlight=False,
        )
    for reason, n in summary.gate_reasons.items():
        out_console.print(f"  rejected: {n} x {reason}", highlight=False)
    if summary.model_sentences_kept or summary.model_sentences_dropped:
        dropped = sum(summary.model_sentences_dropped.values())
        out_console.print(
            f"  grounded: {summary.model_sentences_kept} sentence(s) of the model's own kept, "
            f"{dropped} dropped ({_counts(summary.model_sentences_dropped)}); "
            "ctk added the picked facts",
            highlight=False,
        )
    for reason, n in summary.failure_reasons.items():
        out_console.print(f"  failed: {n} x {reason}", highlight=False)
    for warning in summary.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    for note in summary.notes:
        err.print(f"[dim]note: {note}[/]", highlight=False)
    failed = summary.failed + summary.failed_earlier
    if failed:
        earlier = f" ({summary.failed_earlier} from earlier runs)" if summary.failed_earlier else ""
        err.print(
            f"[bold red]{failed} admission(s) failed{earlier}[/]; to generate only those again, "
            "re-run this command with --retry-failed",
            highlight=False,
        )
    refused = summary.rejected + summary.rejected_earlier
    if refused:
        earlier = (
            f" ({summary.rejected_earlier} from earlier runs)" if summary.rejected_earlier else ""
        )
        err.print(
            f"[bold yellow]{refused} answer(s) rejected by the quality gate{earlier}[/] (kept "
            "out of training; `ctk rationale check FILE` lists why); to generate only those "
            "again, re-run with --retry-rejected",
            highlight=False,
        )
    return failed + refused


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{reason} {n}" for reason, n in counts.items()) or "-"


@app.command()
def check(
    file: Annotated[
        Path, typer.Argument(help="Rationale JSONL written by `ctk rationale generate`.")
    ],
    store: GraphOpt = None,
    legacy_kg: LegacyGraphOpt = None,
    out: Annotated[Path | None, typer.Option(help="Write the full report (JSON) here.")] = None,
    show: Annotated[
        int, typer.Option(min=0, help="Admissions listed (lowest support first).")
    ] = 10,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="table (default), json (the full report on stdout) or markdown (the "
            "reason and admission tables, for a results page).",
        ),
    ] = "table",
    min_support: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Exit 1 when the share of claimed concept pairs supported by the graph is "
            "below this (0..1), e.g. --min-support 0.9 in CI.",
        ),
    ] = None,
    allow_empty: Annotated[
        bool,
        typer.Option(help="Exit 0 on a file with no record (by default an empty file exits 1)."),
    ] = False,
) -> None:
    """Check rationales against the graph: cited facts that exist, claims with no edge.

    Prints the quality gate's reasons (rejected records by reason, problems left in ok
    records), per-admission and overall citation and support rates.

    Exit status: 0; 1 when the file holds no record (unless --allow-empty) or the
    supported share is below --min-support; 2 on bad input (missing file, a folder).

    Example: ctk rationale check rationales.jsonl --store kg.db --min-support 0.9 --format markdown
    """
    from ctk.errors import ConfigError
    from ctk.teacher import check_rationales, read_rationales

    if output_format not in ("table", "json", "markdown"):
        raise ConfigError(
            f"--format {output_format!r} is not one of table, json, markdown",
            hint="e.g. --format markdown",
        )
    graph = graph_option(store, legacy_kg, required=True)
    assert graph is not None
    reader = open_cli_store(graph, read_only=True)
    try:
        report = check_rationales(read_rationales(file), reader)
    finally:
        reader.close()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if output_format == "json":
        typer.echo(report.model_dump_json(indent=2))
    else:
        _print_check(report, file.name, show, markdown=output_format == "markdown")
    from rich.console import Console

    err = Console(stderr=True, soft_wrap=True)
    if report.rationales == 0 and not allow_empty:
        err.print(
            f"[bold red]{file} holds no rationale[/]; generate some first, or pass --allow-empty",
            highlight=False,
        )
        raise typer.Exit(1)
    if min_support is not None and (report.support_rate or 0.0) < min_support:
        share = "none" if report.support_rate is None else f"{100 * report.support_rate:.1f}%"
        err.print(
            f"[bold red]supported share {share} is below --min-support {100 * min_support:.1f}%[/]",
            highlight=False,
        )
        raise typer.Exit(1)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _print_check(report: CheckReport, name: str, show: int, *, markdown: bool) -> None:
    """The reason table, the admission table and the overall line."""
    from rich.console import Console
    from rich.table import Table

    reasons = [("rejected", r, n) for r, n in report.rejected_reasons.items()]
    reasons += [("kept (ok)", r, n) for r, n in report.kept_issues.items()]
    worst = sorted(
        (a for a in report.admissions if a.status != "failed"),
        key=lambda a: (
            a.status == "ok",
            a.support_rate if a.support_rate is not None else 2.0,
            a.admission_id,
        ),
    )[:show]
    columns = ("admission", "status", "cited", "found", "pairs", "supported", "support", "reasons")
    rows = [
        (
            a.admission_id,
            a.status,
            str(a.cited),
            str(a.cited_found),
            str(a.pairs),
            str(a.supported_pairs),
            _pct(a.support_rate),
            ", ".join(a.reasons) or "-",
        )
        for a in worst
    ]
    overall = (
        f"{report.checked} ok ({report.repaired} after repair), {report.rejected} rejected, "
        f"{report.failed} failed records; citations found {report.cited_found}/{report.cited} "
        f"({_pct(report.citation_rate)}); claimed concept pairs supported "
        f"{report.supported_pairs}/{report.pairs} ({_pct(report.support_rate)}); mean "
        f"per-admission support {_pct(report.mean_admission_support_rate)}"
    )
    if markdown:
        lines = [f"### rationale check: {name}", "", overall, ""]
        lines += ["| records | reason | count |", "|---|---|---:|"]
        lines += [f"| {w} | {r} | {n} |" for w, r, n in reasons] or ["| - | none | 0 |"]
        if rows:
            lines += ["", "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
        typer.echo("\n".join(lines))
        return
    console = Console(width=max(Console().width, 100))
    if reasons:
        by_reason = Table(title="quality gate: records by reason")
        for column in ("records", "reason", "count"):
            by_reason.add_column(column)
        for w, r, n in reasons:
            by_reason.add_row(w, r, str(n))
        console.print(by_reason)
    if show:
        table = Table(title=f"rationale check: {name}")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    console.print(overall, highlight=False)
