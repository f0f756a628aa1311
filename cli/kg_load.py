"""``ctk kg load``: bulk-load a fresh Neo4j database with Neo4j's own importer.

Thin over :mod:`ctk.kg.export.neo4j_admin`; registered on ``ctk kg`` by
:func:`register` (see ``ctk.cli.kg``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from ctk.cli.options import OverwriteOpt, UserOpt, cli_store_options, settings
from ctk.errors import ConfigError

__all__ = ["load"]


def load(
    folder: Annotated[
        Path, typer.Argument(help="Folder written by `ctk kg export --format neo4j-import`.")
    ],
    neo4j_home: Annotated[
        Path,
        typer.Option(
            "--neo4j-home",
            envvar="NEO4J_HOME",
            help="The Neo4j home whose database is written (the server must be stopped).",
        ),
    ],
    database: Annotated[
        str,
        typer.Option(
            "--database",
            help="Database to create (Community: neo4j), and the one opened at --store.",
        ),
    ] = "neo4j",
    neo4j_admin: Annotated[
        str | None,
        typer.Option(
            "--neo4j-admin",
            help="neo4j-admin path or command line (default: env CTK_NEO4J_ADMIN, then "
            "NEO4J_HOME/bin/neo4j-admin, then PATH).",
        ),
    ] = None,
    overwrite: OverwriteOpt = False,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="Importer threads (default: all).")
    ] = None,
    max_off_heap_memory: Annotated[
        str | None,
        typer.Option(
            "--max-off-heap-memory", help="Importer memory, e.g. 4G or 50% (default 90%)."
        ),
    ] = None,
    start_command: Annotated[
        str | None,
        typer.Option(
            "--start-command",
            help="Command that starts the server after the import and returns, e.g. "
            "'neo4j start' (run through the shell).",
        ),
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Bolt URI of the server that will serve the database: wait for it, create "
            "ctk's constraints and indexes and check the counts.",
        ),
    ] = None,
    run_import: Annotated[
        bool,
        typer.Option(
            "--import/--no-import",
            help="Run the importer; --no-import only finishes an earlier import (with --store).",
        ),
    ] = True,
    wait: Annotated[
        float, typer.Option("--wait", min=0, help="Seconds to wait for the server at --store.")
    ] = 300.0,
    neo4j_user: UserOpt = None,
) -> None:
    """Load a neo4j-import export into a fresh Neo4j database with `neo4j-admin database import
    full`, then open it with the server.

    Far faster than MERGE for a new database (benchmarks/RESULTS.md); later updates
    (`ctk kg build` with update files) keep using the batched MERGE path. Stop the
    server first; give --store to have ctk wait for the restarted server, create its
    constraints and indexes, and check the counts against the export. A database
    that already has files is replaced only with --overwrite.

    Example: neo4j stop && ctk kg load kg-import/ --neo4j-home /var/lib/neo4j --overwrite
    --start-command 'neo4j start' --store bolt://localhost:7687
    """
    from ctk.kg.export.neo4j_admin import import_full, open_imported
    from ctk.kg.export.neo4j_import import read_manifest

    manifest = read_manifest(folder)
    if run_import:
        result = import_full(
            folder,
            neo4j_home=neo4j_home,
            database=database,
            admin=neo4j_admin or settings().neo4j_admin,
            overwrite=overwrite,
            threads=threads,
            max_off_heap_memory=max_off_heap_memory,
            environment=os.environ,  # the importer runs with the user's PATH, JAVA_HOME...
        )
        typer.echo(
            f"imported {result.nodes} nodes and {result.relationships} relationships into "
            f"database {database} in {result.elapsed_s:.1f} s"
        )
    elif store is None:
        raise ConfigError("--no-import needs --store", hint="give the URI of the running server")
    if start_command:
        proc = subprocess.run(start_command, shell=True, check=False)
        if proc.returncode != 0:
            raise ConfigError(
                f"--start-command exited with {proc.returncode}",
                hint="start the server yourself, then run the same load with --store only",
            )
    if store is None:
        typer.echo(
            f"start the server, then finish with `ctk kg load {folder} --no-import "
            "--store URI` (it creates ctk's indexes and checks the counts)"
        )
        return
    typer.echo(f"waiting for {store} ...")
    login = cli_store_options(user=neo4j_user)
    stats = open_imported(
        store,
        manifest,
        user=login.user,
        password=login.password.get_secret_value() if login.password else None,
        database=database,  # the one just imported
        wait_s=wait,
    )
    typer.echo(
        f"{store}: {stats.concepts} concepts, {stats.relations} relations, "
        f"{stats.evidence} evidence; indexes online, counts match the export"
    )
