"""Options and settings the commands share, declared once.

Every command that opens a knowledge graph takes the same ``--neo4j-*`` options;
their defaults come from :class:`ctk.settings.CtkSettings` (``CTK_*`` environment
variables), read here and nowhere below the CLI.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated

import typer

from ctk.settings import CtkSettings

if TYPE_CHECKING:
    from ctk.kg.stores.base import GraphStore

__all__ = [
    "DatabaseOpt",
    "GraphOpt",
    "LegacyGraphOpt",
    "NoRepeatNgram",
    "PasswordOpt",
    "RepetitionPenalty",
    "StoreOpt",
    "UserOpt",
    "generation_kwargs",
    "graph_option",
    "open_cli_store",
    "settings",
]


@functools.cache
def settings() -> CtkSettings:
    """The ``CTK_*`` settings of this process (read once)."""
    return CtkSettings()


StoreOpt = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="CTK_KG_STORE",
        help="Embedded store file, or a Neo4j URI (bolt://HOST:7687, neo4j://...).",
    ),
]
GraphOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="CTK_KG_STORE",
        help="Knowledge graph: an embedded store file, or a Neo4j URI (bolt://HOST:7687, "
        "neo4j://...).",
        show_envvar=False,
    ),
]
LegacyGraphOpt = Annotated[
    str | None,
    typer.Option("--kg", hidden=True, help="Old name of --store (kept for one release)."),
]


def graph_option(store: str | None, legacy_kg: str | None, *, required: bool = False) -> str | None:
    """The graph a command was given: ``--store``, or the old ``--kg`` with a warning.

    Raises:
        ConfigError: Both names with different values, or none when ``required``.
    """
    from ctk.errors import ConfigError

    if legacy_kg is not None:
        if store is not None and store != legacy_kg:
            raise ConfigError(
                f"--kg {legacy_kg} and --store {store} name two graphs",
                hint="pass the graph once, as --store (--kg is its old name)",
            )
        typer.echo("warning: --kg is now --store; --kg goes in the next release", err=True)
        store = legacy_kg
    if required and store is None:
        raise ConfigError(
            "no knowledge graph given",
            hint="pass --store kg.db (an embedded store) or --store bolt://HOST:7687",
        )
    return store


UserOpt = Annotated[
    str | None,
    typer.Option("--neo4j-user", help="Neo4j user (Neo4j only) (default: env CTK_NEO4J_USER)."),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--neo4j-password",
        help="Neo4j password (Neo4j only; prefer the environment variable CTK_NEO4J_PASSWORD, "
        "the default).",
        show_default=False,
    ),
]
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--neo4j-database", help="Neo4j database (Neo4j only) (default: env CTK_NEO4J_DATABASE)."
    ),
]


def open_cli_store(
    store: str,
    *,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    read_only: bool = False,
    max_evidence_per_edge: int | None = None,
) -> GraphStore:
    """Open the store a command names; Neo4j login from the flags, else ``CTK_NEO4J_*``.

    Raises:
        StoreUnavailableError: It cannot be opened or reached.
    """
    from pydantic import SecretStr

    from ctk.kg.stores import StoreOptions, open_store

    env = settings()
    options = StoreOptions(
        read_only=read_only,
        user=user or env.neo4j_user,
        password=SecretStr(password) if password else env.neo4j_password,
        database=database or env.neo4j_database,
    )
    if max_evidence_per_edge is not None:
        options.max_evidence_per_edge = max_evidence_per_edge
    return open_store(store, options)


#: ``--no-repeat-ngram``: ``ctk distill eval`` and ``ctk diagnose``.
NoRepeatNgram = Annotated[
    int,
    typer.Option(
        "--no-repeat-ngram",
        min=0,
        help="Never repeat a phrase of this many tokens (0: off; default 6).",
    ),
]
#: ``--repetition-penalty``: ``ctk distill eval`` and ``ctk diagnose``.
RepetitionPenalty = Annotated[
    float,
    typer.Option(
        "--repetition-penalty",
        min=1.0,
        help="Penalty on tokens already generated (1.0: off; default 1.1).",
    ),
]


def generation_kwargs(no_repeat_ngram: int, repetition_penalty: float) -> dict[str, object]:
    """The ``generate`` settings the two options ask for."""
    return {"no_repeat_ngram_size": no_repeat_ngram, "repetition_penalty": repetition_penalty}
