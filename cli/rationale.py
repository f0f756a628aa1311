"""``ctk rationale``: generate teacher rationales and check them against the graph."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ctk.cli.options import (
    ApiKeyEnvOpt,
    BaseUrlOpt,
    GraphOpt,
    LegacyGraphOpt,
    LlmOpt,
    LlmOptionOpt,
    ModelOpt,
    backend_settings,
    base_urls,
    graph_option,
    open_cli_store,
    parse_options,
)
from ctk.cli.plugins import installed_names

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from ctk.teacher import GenerationProgress, GenerationSummary, Teacher

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


def _endpoint_specs(base_urls: list[str] | None, endpoints: Path | None) -> list[dict[str, Any]]:
    """The servers given by ``--base-url`` (repeatable) and ``--endpoints FILE``."""
    specs: list[dict[str, Any]] = [{"base_url": url} for url in base_urls or []]
    if endpoints is not None:
        from ctk.plugins.llm.endpoint_pool import read_endpoints

        specs += [spec.model_dump() for spec in read_endpoints(endpoints)]
    return specs


def _default_index(kg: str | None, out: Path) -> Path:
    from ctk.kg.stores import is_neo4j_uri

    if kg and not is_neo4j_uri(kg):
        return Path(kg).with_name(Path(kg).name + ".index")
    return out.with_name(out.name + ".index")


@app.command()
def generate(
    cohort: Annotated[Path, typer.Option(help="Cohort folder (or admissions .jsonl).")],
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
        typer.Option("--retriever-option", help="Retriever option key=value (repeatable)."),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option(help="Folder for retrieval indexes (default: KG.index beside the store)."),
    ] = None,
    k: Annotated[int, typer.Option(min=1, help="Evidence records per admission.")] = 8,
    llm: LlmOpt = "template",
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    endpoints: Annotated[
        Path | None,
        typer.Option(
            "--endpoints",
            help="File of servers of one model, 'URL [MAX_CONCURRENCY]' a line (openai backend).",
        ),
    ] = None,
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
            help="Prompt template name or file: teacher (full), or teacher_compact for small "
            "local models (note cut to 700 characters, about 3x fewer prompt tokens)."
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
    allow_partial: Annotated[
        bool,
        typer.Option(
            help="Exit 0 even when some admissions failed (by default any failed record in OUT "
            "makes the command exit 1)."
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
    max_tokens: Annotated[int, typer.Option(min=16, help="Most tokens per answer.")] = 384,
) -> None:
    """Generate teacher rationales for a cohort (resumable, cached, concurrent).

    Admissions already in OUT are skipped, so an interrupted run continues where it
    stopped; answers are cached by a hash of the full input. Invalid model output
    gets one repair attempt, then is recorded as failed with its reason. Every
    record names the retriever and backend (with versions and options) that made
    it; resuming OUT with other ones is refused unless --allow-mixed.

    Exit status: 0 when every admission of OUT has a rationale; 1 when some failed
    (re-run with --retry-failed to generate only those; --allow-partial exits 0);
    2 on an error before or during the run (bad option, plugin that cannot be built).

    Example: ctk rationale generate --cohort cohort --store kg.db --llm template --out r.jsonl
    """
    from rich.console import Console

    from ctk.cohort import select_admissions
    from ctk.teacher import (
        GenerationConfig,
        TeacherConfig,
        build_teacher,
    )

    kg = graph_option(store, legacy_kg)
    _validate_before_generating(cohort, split=split, limit=limit)
    servers = _endpoint_specs(base_urls(base_url), endpoints)
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


def _validate_before_generating(cohort: Path, *, split: str | None, limit: int | None) -> None:
    """Read every admission the run will use: a corrupt line stops it before any record."""
    from ctk.cohort import validate_cohort
    from ctk.errors import DataError

    report = validate_cohort(cohort, split=split, limit=limit)
    if report.empty:
        raise DataError(
            f"{cohort}: {report.problems[-1]}",
            hint="check the path and --split; `ctk data validate COHORT` shows what it holds",
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
        TextColumn("{task.fields[cached]} cached"),
        TimeElapsedColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task("generate", total=total, rate="-", failed=0, cached=0)

        def on_progress(p: GenerationProgress) -> None:
            elapsed = time.perf_counter() - started
            rate = f"{p.done / elapsed:.2f}/s" if elapsed > 0 and p.done else "-"
            bar.update(
                task, completed=p.done + p.skipped, rate=rate, failed=p.failed, cached=p.cached
            )

        yield on_progress


def _print_summary(summary: GenerationSummary, out: Path, err: Console) -> int:
    """What the run did (stdout), its warnings and failures (stderr); returns the failures."""
    from rich.console import Console

    out_console = Console()
    out_console.print(
        f"{summary.generated} generated, {summary.cached} from cache, {summary.failed} failed, "
        f"{summary.skipped_existing} already done; {summary.llm_calls} backend calls "
        f"({summary.prompt_tokens} prompt + {summary.completion_tokens} completion tokens) "
        f"in {summary.elapsed_s:.1f}s -> {out}",
        highlight=False,
    )
    if summary.backend == "template":
        out_console.print("(template backend: rule-written rationales, no language model)")
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
    return failed


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
) -> None:
    """Check rationales against the graph: cited facts that exist, claims with no edge.

    Prints per-admission and overall citation and support rates.

    Example: ctk rationale check rationales.jsonl --store kg.db --out check.json
    """
    from rich.console import Console
    from rich.table import Table

    from ctk.teacher import check_rationales, read_rationales

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

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    console = Console(width=max(Console().width, 100))
    table = Table(title=f"rationale check: {file.name}")
    for column in ("admission", "cited", "found", "pairs", "supported", "support"):
        table.add_column(column)
    worst = sorted(
        (a for a in report.admissions if a.status == "ok"),
        key=lambda a: (a.support_rate if a.support_rate is not None else 2.0, a.admission_id),
    )
    for a in worst[:show]:
        table.add_row(
            a.admission_id,
            str(a.cited),
            str(a.cited_found),
            str(a.pairs),
            str(a.supported_pairs),
            pct(a.support_rate),
        )
    if show:
        console.print(table)
    console.print(
        f"{report.checked} checked, {report.failed} failed records; citations found "
        f"{report.cited_found}/{report.cited} ({pct(report.citation_rate)}); claimed concept pairs "
        f"supported {report.supported_pairs}/{report.pairs} ({pct(report.support_rate)}); "
        f"mean per-admission support {pct(report.mean_admission_support_rate)}",
        highlight=False,
    )
