"""``ctk kg``: build, inspect, query and export the knowledge graph.

The commands live in three modules; this group mounts their public functions:
``ctk.cli.kg_build`` (``build``), ``ctk.cli.kg_inspect`` (``stats``, ``query``,
``export``, ``import``, ``vocab``) and ``ctk.cli.kg_load`` (``load``). A module
that fails to import is an error, never a missing command.
"""

from __future__ import annotations

import typer

from ctk.cli import kg_build, kg_inspect, kg_load

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Build and use the medical knowledge graph.\n\n"
        "Example: ctk kg build --source pubmed:samples/corpora/pubmed_baseline_sample.xml.gz "
        "--store kg.db && ctk kg query 'heart failure' --store kg.db"
    ),
    no_args_is_help=True,
)

app.command("build")(kg_build.build)
app.command("stats")(kg_inspect.stats)
app.command("query")(kg_inspect.query)
app.command("export")(kg_inspect.export)
app.command("import")(kg_inspect.import_graph)
app.command("vocab")(kg_inspect.vocab)
app.command("load")(kg_load.load)
