"""``ctk kg stats|query|export|import|vocab``: inspect, query and move the graph.

Thin commands over :mod:`ctk.kg.stores`, :mod:`ctk.kg.export`. Every command
takes ``--store``: a path of the embedded store (default ``kg.db``, or the
``CTK_KG_STORE`` environment variable) or a Neo4j URI (``bolt://host:7687``,
``neo4j://...``), with ``--neo4j-user``/``--neo4j-database`` (or ``CTK_NEO4J_USER``/
``CTK_NEO4J_DATABASE``) and the password from ``CTK_NEO4J_PASSWORD`` only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ctk.cli.options import (
    DatabaseOpt,
    GraphFileFormatOpt,
    JsonOpt,
    MinSupportOpt,
    OverwriteOpt,
    StoreOpt,
    UserOpt,
    open_cli_store,
)
from ctk.errors import ConfigError
from ctk.graph import DEFAULT_MIN_SUPPORT

if TYPE_CHECKING:
    from ctk.kg.neighbourhood import Neighbourhood
    from ctk.records import Relation

__all__ = ["DEFAULT_STORE", "export", "import_graph", "query", "stats", "vocab"]

#: The ``--store`` used when neither the flag nor ``CTK_KG_STORE`` is given.
DEFAULT_STORE = "kg.db"


def stats(
    store: StoreOpt = DEFAULT_STORE,
    as_json: JsonOpt = False,
    neo4j_user: UserOpt = None,
    neo4j_database: DatabaseOpt = None,
) -> None:
    """Print the size of the graph: concepts and relations by type, evidence, corpus totals.

    Example: ctk kg stats --store kg.db
    """
    with open_cli_store(store, user=neo4j_user, database=neo4j_database, read_only=True) as graph:
        graph_stats = graph.stats()
    if as_json:
        typer.echo(graph_stats.model_dump_json(indent=2))
        return
    console = Console()
    table = Table(title=f"knowledge graph {store}", show_header=False)
    for key in ("concepts", "relations", "evidence", "sentences", "documents", "chunks"):
        table.add_row(key, f"{getattr(graph_stats, key):,}")
    for t, n in graph_stats.concepts_by_type.items():
        table.add_row(f"  concepts: {t}", f"{n:,}")
    for t, n in graph_stats.relations_by_type.items():
        table.add_row(f"  relations: {t}", f"{n:,}")
    console.print(table)


def _evidence_label(source: str, document_id: str) -> str:
    if source == "pubmed":
        return f"PMID:{document_id}"
    if source == "wikipedia":
        return f"wiki:{document_id}"
    return f"{source}:{document_id}"


def _truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


_QUERY_FORMATS = ("table", "plain", "json")


def _evidence_labels(rel: Relation) -> str:
    return ", ".join(dict.fromkeys(_evidence_label(e.source, e.document_id) for e in rel.evidence))


def _print_plain(found: Neighbourhood) -> None:
    """One header line, then one tab-separated line per neighbour; no cell is cut."""
    target, others = found.concept, found.other_matches
    typer.echo(f"# {target.name}\t{target.id}\t{target.type}\t{target.mentions} mentions")
    if others:
        typer.echo("# other matches: " + ", ".join(f"{m.name} ({m.id})" for m in others))
    if not found.neighbours:
        typer.echo(f"# {found.empty_note}")
        return
    typer.echo("direction\trelation\tconcept\tconcept_id\tweight\tcount\tevidence\tsentence")
    for n in found.neighbours:
        rel = n.relation
        sentence = " ".join(rel.evidence[0].sentence.split()) if rel.evidence else ""
        row = [
            n.direction, rel.type, n.concept.name, n.concept.id,
            f"{rel.weight:.3f}", str(rel.count), _evidence_labels(rel), sentence,
        ]  # fmt: skip
        typer.echo("\t".join(row))


def query(
    concept: Annotated[str, typer.Argument(help="Concept name, synonym or id.")],
    store: StoreOpt = DEFAULT_STORE,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most neighbours shown.")] = 20,
    relation_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only this relation type (repeatable), e.g. symptom_of."),
    ] = None,
    min_weight: Annotated[
        float | None, typer.Option("--min-weight", help="Only edges with at least this weight.")
    ] = None,
    min_count: MinSupportOpt = DEFAULT_MIN_SUPPORT,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help=(
                "table (a terminal's default), plain (one tab-separated line per neighbour, "
                "nothing cut: the default when the output is a file or a pipe) or json."
            ),
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    neo4j_user: UserOpt = None,
    neo4j_database: DatabaseOpt = None,
) -> None:
    """Show a concept's neighbourhood: relations, weights, counts and their evidence.

    The concept is found by id, else by name or synonym (case-insensitive), else
    by prefix. Evidence shows the documents (PMID, Wikipedia page) and a sentence.
    Edges resting on fewer than --min-count documents (default 2) are not shown;
    they stay in the store. Document ids are never cut: the table folds long cells,
    and output to a file or a pipe is plain tab-separated lines unless --format
    says otherwise.

    Example: ctk kg query "heart failure" --store kg.db --limit 10 --format plain
    """
    from ctk.kg.neighbourhood import concept_neighbourhood

    fmt = _query_format(output_format, as_json=as_json)
    with open_cli_store(store, user=neo4j_user, database=neo4j_database, read_only=True) as graph:
        found = concept_neighbourhood(
            graph,
            concept,
            limit=limit,
            relation_types=relation_type,
            min_weight=min_weight,
            min_count=min_count,
        )
    if fmt == "json":
        typer.echo(json.dumps(found.as_dict(), indent=2, ensure_ascii=False))
    elif fmt == "plain":
        _print_plain(found)
    else:
        _print_table(found)


def _query_format(output_format: str | None, *, as_json: bool) -> str:
    """``--format`` (or ``--json``); by default a table on a terminal, else plain lines."""
    fmt = "json" if as_json else output_format
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "plain"
    if fmt not in _QUERY_FORMATS:
        raise ConfigError(
            f"unknown --format {fmt!r}", hint=f"use one of: {', '.join(_QUERY_FORMATS)}"
        )
    return fmt


def _print_table(found: Neighbourhood) -> None:
    """A header, then a table that folds long cells (document ids are never cut)."""
    target, matches = found.concept, found.other_matches
    console = Console()
    synonyms = f" (also: {', '.join(target.synonyms[:5])})" if target.synonyms else ""
    console.print(
        f"[bold]{target.name}[/] [dim]{target.id}[/] · {target.type} · "
        f"{target.mentions:,} mentions{synonyms}",
        highlight=False,
    )
    if matches:
        console.print(
            "[dim]other matches: " + ", ".join(f"{m.name} ({m.id})" for m in matches) + "[/]",
            highlight=False,
        )
    if not found.neighbours:
        console.print(found.empty_note, highlight=False)
        return
    table = Table(show_lines=False)
    for column in ("relation", "concept", "weight", "count", "evidence", "sentence"):
        right = column in ("weight", "count")
        table.add_column(column, justify="right" if right else "left", overflow="fold")
    for n in found.neighbours:
        rel = n.relation
        arrow = f"→ {rel.type}" if n.direction == "out" else f"← {rel.type}"
        sentence = _truncate(rel.evidence[0].sentence, 80) if rel.evidence else ""
        table.add_row(
            arrow,
            f"{n.concept.name} [dim]({n.concept.type})[/]",
            f"{rel.weight:.3f}",
            f"{rel.count:,}",
            _evidence_labels(rel),
            sentence,
        )
    console.print(table)


_EXPORT_FORMATS = ("turtle", "nt", "graphml", "neo4j-import")


def _format_of(fmt: str | None, path: Path) -> str:
    if fmt is not None:
        if fmt not in _EXPORT_FORMATS:
            raise ConfigError(
                f"unknown format {fmt!r}", hint=f"use one of: {', '.join(_EXPORT_FORMATS)}"
            )
        return fmt
    by_suffix = {".ttl": "turtle", ".turtle": "turtle", ".nt": "nt", ".graphml": "graphml"}
    try:
        return by_suffix[path.suffix.lower()]
    except KeyError:
        raise ConfigError(
            f"cannot tell the format of {path} from its suffix",
            hint="pass --format turtle, nt or graphml",
        ) from None


def export(
    out: Annotated[
        Path, typer.Option("--out", help="Output file (a folder for --format neo4j-import).")
    ],
    fmt: GraphFileFormatOpt = None,
    overwrite: OverwriteOpt = False,
    store: StoreOpt = DEFAULT_STORE,
    neo4j_user: UserOpt = None,
    neo4j_database: DatabaseOpt = None,
) -> None:
    """Export the graph as RDF (Turtle, N-Triples; namespace https://w3id.org/ctk/), GraphML,
    or CSV files for Neo4j's offline importer.

    A non-empty --out folder of neo4j-import files is replaced only with --overwrite.

    Example: ctk kg export --store kg.db --format turtle --out kg.ttl

    Example: ctk kg export --store kg.db --format neo4j-import --out kg-import/
    """
    fmt = "neo4j-import" if fmt == "neo4j-import" else _format_of(fmt, out)
    with open_cli_store(store, user=neo4j_user, database=neo4j_database, read_only=True) as graph:
        if fmt == "neo4j-import":
            from ctk.kg.export.neo4j_import import export_neo4j_import

            manifest = export_neo4j_import(graph, out, overwrite=overwrite)
            typer.echo(
                f"wrote {manifest.concepts} concepts, {manifest.relations} relations "
                f"({manifest.evidence} evidence) and {manifest.chunks} build chunks as "
                f"neo4j-import CSV files to {out}; load them with `ctk kg load {out}`"
            )
        elif fmt == "graphml":
            from ctk.kg.export.graphml import export_graphml

            nodes, edges = export_graphml(graph, out)
            typer.echo(f"wrote {nodes} concepts and {edges} relations to {out}")
        else:
            from ctk.kg.export.rdf import export_rdf

            triples = export_rdf(graph, out, format=fmt)
            typer.echo(f"wrote {triples} triples to {out}")


def import_graph(
    path: Annotated[Path, typer.Argument(help="RDF (.ttl, .nt) or GraphML file to load.")],
    fmt: GraphFileFormatOpt = None,
    store: StoreOpt = DEFAULT_STORE,
    neo4j_user: UserOpt = None,
    neo4j_database: DatabaseOpt = None,
) -> None:
    """Load concepts and relations from a file written by `ctk kg export` (same ids are replaced).

    Example: ctk kg import kg.ttl --store copy.db
    """
    fmt = _format_of(fmt, path)
    if fmt == "neo4j-import":
        raise ConfigError(
            "neo4j-import folders are loaded by Neo4j's importer, not by `ctk kg import`",
            hint=f"run `ctk kg load {path} --neo4j-home NEO4J_HOME` on the stopped server",
        )
    if not path.is_file():
        raise ConfigError(f"no such file: {path}")
    with open_cli_store(store, user=neo4j_user, database=neo4j_database) as graph:
        if fmt == "graphml":
            from ctk.kg.export.graphml import import_graphml

            concepts, relations = import_graphml(graph, path)
        else:
            from ctk.kg.export.rdf import import_rdf

            concepts, relations = import_rdf(graph, path, format=fmt)
    typer.echo(f"imported {concepts} concepts and {relations} relations into {store}")


def vocab(
    out: Annotated[Path, typer.Option("--out", help="V_k file to write (JSONL).")],
    top: Annotated[int, typer.Option("--top", min=1, help="How many concepts (K).")] = 2000,
    types: Annotated[
        list[str] | None,
        typer.Option(
            "--types",
            help="Concept types to keep, comma-separated or repeated (default: all), "
            "e.g. disease,symptom,finding,lab_test.",
        ),
    ] = None,
    phenotypes: Annotated[
        bool,
        typer.Option(
            "--phenotypes/--no-phenotypes",
            help="Always keep concepts naming one of the 25 benchmark phenotypes.",
        ),
    ] = True,
    select: Annotated[
        str,
        typer.Option(
            "--select",
            help="How concepts are chosen: score (top-K by score), degree (top-K by "
            "distinct neighbours) or neighbourhood (the 25 phenotypes' graph neighbours), "
            "e.g. --select neighbourhood.",
        ),
    ] = "score",
    store: StoreOpt = DEFAULT_STORE,
    neo4j_user: UserOpt = None,
    neo4j_database: DatabaseOpt = None,
) -> None:
    """Write the knowledge vocabulary V_k: the top-K concepts by score, for the student.

    Score: log(1 + mentions) * (1 + sum of the positive NPMI weights of the concept's edges).

    Example: ctk kg vocab --store kg.db --top 2000 --types disease,symptom --out vk.jsonl

    Example: ctk kg vocab --store kg.db --top 500 --select neighbourhood --out vk-pheno.jsonl
    """
    from ctk.kg.export.vocabulary import export_vocabulary

    type_list = (
        [t.strip() for item in types for t in item.split(",") if t.strip()] if types else None
    )
    with open_cli_store(store, user=neo4j_user, database=neo4j_database, read_only=True) as graph:
        n = export_vocabulary(
            graph,
            top=top,
            types=type_list,
            out=out,
            include_phenotypes=phenotypes,
            select=select,  # type: ignore[arg-type]  # an unknown name is refused there
        )
    typer.echo(f"wrote {n} V_k concepts to {out}")
