"""Options and settings the commands share, declared once.

Every command that opens a knowledge graph takes the same ``--store`` and
``--neo4j-*`` options, and every command that talks to an LLM the same ``--llm``,
``--model``, ``--base-url``, ``--api-key-env`` and ``--llm-option``; their defaults
come from :class:`ctk.settings.CtkSettings` (``CTK_*`` environment variables),
read here and nowhere below the CLI (:func:`api_key`, :func:`open_cli_store`).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ctk.cli.plugins import installed_names
from ctk.settings import CtkSettings

if TYPE_CHECKING:
    from ctk.kg.stores import StoreOptions
    from ctk.kg.stores.base import GraphStore
    from ctk.teacher.factory import BackendSettings

__all__ = [
    "ApiKeyEnvOpt",
    "BaseUrlOpt",
    "CohortOpt",
    "DatabaseOpt",
    "EndpointsOpt",
    "GraphFileFormatOpt",
    "GraphOpt",
    "HostOpt",
    "JsonOpt",
    "LegacyGraphOpt",
    "LlmOpt",
    "LlmOptionOpt",
    "MaxNewTokensOpt",
    "MinSupportOpt",
    "ModelOpt",
    "NoRepeatNgram",
    "OverwriteOpt",
    "PortOpt",
    "RationalesOpt",
    "RepetitionPenalty",
    "StoreOpt",
    "StudentModelOpt",
    "UserOpt",
    "VocabularyOpt",
    "api_key",
    "backend_settings",
    "base_urls",
    "cli_store_options",
    "generation_kwargs",
    "graph_option",
    "llm_servers",
    "open_cli_store",
    "parse_options",
    "settings",
]


#: ``--cohort``: the cohort a command reads (``ctk rationale generate``, ``ctk distill
#: eval/baseline/init/init-tiny``, ``ctk view``).
CohortOpt = Annotated[
    Path, typer.Option("--cohort", "-c", help="Cohort folder (or admissions JSONL).")
]
#: ``--rationales``: the teacher's rationales a command reads (``ctk distill``, ``ctk view``).
RationalesOpt = Annotated[
    Path | None,
    typer.Option(
        "--rationales", "-r", help="Teacher rationale JSONL (`ctk rationale generate --out`)."
    ),
]
#: ``--vocabulary``: the V_k file of ``ctk distill init`` and ``init-tiny``.
VocabularyOpt = Annotated[
    Path | None, typer.Option("--vocabulary", help="V_k file (`ctk kg vocab --out`).")
]
#: ``--host``: where a server of ctk listens (``ctk view``, ``ctk teacher serve``).
HostOpt = Annotated[
    str, typer.Option("--host", help="Bind address; keep it loopback for MIMIC data.")
]
#: ``--port``: the port a server of ctk listens on.
PortOpt = Annotated[int, typer.Option("--port", min=0, help="Port; 0 picks a free one.")]
#: ``--overwrite``: ``ctk data import`` (a cohort), ``ctk kg export`` (a neo4j-import
#: folder), ``ctk kg load`` (a database); each command's description says which.
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite", help="Replace an output that is already there (refused without it)."
    ),
]
#: ``--format``: the graph's file formats, of ``ctk kg export`` and ``ctk kg import``.
GraphFileFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="turtle, nt or graphml (default: from the file's suffix); export also writes "
        "neo4j-import: CSV files for `neo4j-admin database import full` (see `ctk kg load`).",
    ),
]
#: ``--json``: machine-readable output instead of the text a person reads.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@functools.cache
def settings() -> CtkSettings:
    """The ``CTK_*`` settings of this process (read once)."""
    return CtkSettings()


StoreOpt = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="CTK_KG_STORE",
        metavar="PATH|URI",
        help="Embedded store file, or a Neo4j URI (bolt://HOST:7687, neo4j://...).",
    ),
]
GraphOpt = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="CTK_KG_STORE",
        metavar="PATH|URI",
        help="Knowledge graph: an embedded store file, or a Neo4j URI (bolt://HOST:7687, "
        "neo4j://...); default: env CTK_KG_STORE.",
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
DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--neo4j-database", help="Neo4j database (Neo4j only) (default: env CTK_NEO4J_DATABASE)."
    ),
]


def cli_store_options(
    *,
    user: str | None = None,
    database: str | None = None,
    read_only: bool = False,
) -> StoreOptions:
    """How to open a store: the Neo4j user and database from the flags, else ``CTK_NEO4J_*``.

    The password comes from ``CTK_NEO4J_PASSWORD`` only: a secret on the command line
    would stand in the shell history and the process list (as the API key does, it is
    read from the environment).
    """
    from ctk.kg.stores import StoreOptions

    env = settings()
    return StoreOptions(
        read_only=read_only,
        user=user or env.neo4j_user,
        password=env.neo4j_password,
        database=database or env.neo4j_database,
    )


def open_cli_store(
    store: str,
    *,
    user: str | None = None,
    database: str | None = None,
    read_only: bool = False,
    max_evidence_per_edge: int | None = None,
) -> GraphStore:
    """Open the store a command names; Neo4j login as :func:`cli_store_options` reads it.

    Raises:
        StoreUnavailableError: It cannot be opened or reached.
    """
    from ctk.kg.stores import open_store

    options = cli_store_options(user=user, database=database, read_only=read_only)
    if max_evidence_per_edge is not None:
        options.max_evidence_per_edge = max_evidence_per_edge
    return open_store(store, options)


#: ``--llm``: ``ctk rationale generate`` (default ``template``) and ``ctk kg build``
#: (with ``--extractor llm``; no default).
LlmOpt = Annotated[
    str | None,
    typer.Option(
        "--llm",
        metavar="NAME",
        help=f"LLM backend plugin (installed: {installed_names('ctk.llm_backends')}); "
        "`ctk plugins show NAME` lists its options.",
    ),
]
#: ``--model``: the model an LLM backend asks for.
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="NAME",
        help="Model name (openai/langchain) or local path (transformers).",
    ),
]
#: ``--base-url``: the server(s) of an OpenAI-compatible backend.
BaseUrlOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1 for vLLM "
        "(default: env CTK_OPENAI_BASE_URL, several separated by spaces; else "
        "http://127.0.0.1:8765/v1, where `ctk teacher serve` listens). Repeat for several "
        "servers of one model (vLLM replicas): requests go to the one with the most free "
        "capacity, and a failing server is taken out and retried later.",
    ),
]
#: ``--endpoints``: more servers of that model, from a file (see :func:`llm_servers`).
EndpointsOpt = Annotated[
    Path | None,
    typer.Option(
        "--endpoints",
        metavar="FILE",
        help="File of servers of one model, 'URL [MAX_CONCURRENCY]' a line (openai backend).",
    ),
]
#: ``--api-key-env``: where the API key is read from (see :func:`api_key`).
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key-env",
        metavar="VAR",
        help="Read the API key from this environment variable "
        "(default: CTK_OPENAI_API_KEY, then OPENAI_API_KEY).",
    ),
]
#: ``--llm-option``: a backend's own options (see :func:`parse_options`).
LlmOptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--llm-option", metavar="KEY=VALUE", help="Backend option key=value (repeatable)."
    ),
]


def api_key(env_name: str | None) -> str | None:
    """The API key: from ``env_name`` when given, else ``CTK_OPENAI_API_KEY`` / ``OPENAI_API_KEY``.

    Raises:
        ConfigError: ``env_name`` is given but not set.
    """
    from ctk.errors import ConfigError

    if env_name:
        value = os.environ.get(env_name)
        if not value:
            raise ConfigError(
                f"environment variable {env_name} is not set or empty",
                hint=f"export {env_name}=... or drop --api-key-env",
            )
        return value
    key = settings().openai_api_key
    return key.get_secret_value() if key is not None else None


def base_urls(flags: list[str] | None) -> list[str]:
    """The servers of ``--base-url``, else of ``CTK_OPENAI_BASE_URL`` (space-separated)."""
    return list(flags or (settings().openai_base_url or "").split())


def llm_servers(base_url: list[str] | None, endpoints: Path | None) -> list[dict[str, Any]]:
    """The servers of ``--base-url`` (else ``CTK_OPENAI_BASE_URL``) and ``--endpoints FILE``.

    Raises:
        ConfigError: The endpoints file cannot be read or holds a malformed line.
    """
    servers: list[dict[str, Any]] = [{"base_url": url} for url in base_urls(base_url)]
    if endpoints is not None:
        from ctk.plugins.llm.endpoint_pool import read_endpoints

        servers += [spec.model_dump() for spec in read_endpoints(endpoints)]
    return servers


def backend_settings(
    model: str | None,
    servers: list[dict[str, Any]],
    api_key_env: str | None,
    **more: Any,
) -> BackendSettings:
    """The shared LLM backend settings of the flags: one server or several, the API key.

    Args:
        model: ``--model``.
        servers: ``[{"base_url": ...}, ...]`` (one: ``base_url``; several: ``endpoints``).
        api_key_env: ``--api-key-env`` (see :func:`api_key`).
        **more: Other :class:`~ctk.teacher.factory.BackendSettings` fields.
    """
    from ctk.teacher.factory import BackendSettings

    return BackendSettings(
        model=model,
        base_url=servers[0]["base_url"] if len(servers) == 1 else None,
        endpoints=servers if len(servers) > 1 else None,
        api_key=api_key(api_key_env),
        **more,
    )


def parse_options(pairs: list[str] | None, what: str) -> dict[str, Any]:
    """Turn ``key=value`` strings into a dict; values are JSON when they parse as JSON.

    Raises:
        ConfigError: A pair has no ``=``.
    """
    from ctk.errors import ConfigError

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {pair!r} is not key=value", hint=f"e.g. {what} k1=1.2")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


#: ``--min-count``: the support floor of what ``ctk kg query`` and ``ctk view`` show
#: (default :data:`ctk.graph.DEFAULT_MIN_SUPPORT`).
MinSupportOpt = Annotated[
    int,
    typer.Option(
        "--min-count",
        min=1,
        help="Only edges seen in at least this many documents (the support floor; "
        "1 shows every edge, including those resting on one document).",
    ),
]
#: ``--model``: the student ``ctk distill eval`` and ``ctk diagnose`` run.
StudentModelOpt = Annotated[Path, typer.Option("--model", "-m", help="A saved student folder.")]
#: ``--max-new-tokens``: ``ctk distill eval`` and ``ctk diagnose``.
MaxNewTokensOpt = Annotated[
    int, typer.Option("--max-new-tokens", min=1, help="Generation length limit.")
]
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
