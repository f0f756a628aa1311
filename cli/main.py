"""Entry point of the ``ctk`` command.

Each command group lives in its own module and is added here. Library errors
(:class:`ctk.errors.CtkError`) are printed as a message plus a hint and exit with
status 2; with ``ctk -v`` their traceback (and the error underneath) is logged at
DEBUG first. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from ctk import __version__
from ctk.cli.help_format import hide_flag_placeholders
from ctk.errors import CtkError

__all__ = ["app", "main"]

hide_flag_placeholders()

app = typer.Typer(
    name="ctk",
    help=(
        "ctk: knowledge-augmented clinical rationale generation (ClinRaGen).\n\n"
        "Example: ctk data synth --n 200 --seed 1 --out synth && "
        "ctk data import --format mimic3-benchmark synth --out cohort && ctk data stats cohort"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: (group name, module defining ``app``) for each command group that exists.
_GROUPS: tuple[tuple[str, str], ...] = (
    ("data", "ctk.cli.data"),
    ("kg", "ctk.cli.kg"),
    ("plugins", "ctk.cli.plugins"),
    ("rationale", "ctk.cli.rationale"),
    ("distill", "ctk.cli.distill"),
    ("teacher", "ctk.cli.teacher"),
)
#: Single commands (name, module, function).
_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("diagnose", "ctk.cli.diagnose", "diagnose"),
    ("view", "ctk.cli.view", "view"),
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ctk {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at DEBUG level.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


def _load_groups() -> None:
    for name, module_name in _GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:  # that group is not part of this build
                continue
            raise
        app.add_typer(module.app, name=name)
    for name, module_name, func in _COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name == module_name:
                continue
            raise
        app.command(name)(getattr(module, func))


_load_groups()


def main(argv: list[str] | None = None) -> None:
    """Run the ``ctk`` command; CtkError -> message + hint, exit 2."""
    try:
        app(args=argv, prog_name="ctk")
    except CtkError as e:
        # the traceback (with the plugin error underneath) is kept for `ctk -v`
        logging.getLogger("ctk").debug("%s", type(e).__name__, exc_info=True)
        err = Console(stderr=True)
        err.print(f"[bold red]error:[/] {e.message}", highlight=False, soft_wrap=True)
        if e.hint:
            err.print(f"[yellow]hint:[/] {e.hint}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
