"""``ctk kg build``: build (or resume) the knowledge graph from corpora.

Thin over :func:`ctk.kg.build.build_graph`; registered on ``ctk kg`` by
:func:`register` (see ``ctk.cli.kg``).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from ctk.extraction import ConceptExtractor
    from ctk.kg.build import BuildProgress, BuildSummary
    from ctk.teacher.backend import LLMBackend

__all__ = ["build", "register"]


def build(
    source: Annotated[
        list[str],
        typer.Option(
            "--source",
            "-s",
            help="Corpus as FORMAT:PATH (pubmed, wikipedia, text); PATH a file, glob or directory. "
            "Repeat for several.",
        ),
    ],
    store: Annotated[
        str,
        typer.Option(
            "--store",
            help="Embedded store path (e.g. kg.db) or a Neo4j URI (neo4j://host:7687, bolt://...). "
            "Neo4j credentials: CTK_NEO4J_USER / CTK_NEO4J_PASSWORD.",
        ),
    ],
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            "-j",
            min=1,
            help="Worker processes (local engine) or Ray actors (ray engine) for reading, parsing "
            "and extraction (default: all cores / every CPU of the Ray cluster).",
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where the work runs: 'local' (processes on this machine) or 'ray' (a Ray "
            "cluster; needs the ray extra). Both give the same graph and resume each other's "
            "builds.",
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="The Ray cluster to join with --engine ray: 'auto' (the cluster this node belongs "
            "to) or ray://HEAD:10001 (default: a new local Ray).",
        ),
    ] = None,
    chunk_docs: Annotated[
        int, typer.Option("--chunk-docs", min=1, help="Records per chunk, the unit of resume.")
    ] = 2000,
    max_evidence: Annotated[
        int, typer.Option("--max-evidence", min=1, help="Evidence sentences kept per edge.")
    ] = 5,
    mesh_headings: Annotated[
        bool,
        typer.Option(
            "--mesh-headings",
            help="Dictionary extractor: count the MeSH headings of PubMed records as "
            "document-level concepts and pairs (wider coverage, lower precision@10 on the "
            "quality benchmark).",
        ),
    ] = False,
    mesh_drug_classes: Annotated[
        bool,
        typer.Option(
            "--mesh-drug-classes",
            help="Dictionary extractor: also match the 334 pharmacological classes taken "
            "from MeSH ('histamine H2 antagonist', 'antihypertensive agent'); the hand-listed "
            "classes (ACE inhibitor, beta blocker, ...) are always on. Off by default: lower "
            "precision@10 on the quality benchmark.",
        ),
    ] = False,
    min_count: Annotated[
        int,
        typer.Option(
            "--min-count",
            min=1,
            help="Drop edges seen in fewer documents after the build (both stores).",
        ),
    ] = 1,
    wiki_category: Annotated[
        list[str] | None,
        typer.Option(
            "--wiki-category",
            help="Keep Wikipedia pages with a category containing this text; 'medical' = a "
            "built-in list of medical words. Repeatable.",
        ),
    ] = None,
    wiki_title: Annotated[
        str | None,
        typer.Option("--wiki-title", help="Keep Wikipedia pages whose title matches this regex."),
    ] = None,
    extractor: Annotated[
        str, typer.Option("--extractor", help="Concept extractor plugin (ctk.extractors).")
    ] = "dictionary",
    summary_json: Annotated[
        Path | None,
        typer.Option("--summary-json", help="Also write the build summary as JSON to this file."),
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(
            "--llm",
            help="With --extractor llm: the LLM backend plugin (openai, langchain, "
            "transformers...).",
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="With --llm: the model name.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="With --llm openai: the server's OpenAI-compatible URL (http://127.0.0.1:8000/v1).",
        ),
    ] = None,
    llm_option: Annotated[
        list[str] | None,
        typer.Option("--llm-option", help="With --llm: a backend option key=value (repeatable)."),
    ] = None,
    llm_cache: Annotated[
        Path | None,
        typer.Option(
            "--llm-cache",
            help="With --llm: folder caching the model's answers by prompt hash "
            "(default: STORE.llm-cache beside an embedded store; required for Neo4j).",
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="With --llm: read the API key from this environment variable "
            "(default: CTK_OPENAI_API_KEY, then OPENAI_API_KEY).",
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="With --llm and text: sources: allow sending their text to a backend on another "
            "machine (clinical notes must not leave it without this).",
        ),
    ] = False,
) -> None:
    """Build the knowledge graph from PubMed, Wikipedia or text corpora (resumable).

    Re-running the same command skips the chunks already in the store, so an
    interrupted build resumes and a finished one is left unchanged.

    Example: ctk kg build --source pubmed:samples/corpora/pubmed_baseline_sample.xml.gz
    --source wikipedia:samples/corpora/enwiki_medical_sample.xml.bz2 --wiki-category medical
    --store kg.db

    On a Ray cluster (corpus on a shared file system, ctk installed on every node):
    ctk kg build --source pubmed:/shared/baseline/ --store neo4j://db:7687 --engine ray
    --ray-address auto

    With a teacher server: ctk kg build --source pubmed:abstracts.xml --store kg.db
    --extractor llm --llm openai --base-url http://127.0.0.1:8000/v1 --model qwen2.5-7b
    (one process; answers cached in kg.db.llm-cache, so a resumed build asks nothing twice).
    """
    from rich.console import Console

    from ctk.cli.options import open_cli_store
    from ctk.errors import ConfigError
    from ctk.kg.build import build_graph
    from ctk.kg.sources.spec import open_source

    console = Console(stderr=True)
    backend: LLMBackend | None = None
    ex: ConceptExtractor
    for flag, on in (
        ("--mesh-headings", mesh_headings),
        ("--mesh-drug-classes", mesh_drug_classes),
    ):
        if on and extractor != "dictionary":
            raise ConfigError(
                f"{flag} needs --extractor dictionary",
                hint=f"drop {flag}, or use the dictionary extractor",
            )
    if extractor == "llm" and engine != "local":
        raise ConfigError(
            "--extractor llm runs in one process, not on Ray",
            hint="leave out --engine ray (the LLM server does the heavy work)",
        )
    if extractor == "llm":
        ex, backend = _llm_extractor(
            llm,
            model,
            base_url,
            llm_option or [],
            llm_cache,
            api_key_env,
            store,
            source,
            allow_remote,
        )
        if workers not in (None, 1):
            console.print("[yellow]--extractor llm runs in one process (--workers 1)[/yellow]")
        workers = 1
    else:
        if llm is not None:
            raise ConfigError("--llm needs --extractor llm", hint="add --extractor llm")
        options = {
            name: True
            for name, on in (("mesh_headings", mesh_headings), ("drug_classes", mesh_drug_classes))
            if on
        }
        ex = _plain_extractor(extractor, options or None)
    sources = [
        open_source(s, wiki_categories=wiki_category or None, wiki_title_pattern=wiki_title)
        for s in source
    ]
    with (
        open_cli_store(store, max_evidence_per_edge=max_evidence) as graph,
        _progress_bar(console) as on_progress,
    ):
        try:
            summary = build_graph(
                sources,
                graph,
                extractor=ex,
                workers=workers,
                chunk_docs=chunk_docs,
                min_count=min_count,
                max_evidence=max_evidence,
                progress=on_progress,
                engine=engine,
                ray_address=ray_address,
            )
        finally:
            if backend is not None:
                backend.close()
    _print_summary(summary, store, engine)
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.as_dict(), indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _progress_bar(console: Console) -> Iterator[Callable[[BuildProgress], None]]:
    """A live progress line on stderr; yields the callback that :func:`build_graph` calls."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=None),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("building", total=None, detail="")

        def on_progress(p: BuildProgress) -> None:
            bar.update(
                task,
                description=Path(p.file).name or "building",
                detail=(
                    f"{p.documents:,} docs, {p.sentences:,} sentences, "
                    f"{p.chunks_applied} chunks (+{p.chunks_skipped} done before), "
                    f"{p.docs_per_second:,.0f} docs/s"
                ),
            )

        yield on_progress


def _print_summary(summary: BuildSummary, store: str, engine: str) -> None:
    """The build summary as a table, then every problem and truncated file, on stdout."""
    from rich.console import Console
    from rich.table import Table

    out = Console()
    table = Table(title="ctk kg build", show_header=False)
    rows = [
        ("store", store),
        ("files", str(summary.files)),
        ("documents (this run)", f"{summary.documents:,}"),
        ("deletions", f"{summary.deleted:,}"),
        ("sentences", f"{summary.sentences:,}"),
        ("concepts in store", f"{summary.concepts:,}"),
        ("relations in store", f"{summary.relations:,}"),
        ("chunks applied / already done", f"{summary.chunks_applied} / {summary.chunks_skipped}"),
        (
            "skipped on purpose",
            ", ".join(f"{k}: {v}" for k, v in sorted(summary.skipped.items())) or "none",
        ),
        ("bad records", str(summary.problems.total)),
        (
            "time",
            f"{summary.seconds:.1f} s ({summary.docs_per_second:,.0f} docs/s, "
            f"{summary.workers} workers, {engine} engine)",
        ),
    ]
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
    for line in summary.problems.lines():
        out.print(f"[yellow]{line}[/]", highlight=False)
    for t in summary.truncated_files:
        out.print(f"[red]truncated:[/] {t}", highlight=False)


def _plain_extractor(name: str, options: dict[str, Any] | None = None) -> ConceptExtractor:
    """An extractor plugin built with its default options (or these)."""
    from ctk.errors import ConfigError
    from ctk.registry import EXTRACTORS

    needs = EXTRACTORS.describe(name).required_arguments
    if needs:
        raise ConfigError(
            f"the {name!r} extractor cannot be created from the command line: it needs the "
            f"argument(s) {', '.join(needs)}",
            hint="use the Python API (ctk.kg.build.build_graph(..., extractor=...)) for "
            "extractors that need arguments",
        )
    # a failing constructor: named in one line, exit 2
    return EXTRACTORS.create(name, options) if options else EXTRACTORS.create(name)


def _llm_extractor(
    llm: str | None,
    model: str | None,
    base_url: str | None,
    llm_option: list[str],
    llm_cache: Path | None,
    api_key_env: str | None,
    store: str,
    sources: list[str],
    allow_remote: bool,
) -> tuple[ConceptExtractor, LLMBackend]:
    """The LLM extractor of ``--extractor llm``, its backend checked against the data policy."""
    from ctk.cli.rationale import _api_key, parse_options
    from ctk.errors import ConfigError
    from ctk.plugins.extractors.llm import build_llm_extractor
    from ctk.teacher.backend import check_data_policy
    from ctk.teacher.factory import BackendSettings

    if llm is None:
        raise ConfigError(
            "--extractor llm needs a backend",
            hint="e.g. --llm openai --base-url http://127.0.0.1:8000/v1 --model NAME",
        )
    cache = llm_cache
    if cache is None:
        if "://" in store:
            raise ConfigError(
                "--extractor llm with a Neo4j store needs --llm-cache FOLDER",
                hint="the answers cache lives in a folder on this machine",
            )
        cache = Path(store + ".llm-cache")
    settings = BackendSettings(model=model, base_url=base_url, api_key=_api_key(api_key_env))
    ex, backend = build_llm_extractor(
        llm, parse_options(llm_option, "--llm-option"), settings, cache_dir=cache
    )
    try:
        if any(s.split(":", 1)[0] == "text" for s in sources):
            check_data_policy(backend, allow_remote=allow_remote)
    except BaseException:
        backend.close()
        raise
    return ex, backend


def register(app: typer.Typer) -> None:
    """Add the ``build`` command to the ``ctk kg`` group."""
    app.command("build")(build)
