"""How ``ctk ... --help`` shows option types: a flag shows no value placeholder.

Typer (0.2x with rich help) prints a type placeholder such as ``<bool>`` after every
option, flags included, which reads as if ``--json`` took a value. ctk's help shows
placeholders only for options that take one. :func:`hide_flag_placeholders` is called
once, when the ``ctk`` app is built.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

__all__ = ["hide_flag_placeholders"]

_patched = False


def hide_flag_placeholders() -> None:
    """Make the help of every flag (``--json``, ``--resume``, ``--help``) show no type."""
    global _patched
    if _patched:
        return
    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:  # typer's own Context
        if self.is_flag:
            return None
        return shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    _patched = True
