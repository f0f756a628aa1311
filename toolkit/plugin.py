"""The shape the three plugin kinds share: a ``name``, an ``Options`` model, ``options``.

Retrievers (:class:`ctk.retrieval.Retriever`), LLM backends
(:class:`ctk.teacher.backend.LLMBackend`) and concept extractors
(:class:`ctk.extraction.ConceptExtractor`) all subclass :class:`Plugin`: each sets
:attr:`Plugin.name` and, when it takes settings, :attr:`Plugin.Options`, a pydantic
model. Options are validated once, by :meth:`Plugin.parse_options`, and an unknown
key is refused for every kind, so a typo never passes silently.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ctk.errors import ConfigError, CtkError

__all__ = ["NoOptions", "Plugin", "PluginOptions", "validate_plugin_options"]

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
    if isinstance(options, options_model):
        return options
    raw = options.model_dump() if isinstance(options, BaseModel) else dict(options or {})
    unknown = sorted(set(raw) - _accepted_keys(options_model))
    if unknown:
        raise ConfigError(
            f"unknown option{'s' if len(unknown) > 1 else ''} for {kind} {name!r}: "
            f"{', '.join(unknown)}",
            hint=f"valid options: {valid}",
        )
    try:
        return options_model.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        raise ConfigError(
            f"bad option for {kind} {name!r}: {first['msg']} at "
            f"{'.'.join(str(x) for x in first['loc'])}",
            hint=f"valid options: {valid}",
        ) from e


class Plugin:
    """Base of the three plugin kinds.

    Attributes:
        name: The registry name (the entry-point name).
        kind: What kind of plugin this is, for messages ("retriever").
        Options: The pydantic model of the plugin's settings.
        options: The validated settings of this instance.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "plugin"
    Options: ClassVar[type[BaseModel]] = NoOptions
    options: Any

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
