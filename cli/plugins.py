"""``ctk plugins``: what retrievers, LLM backends and extractors are installed."""

from __future__ import annotations

import importlib
import json

import typer

__all__ = ["app", "plugin_bases"]

app = typer.Typer(
    help="List the installed plugins.\n\nExample: ctk plugins list --group ctk.retrievers",
    no_args_is_help=True,
)

#: Group -> "module:Class" of the base class its plugins must subclass.
_BASES: dict[str, str] = {
    "ctk.retrievers": "ctk.retrieval:Retriever",
    "ctk.llm_backends": "ctk.llm:LLMBackend",
    "ctk.extractors": "ctk.kg.extraction.base:ConceptExtractor",
}


def plugin_bases() -> dict[str, type]:
    """Group -> base class (``object`` where the base cannot be imported)."""
    out: dict[str, type] = {}
    for group, target in _BASES.items():
        module_name, _, attr = target.partition(":")
        try:
            out[group] = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            out[group] = object
    return out


@app.command("list")
def list_plugins(
    group: str | None = typer.Option(
        None, help="Only this group: ctk.retrievers, ctk.llm_backends or ctk.extractors."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
) -> None:
    """Show every plugin: group, name, distribution, version and whether it loads.

    A plugin that fails to import is listed with its error; the others still load.

    Example: ctk plugins list
    """
    from rich.console import Console
    from rich.table import Table

    from ctk.errors import ConfigError
    from ctk.registry import PLUGIN_GROUPS, Registry

    groups = list(PLUGIN_GROUPS)
    if group is not None:
        if group not in groups:
            raise ConfigError(
                f"unknown plugin group {group!r}", hint=f"use one of: {', '.join(groups)}"
            )
        groups = [group]
    bases = plugin_bases()
    infos = [info for g in groups for info in Registry(g, bases[g]).info()]
    if as_json:
        for info in infos:
            typer.echo(
                json.dumps(
                    {
                        "group": info.group,
                        "name": info.name,
                        "target": info.target,
                        "distribution": info.distribution,
                        "version": info.version,
                        "status": "error" if info.error else "ok",
                        "error": info.error,
                    }
                )
            )
        return
    table = Table(title="ctk plugins")
    for column in ("group", "name", "distribution", "version", "status"):
        table.add_column(column, overflow="fold")
    for info in infos:
        status = f"[red]error:[/] {info.error}" if info.error else "[green]ok[/]"
        table.add_row(info.group, info.name, info.distribution, info.version, status)
    console = Console(width=max(Console().width, 120))
    console.print(table)
    broken = [i for i in infos if i.error]
    if broken:
        console.print(f"[yellow]{len(broken)} plugin(s) failed to load; the others are usable[/]")
