"""``ctk kg build``: build (or resume) the knowledge graph from corpora.

Thin over :func:`ctk.kg.builder.build_kg`: parse the flags, make a
:class:`~ctk.kg.builder.KGBuildConfig`, call, print. Mounted on ``ctk kg`` by
``ctk.cli.kg``.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ctk.cli.options import (
    ApiKeyEnvOpt,
    BaseUrlOpt,
    EndpointsOpt,
    LlmOpt,
    LlmOptionOpt,
    ModelOpt,
    StoreOpt,
    backend_settings,
    cli_store_options,
    llm_servers,
    parse_options,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from ctk.kg.build import BuildProgress, BuildSummary

__all__ = ["build"]


def build(
    source: Annotated[
        list[str],
        typer.Option(
            "--source",
            "-s",
            metavar="FORMAT:PATH",
            help="Corpus as FORMAT:PATH (pubmed, wikipedia, text); PATH a file, glob or directory. "
            "Repeat for several.",
        ),
    ],
    store: StoreOpt = "kg.db",
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
    llm: LlmOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    endpoints: EndpointsOpt = None,
    llm_option: LlmOptionOpt = None,
    llm_cache: Annotated[
        Path | None,
        typer.Option(
            "--llm-cache",
            help="With --llm: folder caching the model's answers by prompt hash "
            "(default: STORE.llm-cache beside an embedded store; required for Neo4j).",
        ),
    ] = None,
    api_key_env: ApiKeyEnvOpt = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="With --llm and text: sources: allow sending their text to a backend on another "
            "machine (clinical notes must not leave it without this).",
        ),
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            help="Exit 0 even when the sources yield no document (by default an empty or "
            "0-byte corpus file is an error, exit 2, after the summary).",
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

    from ctk.kg.builder import KGBuildConfig, build_kg

    _check_mesh_flags(extractor, mesh_headings=mesh_headings, drug_classes=mesh_drug_classes)
    on = {"mesh_headings": mesh_headings, "drug_classes": mesh_drug_classes}
    config = KGBuildConfig(
        sources=source,
        store=store,
        extractor=extractor,
        extractor_options={name: True for name, flag in on.items() if flag},
        llm=llm,
        llm_options=parse_options(llm_option, "--llm-option"),
        llm_cache=llm_cache,
        allow_remote=allow_remote,
        workers=workers,
        engine=engine,
        ray_address=ray_address,
        chunk_docs=chunk_docs,
        max_evidence=max_evidence,
        min_count=min_count,
        wiki_categories=wiki_category or None,
        wiki_title_pattern=wiki_title,
    )
    if llm is not None:
        servers = llm_servers(base_url, endpoints)
        config.backend = backend_settings(model, servers, api_key_env)
    with _progress_bar(Console(stderr=True)) as on_progress:
        summary = build_kg(config, store_options=cli_store_options(), progress=on_progress)
    _print_summary(summary, store, engine)
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.as_dict(), indent=2) + "\n", encoding="utf-8")
    if not allow_empty and not (summary.documents or summary.deleted or summary.chunks_skipped):
        from ctk.errors import DataError

        raise DataError(
            f"the sources yielded no document ({summary.files} file(s) read, "
            f"{summary.problems.total} bad record(s)): nothing was added to {store}",
            hint="check the files (an empty or 0-byte file, the wrong source kind?); "
            "--allow-empty accepts an empty build",
        )


def _check_mesh_flags(extractor: str, *, mesh_headings: bool, drug_classes: bool) -> None:
    """The MeSH flags belong to the dictionary extractor."""
    from ctk.errors import ConfigError

    for flag, on in (("--mesh-headings", mesh_headings), ("--mesh-drug-classes", drug_classes)):
        if on and extractor != "dictionary":
            raise ConfigError(
                f"{flag} needs --extractor dictionary",
                hint=f"drop {flag}, or use the dictionary extractor",
            )


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
