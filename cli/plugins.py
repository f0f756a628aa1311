"""``ctk plugins``: what retrievers, LLM backends and extractors are installed."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

__all__ = ["app", "installed_names"]

app = typer.Typer(
    help=(
        "List the installed plugins and show one plugin's options.\n\n"
        "Example: ctk plugins list --group ctk.retrievers && ctk plugins show graph"
    ),
    no_args_is_help=True,
)


def installed_names(group: str) -> str:
    """The installed plugin names of a group, comma-separated (for option help texts).

    Reads entry-point metadata only; no plugin is imported.
    """
    from ctk.registry import registry_for

    try:
        return ", ".join(registry_for(group).names()) or "none installed"
    except Exception:  # help text must never break the CLI
        return "see `ctk plugins list`"


@app.command("list")
def list_plugins(
    group: Annotated[
        str | None,
        typer.Option(help="Only this group: ctk.retrievers, ctk.llm_backends or ctk.extractors."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON lines instead of a table.")
    ] = False,
) -> None:
    """Show every plugin: group, name, distribution, version and whether it works.

    Each plugin is imported and built once with its default options (retrievers
    without a knowledge graph). Status ``ok``: it builds; ``error``: it failed to
    import or its constructor raised (the error names it); ``untried``: it cannot be
    built without settings or arguments (the note says which). A broken plugin does
    not stop the others.

    Example: ctk plugins list --group ctk.retrievers --json
    """
    from rich.console import Console
    from rich.table import Table

    from ctk.registry import REGISTRIES, registry_for

    registries = list(REGISTRIES.values()) if group is None else [registry_for(group)]
    infos = [info for registry in registries for info in registry.info(construct=True)]
    if as_json:
        for info in infos:
            typer.echo(json.dumps(asdict(info)))
        return
    table = Table(title="ctk plugins")
    for column in ("group", "name", "distribution", "version", "status"):
        table.add_column(column, overflow="fold")
    for info in infos:
        if info.status == "error":
            status = f"[red]error:[/] {info.error}"
        elif info.status == "untried":
            status = f"[yellow]untried:[/] {info.note}"
        else:
            status = "[green]ok[/]" + (f" ({info.note})" if info.note else "")
        table.add_row(info.group, info.name, info.distribution, info.version, status)
    console = Console(width=max(Console().width, 120))
    console.print(table)
    broken = [i for i in infos if i.status == "error"]
    if broken:
        console.print(
            f"[yellow]{len(broken)} plugin(s) cannot be used: "
            f"{', '.join(i.name for i in broken)}; the others are usable[/]"
        )


#: The CLI flag that passes a plugin's options, by group.
_OPTION_FLAGS = {
    "ctk.retrievers": "--retriever-option NAME=VALUE",
    "ctk.llm_backends": "--llm-option NAME=VALUE",
    "ctk.extractors": "options={...} in Python",
}


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Plugin name, e.g. graph, bm25, openai, dictionary.")],
    group: Annotated[
        str | None,
        typer.Option(help="Only this group (when two groups have a plugin of that name)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show one plugin: kind, distribution, version and its options.

    Each option is listed with its type, default and description; pass them as
    ``--retriever-option NAME=VALUE`` or ``--llm-option NAME=VALUE``.

    Example: ctk plugins show graph
    """
    from rich.console import Console

    from ctk.registry import find_plugin

    descriptions = [registry.describe(name) for registry in find_plugin(name, group)]
    if as_json:
        for d in descriptions:
            typer.echo(json.dumps(asdict(d)))
        return
    console = Console(width=max(Console().width, 100))
    for d in descriptions:
        console.print(f"[bold]{d.name}[/] ({d.kind}, group {d.group})", highlight=False)
        console.print(f"  {d.summary}", highlight=False)
        console.print(f"  distribution: {d.distribution} {d.version}", highlight=False)
        console.print(f"  class: {d.target}", highlight=False)
        if d.needs_store:
            console.print("  needs a knowledge graph (--store)", highlight=False)
        if d.required_arguments:
            console.print(
                f"  needs the constructor argument(s) {', '.join(d.required_arguments)} "
                "(usable from Python only)",
                highlight=False,
            )
        if not d.options:
            console.print("  options: none")
            continue
        how = _OPTION_FLAGS.get(d.group, "options={...} in Python")
        console.print(f"  options ({how}):", highlight=False)
        for o in d.options:
            default = "required" if o.required else f"default {o.default}"
            console.print(f"    {o.name}: {o.type} ({default})", highlight=False, soft_wrap=True)
            if o.description:
                console.print(f"        {o.description}", highlight=False, soft_wrap=True)
