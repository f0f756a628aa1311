"""The shape the three plugin kinds share: a ``name``, an ``Options`` model, ``options``.

Retrievers (:class:`ctk.retrieval.Retriever`), LLM backends
(:class:`ctk.llm.LLMBackend`) and concept extractors
(:class:`ctk.extraction.ConceptExtractor`) all subclass :class:`Plugin`: each sets
:attr:`Plugin.name` and, when it takes settings, :attr:`Plugin.Options`, a pydantic
model. Options are validated once, by :meth:`Plugin.parse_options`, and an unknown
key is refused for every kind, so a typo never passes silently.

Two helpers serve the CLI and the docs: :func:`describe_options` lists an ``Options``
model's fields with their types, defaults and descriptions (from ``Field(description=)``
or the model's ``Attributes:`` docstring section), and :func:`plugin_stamp` says which
plugin, of which version, with which options, produced a record (secrets left out).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import packages_distributions, version
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import PydanticUndefined

from ctk.errors import ConfigError, CtkError
from ctk.records import PluginStamp

__all__ = [
    "NoOptions",
    "OptionDoc",
    "Plugin",
    "PluginOptions",
    "describe_options",
    "distribution_of",
    "plugin_stamp",
    "validate_plugin_options",
]

logger = logging.getLogger(__name__)


class PluginOptions(BaseModel):
    """Base of a plugin's ``Options`` model: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class NoOptions(PluginOptions):
    """Options model of a plugin that takes none."""


def _accepted_keys(options_model: type[BaseModel]) -> set[str]:
    keys: set[str] = set()
    for field_name, field in options_model.model_fields.items():
        keys.add(field_name)
        if field.alias:
            keys.add(field.alias)
    return keys


def validate_plugin_options(
    options_model: type[BaseModel],
    options: BaseModel | dict[str, Any] | None,
    *,
    kind: str,
    name: str,
) -> Any:
    """Validate a plugin's options against its ``Options`` model.

    Unknown keys are refused even when the model itself would ignore them.

    Args:
        options_model: The plugin class's ``Options`` pydantic model.
        options: An instance of it, another model to re-validate, a dict, or None.
        kind: What the plugin is, for the message ("retriever", "LLM backend").
        name: The plugin's name.

    Returns:
        An instance of ``options_model``.

    Raises:
        ConfigError: An option is unknown or has a bad value; the hint lists the valid ones.
    """
    valid = ", ".join(options_model.model_fields) or "none"
    hint = f"`ctk plugins show {name}` lists the options with their types and defaults"
    if isinstance(options, options_model):
        return options
    raw = options.model_dump() if isinstance(options, BaseModel) else dict(options or {})
    unknown = sorted(set(raw) - _accepted_keys(options_model))
    if unknown:
        raise ConfigError(
            f"unknown option{'s' if len(unknown) > 1 else ''} for {kind} {name!r}: "
            f"{', '.join(unknown)} (valid options: {valid})",
            hint=hint,
        )
    try:
        return options_model.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(
            f"bad option for {kind} {name!r}: {first['msg']} at "
            f"{'.'.join(str(x) for x in first['loc'])} (valid options: {valid})",
            hint=hint,
        ) from e


# --------------------------------------------------------------------------- describing options


@dataclass(frozen=True, slots=True)
class OptionDoc:
    """One field of a plugin's ``Options`` model, as `ctk plugins show` prints it.

    Attributes:
        name: The option's name (what ``--retriever-option NAME=...`` takes).
        type: Its type, as written in the model (``int``, ``list[str]``, ``float | None``).
        default: The default as JSON-ish text, or None when the option is required.
        required: Whether the option has no default.
        description: What it does (``Field(description=)``, else the docstring).
    """

    name: str
    type: str
    default: str | None
    required: bool
    description: str


_SECTION = re.compile(r"^(\w[\w ]*):\s*$")
_ITEM = re.compile(r"^(\w+)(?: \([^)]*\))?:\s*(.*)$")


def docstring_attributes(cls: type) -> dict[str, str]:
    """The ``Attributes:`` section of a Google-style class docstring, name -> text.

    Args:
        cls: The class (its own docstring only, not its bases').

    Returns:
        Each attribute's description with wrapped lines joined.
    """
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    out: dict[str, str] = {}
    in_section = False
    current: str | None = None
    item_indent: int | None = None
    for line in doc.splitlines():
        if not line.strip():
            current = None
            continue
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(line)
        if indent == 0 and header:
            in_section = header.group(1) == "Attributes"
            current, item_indent = None, None
            continue
        if not in_section or indent == 0:
            in_section = in_section and indent > 0
            continue
        if item_indent is None:
            item_indent = indent
        item = _ITEM.match(line.strip())
        if indent == item_indent and item:
            current = item.group(1)
            out[current] = item.group(2).strip()
        elif current is not None:
            out[current] = f"{out[current]} {line.strip()}".strip()
    return out


def _type_name(annotation: Any) -> str:
    from typing import get_origin

    if isinstance(annotation, type) and get_origin(annotation) is None:
        return annotation.__name__
    return re.sub(r"\b(?:typing|pydantic\.types|pathlib)\.", "", str(annotation))


def describe_options(options_model: type[BaseModel]) -> list[OptionDoc]:
    """The fields of an ``Options`` model, in declaration order.

    Args:
        options_model: A plugin's ``Options`` pydantic model.

    Returns:
        One :class:`OptionDoc` per field.
    """
    described: dict[str, str] = {}
    for klass in reversed(options_model.__mro__):
        if isinstance(klass, type) and issubclass(klass, BaseModel):
            described.update(docstring_attributes(klass))
    docs: list[OptionDoc] = []
    for field_name, field in options_model.model_fields.items():
        required = field.is_required()
        default: str | None = None
        if not required:
            value = (
                field.default_factory()  # type: ignore[call-arg]
                if field.default_factory is not None
                else field.default
            )
            default = "None" if value is PydanticUndefined else _json_text(value)
        docs.append(
            OptionDoc(
                name=field_name,
                type=_type_name(field.annotation),
                default=default,
                required=required,
                description=field.description or described.get(field_name, ""),
            )
        )
    return docs


def _json_text(value: Any) -> str:
    import json

    if isinstance(value, SecretStr):
        return "(secret)"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


# --------------------------------------------------------------------------- provenance

_SECRET_NAME = re.compile(r"(key|secret|token|password|credential)", re.IGNORECASE)


def _secret_fields(options_model: type[BaseModel]) -> set[str]:
    secret: set[str] = set()
    for field_name, field in options_model.model_fields.items():
        annotation = str(field.annotation)
        if (
            not field.repr
            or "SecretStr" in annotation
            or field.annotation is SecretStr
            or _SECRET_NAME.search(field_name)
        ):
            secret.add(field_name)
    return secret


def _scrub(value: Any) -> Any:
    """Drop secret-named keys at any depth (nested models, dicts of endpoints)."""
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if not _SECRET_NAME.search(str(k))}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


@lru_cache(maxsize=1)
def _top_level_distributions() -> dict[str, list[str]]:
    return dict(packages_distributions())


def distribution_of(cls: type) -> tuple[str | None, str | None]:
    """The installed distribution that ships a class, and its version.

    Args:
        cls: A plugin class.

    Returns:
        ``(name, version)``, or ``(None, None)`` for a class no installed
        distribution ships (one defined in a test or a notebook).
    """
    top = cls.__module__.split(".", 1)[0]
    names = _top_level_distributions().get(top)
    if not names:
        return None, None
    try:
        return names[0], version(names[0])
    except Exception:  # metadata of a broken install: report what is known
        return names[0], None


def plugin_stamp(plugin: Plugin) -> PluginStamp:
    """Which plugin, of which version, with which options: the provenance of a record.

    Options that hold secrets are left out: fields typed ``SecretStr``, declared with
    ``Field(repr=False)``, or named like a key, token, password or secret. The
    plugin's :attr:`Plugin.run_settings` go to ``settings``, the rest to ``options``.

    Args:
        plugin: A constructed plugin.

    Returns:
        The stamp written into rationale records.
    """
    cls = type(plugin)
    distribution, dist_version = distribution_of(cls)
    options = plugin.options
    dumped: dict[str, Any] = {}
    if isinstance(options, BaseModel):
        dumped = _scrub(options.model_dump(mode="json", exclude=_secret_fields(type(options))))
    run_settings: frozenset[str] = getattr(plugin, "run_settings", frozenset())
    return PluginStamp(
        name=plugin.name,
        distribution=distribution,
        version=dist_version,
        options={k: v for k, v in dumped.items() if k not in run_settings},
        settings={k: v for k, v in dumped.items() if k in run_settings},
    )


class Plugin:
    """Base of the three plugin kinds.

    Attributes:
        name: The registry name (the entry-point name).
        kind: What kind of plugin this is, for messages ("retriever").
        Options: The pydantic model of the plugin's settings.
        run_settings: Names of options that do not change the plugin's output.
        options: The validated settings of this instance.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "plugin"
    Options: ClassVar[type[BaseModel]] = NoOptions
    #: Options that change how the plugin runs, not what it produces (timeouts,
    #: retries, batch sizes, devices, a server's address): recorded in a rationale's
    #: provenance but not compared when a run is resumed.
    run_settings: ClassVar[frozenset[str]] = frozenset()
    options: Any

    def close(self) -> None:
        """Release files, connections or models (default: nothing)."""

    @classmethod
    def parse_options(cls, options: BaseModel | dict[str, Any] | None) -> Any:
        """Validate options against :attr:`Options`.

        Raises:
            ConfigError: An option is unknown or has a bad value.
        """
        return validate_plugin_options(cls.Options, options, kind=cls.kind, name=cls.name)

    @contextlib.contextmanager
    def reraise_as(self, error: type[CtkError]) -> Iterator[None]:
        """Turn a plugin's own exception into ``error`` (a CtkError passes unchanged).

        The traceback is logged at DEBUG, so ``ctk -v`` shows where the plugin failed.
        """
        try:
            yield
        except CtkError:
            raise
        except Exception as e:
            logger.debug("%s %r failed", self.kind, self.name, exc_info=True)
            raise error(
                f"{self.kind} {self.name!r} failed: {type(e).__name__}: {e}",
                hint="see the log (ctk -v) for the traceback",
            ) from e
