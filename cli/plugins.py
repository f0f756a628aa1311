"""``ctk plugins``: what retrievers, LLM backends and extractors are installed."""

from __future__ import annotations

import json

import typer

__all__ = ["app"]

app = typer.Typer(
    help="List the installed plugins.\n\nExample: ctk plugins list --group ctk.retrievers",
    no_args_is_help=True,
)


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

    from ctk.registry import REGISTRIES, registry_for

    registries = list(REGISTRIES.values()) if group is None else [registry_for(group)]
    infos = [info for registry in registries for info in registry.info()]
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
