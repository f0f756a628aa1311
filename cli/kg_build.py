"""``ctk kg build``: build (or resume) the knowledge graph from corpora.

Thin over :func:`ctk.kg.build.build_graph`; registered on ``ctk kg`` by
:func:`register` (see ``ctk.cli.kg``).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

__all__ = ["build", "register"]


def build(
    source: list[str] = typer.Option(
        ...,
        "--source",
        "-s",
        help="Corpus as FORMAT:PATH (pubmed, wikipedia, text); PATH a file, glob or directory. "
        "Repeat for several.",
    ),
    store: str = typer.Option(
        ...,
        "--store",
        help="Embedded store path (e.g. kg.db) or a Neo4j URI (neo4j://host:7687, bolt://...). "
        "Neo4j credentials: CTK_NEO4J_USER / CTK_NEO4J_PASSWORD.",
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-j",
        min=1,
        help="Processes for parsing and extraction (default: all cores).",
    ),
    chunk_docs: int = typer.Option(
        2000, "--chunk-docs", min=1, help="Records per chunk, the unit of resume."
    ),
    max_evidence: int = typer.Option(
        5, "--max-evidence", min=1, help="Evidence sentences kept per edge."
    ),
    min_count: int = typer.Option(
        1, "--min-count", min=1, help="Drop edges seen fewer times (stores that can prune)."
    ),
    wiki_category: list[str] = typer.Option(
        [],
        "--wiki-category",
        help="Keep Wikipedia pages with a category containing this text; 'medical' = a built-in "
        "list of medical words. Repeatable.",
    ),
    wiki_title: str | None = typer.Option(
        None, "--wiki-title", help="Keep Wikipedia pages whose title matches this regex."
    ),
    extractor: str = typer.Option(
        "dictionary", "--extractor", help="Concept extractor plugin (ctk.extractors)."
    ),
    summary_json: Path | None = typer.Option(
        None, "--summary-json", help="Also write the build summary as JSON to this file."
    ),
) -> None:
    """Build the knowledge graph from PubMed, Wikipedia or text corpora (resumable).

    Re-running the same command skips the chunks already in the store, so an
    interrupted build resumes and a finished one is left unchanged.

    Example: ctk kg build --source pubmed:samples/corpora/pubmed_baseline_sample.xml.gz
    --source wikipedia:samples/corpora/enwiki_medical_sample.xml.bz2 --wiki-category medical
    --store kg.db
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ctk.cli.options import open_cli_store
    from ctk.errors import ConfigError
    from ctk.extraction import ConceptExtractor
    from ctk.kg.build import BuildProgress, build_graph
    from ctk.kg.sources.spec import open_source
    from ctk.registry import EXTRACTORS

    console = Console(stderr=True)
    needs = EXTRACTORS.describe(extractor).required_arguments
    if needs:
        raise ConfigError(
            f"the {extractor!r} extractor cannot be created from the command line: it needs "
            f"the argument(s) {', '.join(needs)}",
            hint="use the Python API (ctk.kg.build.build_graph(..., extractor=...)) for "
            "extractors that need arguments, such as an LLM backend",
        )
    ex: ConceptExtractor = EXTRACTORS.create(extractor)  # a failing constructor: named, exit 2
    sources = [
        open_source(s, wiki_categories=wiki_category or None, wiki_title_pattern=wiki_title)
        for s in source
    ]
    with (
        open_cli_store(store, max_evidence_per_edge=max_evidence) as graph,
        Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as bar,
    ):
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

        summary = build_graph(
            sources,
            graph,
            extractor=ex,
            workers=workers,
            chunk_docs=chunk_docs,
            min_count=min_count,
            max_evidence=max_evidence,
            progress=on_progress,
        )
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
            f"{summary.workers} workers)",
        ),
    ]
    for key, value in rows:
        table.add_row(key, value)
    out.print(table)
    for line in summary.problems.lines():
        out.print(f"[yellow]{line}[/]", highlight=False)
    for t in summary.truncated_files:
        out.print(f"[red]truncated:[/] {t}", highlight=False)
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.as_dict(), indent=2) + "\n", encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add the ``build`` command to the ``ctk kg`` group."""
    app.command("build")(build)
