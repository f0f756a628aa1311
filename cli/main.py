"""Entry point of the ``ctk`` command.

Each command group lives in its own module (a ``typer.Typer`` called ``app``) and is
mounted here, like each single command (a function), by a plain import: a command
module that fails to import is an error, never a silently missing command. Library errors
(:class:`ctk.errors.CtkError`) are printed as a message plus a hint and exit with
status 2; with ``ctk -v`` their traceback (and the error underneath) is logged at
DEBUG first. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from ctk import __version__
from ctk.cli import data, diagnose, distill, kg, plugins, rationale, teacher, view
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


app.add_typer(data.app, name="data")
app.add_typer(kg.app, name="kg")
app.add_typer(plugins.app, name="plugins")
app.add_typer(rationale.app, name="rationale")
app.add_typer(distill.app, name="distill")
app.add_typer(teacher.app, name="teacher")
app.command("diagnose")(diagnose.diagnose)
app.command("view")(view.view)


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
