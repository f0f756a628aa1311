"""Versioned prompt templates.

A template is a text file with a header of ``<!-- key: value -->`` lines (``id``
and ``version`` required) and sections introduced by ``=== system ===`` and
``=== user ===``. Placeholders are ``$name`` (:class:`string.Template`), so JSON
braces in a prompt need no escaping. ctk's templates ship in
:mod:`ctk.teacher.templates` (``teacher_v1.md``); a user may pass a file path.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ctk.errors import ConfigError
from ctk.llm import ChatMessage

__all__ = ["ANSWER_KINDS", "PromptTemplate", "load_prompt"]

#: The answers a template may ask for (its ``<!-- answer: ... -->`` header).
ANSWER_KINDS = ("free", "grounded")

_HEADER = re.compile(r"^<!--\s*([A-Za-z_]+)\s*:\s*(.*?)\s*-->\s*$")
_SECTION = re.compile(r"^===\s*(system|user|assistant)\s*===\s*$")
_PACKAGE = "ctk.teacher.templates"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A parsed prompt template.

    Attributes:
        id: Template id (``teacher``).
        version: Template version (``1``).
        description: One line on what it is for.
        sections: ``(role, text)`` in order.
        source: Where it was read from.
        answer: The answer it asks for: ``free`` (Rm, Rt and cited facts) or
            ``grounded`` (facts picked per diagnosis first; :mod:`ctk.teacher.grounded`),
            from the ``<!-- answer: ... -->`` header line.
    """

    id: str
    version: str
    description: str
    sections: tuple[tuple[str, str], ...]
    source: str
    answer: str = "free"

    @property
    def key(self) -> str:
        """``id@version``, recorded with every rationale."""
        return f"{self.id}@{self.version}"

    def placeholders(self) -> set[str]:
        """Names of the ``$placeholders`` used."""
        names: set[str] = set()
        for _, text in self.sections:
            for m in string.Template.pattern.finditer(text):
                name = m.group("named") or m.group("braced")
                if name:
                    names.add(name)
        return names

    def render(self, **values: str) -> list[ChatMessage]:
        """Fill the placeholders and return the chat messages.

        Raises:
            ConfigError: A placeholder has no value.
        """
        missing = self.placeholders() - set(values)
        if missing:
            raise ConfigError(
                f"prompt {self.key} ({self.source}) needs values for: {', '.join(sorted(missing))}"
            )
        return [
            ChatMessage(role=role, content=string.Template(text).substitute(values))  # type: ignore[arg-type]
            for role, text in self.sections
        ]

    @classmethod
    def parse(cls, text: str, *, source: str = "<string>") -> PromptTemplate:
        """Parse a template file's text.

        Raises:
            ConfigError: No ``id``/``version`` header, or no section.
        """
        header: dict[str, str] = {}
        sections: list[tuple[str, list[str]]] = []
        for line_no, line in enumerate(text.splitlines(), start=1):
            if not sections:
                m = _HEADER.match(line)
                if m:
                    header[m.group(1).lower()] = m.group(2)
                    continue
            s = _SECTION.match(line)
            if s:
                sections.append((s.group(1), []))
                continue
            if sections:
                sections[-1][1].append(line)
            elif line.strip():
                raise ConfigError(
                    f"{source} line {line_no}: text before the first '=== system ===' or "
                    "'=== user ===' section"
                )
        for key in ("id", "version"):
            if key not in header:
                raise ConfigError(
                    f"{source}: prompt template has no '<!-- {key}: ... -->' header line"
                )
        if not sections:
            raise ConfigError(f"{source}: prompt template has no '=== user ===' section")
        answer = header.get("answer", "free")
        if answer not in ANSWER_KINDS:
            raise ConfigError(
                f"{source}: '<!-- answer: {answer} -->' is not one of {', '.join(ANSWER_KINDS)}"
            )
        return cls(
            answer=answer,
            id=header["id"],
            version=header["version"],
            description=header.get("description", ""),
            sections=tuple((role, "\n".join(lines).strip("\n")) for role, lines in sections),
            source=source,
        )


def load_prompt(name_or_path: str | Path) -> PromptTemplate:
    """Load a template: a file path, or a built-in name (``teacher_v1``, ``teacher``).

    A bare id without version loads the highest version shipped.

    Raises:
        ConfigError: Not found.
    """
    path = Path(name_or_path)
    if path.suffix and path.exists():
        return PromptTemplate.parse(path.read_text(encoding="utf-8"), source=str(path))
    name = str(name_or_path)
    package = resources.files(_PACKAGE)
    shipped = sorted(
        (p.name for p in package.iterdir() if p.name.endswith(".md")),
        key=lambda n: (n.rsplit("_v", 1)[0], int(n.rsplit("_v", 1)[-1][:-3] or 0)),
    )
    candidates = [n for n in shipped if n[:-3] == name]
    if not candidates:
        candidates = [n for n in shipped if n.rsplit("_v", 1)[0] == name]
    if not candidates:
        raise ConfigError(
            f"no prompt template {name!r}",
            hint=f"give a file path or one of: {', '.join(n[:-3] for n in shipped)}",
        )
    chosen = candidates[-1]
    text = package.joinpath(chosen).read_text(encoding="utf-8")
    return PromptTemplate.parse(text, source=f"{_PACKAGE}/{chosen}")
