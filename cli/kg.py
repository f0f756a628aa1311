"""``ctk kg``: build, inspect, query and export the knowledge graph.

The commands live in two modules that each add theirs to :data:`app`:
``ctk.cli.kg_build`` (``build``) and ``ctk.cli.kg_inspect`` (``stats``, ``query``,
``export``, ``import``, ``vocab``).
"""

from __future__ import annotations

import importlib

import typer

__all__ = ["app"]

app = typer.Typer(
    help=(
        "Build and use the medical knowledge graph.\n\n"
        "Example: ctk kg build --source pubmed:samples/pubmed.xml.gz --store kg.db "
        "&& ctk kg query 'heart failure' --store kg.db"
    ),
    no_args_is_help=True,
)

_COMMAND_MODULES = ("ctk.cli.kg_build", "ctk.cli.kg_inspect", "ctk.cli.kg_load")


def _register() -> None:
    for module_name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:
                continue
            raise
        module.register(app)


_register()
