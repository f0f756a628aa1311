"""How ``ctk ... --help`` reads: at 80 columns nothing is cut, and values are named in words.

Typer's rich help (0.2x) has three habits that hurt on a terminal of 80 columns:

- its options table lets rich shrink every column alike, so long option names and
  defaults are cut with an ellipsis (``--retriever-op…``, ``bolt://HOST:768…``);
- it names each value by its Python type (``<list[str]>``, ``<path>``, ``<int range>``)
  and prints ``<bool>`` after flags, which reads as if ``--json`` took a value;
- its usage line puts a required argument in braces (``{path}``).

:func:`install_help_format` (called once, when the ``ctk`` app is built) changes that:
the name and type columns never wrap or shrink (the description column takes what is left
and wraps, folding only a word longer than itself), flags show no placeholder, values are
named as a user knows them (``PATH``, ``FILE``, ``DIR``, ``TEXT``, ``N``, ``NUMBER``, or the
option's own ``metavar`` such as ``URI``), and arguments read ``PATH`` in the usage line.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from typer import rich_utils
from typer.core import TyperArgument, TyperOption

__all__ = ["hide_flag_placeholders", "install_help_format", "placeholder"]

_installed = False

#: Typer's type label (inside ``<...>``) -> the word shown instead.
_WORDS = {
    "path": "PATH",
    "file": "FILE",
    "directory": "DIR",
    "str": "TEXT",
    "int": "N",
    "int range": "N",
    "float": "NUMBER",
    "float range": "NUMBER",
    "datetime": "DATE",
    "uuid": "UUID",
}


def placeholder(label: str) -> str:
    """The word for one of typer's type labels: ``<list[Path]>`` -> ``PATH``.

    Choices (``<a|b|c>``) keep their values without the brackets; an unknown type is
    shown in capitals.
    """
    inner = label.strip("<>")
    if inner.startswith("list[") and inner.endswith("]"):  # a repeatable option
        inner = inner[5:-1]
    if "|" in inner:
        return inner
    return _WORDS.get(inner.lower(), inner.upper())


#: Narrowest description column of the side-by-side layout; below it, each description
#: goes under its option's name instead.
_MIN_HELP_WIDTH = 30


class _HelpTable(Table):
    """The options and commands tables of the help: names whole, descriptions wrapped.

    Side by side when the description column keeps at least ``_MIN_HELP_WIDTH``
    characters; otherwise each option's names and type on one line and its description
    indented below it, as click's plain help does.
    """

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        if not self.rows and renderables:
            last = len(renderables) - 1
            for index in range(len(renderables)):
                while len(self.columns) <= index:
                    self.add_column()
                column = self.columns[index]
                column.overflow = "fold"
                if index < last:
                    column.no_wrap = True
                else:
                    column.ratio = 1
        if renderables:  # a word longer than the description column folds, never "…"
            last_cell = renderables[-1]
            for item in getattr(last_cell, "renderables", [last_cell]):
                if isinstance(item, Text):
                    item.overflow = "fold"
        super().add_row(*renderables, **kwargs)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lead = self.columns[:-1]
        widths = [
            max((console.measure(cell, options=options).maximum for cell in col._cells), default=0)
            for col in lead
        ]
        used = sum(width + 2 for width in widths if width)  # each column is padded by 1 + 1
        if not lead or options.max_width - used >= _MIN_HELP_WIDTH:
            yield from super().__rich_console__(console, options)
            return
        stacked = Table.grid()
        stacked.add_column(overflow="fold")
        marks = widths[0] == 1  # typer's first column holds the required marker "*"
        for row in range(self.row_count):
            parts = [col._cells[row] for col in lead]
            names = [p if isinstance(p, Text) else Text(str(p)) for p in parts]
            line = Text("  ").join(n for n in names[marks:] if n.plain)
            if marks:
                line = Text.assemble(names[0] if names[0].plain else " ", "  ", line)
            stacked.add_row(line)
            stacked.add_row(Padding(self.columns[-1]._cells[row], (0, 0, 0, 6)))
        yield stacked


def _reflow(paragraphs: list[str], markup_mode: Any) -> str:
    """Join the lines of each help paragraph, so the terminal wraps them, not the source.

    A paragraph starting with ``\\b`` and lines that start a list item or are indented
    keep their line breaks.
    """
    out = []
    for paragraph in paragraphs:
        if paragraph.startswith("\b"):
            out.append(paragraph)
            continue
        lines = paragraph.split("\n")
        joined = lines[0]
        for line in lines[1:]:
            keep = line[:1].isspace() or line.lstrip().startswith(("-", "*", "|", "$"))
            joined += ("\n" if keep else " ") + line
        out.append(joined)
    return "\n\n".join(out)


def install_help_format() -> None:
    """Apply the help format described in the module docstring (idempotent)."""
    global _installed
    if _installed:
        return
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:  # typer's own Context
        if self.is_flag:
            return None
        if self.metavar:
            return str(self.metavar)
        label = shown(self, ctx)
        return placeholder(label) if label else label

    def argument_type(self: TyperArgument, ctx: Any) -> str | None:
        label = TyperArgument.display_type(self, ctx)
        return placeholder(label) if label else label

    def usage_name(self: TyperArgument) -> str:
        name = str(self.metavar or (self.name or "").upper())
        if not self.required:
            name = f"[{name}]"
        if self.nargs != 1:
            name += "..."
        return name

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperArgument.display_type_rich = argument_type  # type: ignore[method-assign,assignment]
    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    rich_utils.Table = _HelpTable  # type: ignore[misc,attr-defined]
    rich_utils._fix_linebreaks = _reflow
    _installed = True


#: The former name (the flags part of :func:`install_help_format`).
hide_flag_placeholders = install_help_format
