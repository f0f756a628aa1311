"""The plugin registries: one per plugin kind, over Python entry points.

Every caller (the CLI, the hybrid retriever, the KG build, a notebook) uses the
registries defined here, so a class registered in Python with
``RETRIEVERS.register("mine", Mine)`` is seen by the CLI in the same process.

Three groups: ``ctk.extractors``, ``ctk.retrievers``, ``ctk.llm_backends``. Each
entry point names a class (``bm25 = "ctk.plugins.retrievers.bm25:BM25Retriever"``).
ctk's built-ins are declared in its own ``pyproject.toml`` exactly like a
third-party plugin's. A plugin that fails to import is reported with its
distribution and error; the others still load.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar, cast

from ctk.errors import ConfigError, PluginLoadError, PluginNotFoundError
from ctk.extraction import ConceptExtractor
from ctk.retrieval import Retriever
from ctk.teacher.backend import LLMBackend

__all__ = [
    "EXTRACTORS",
    "LLM_BACKENDS",
    "PLUGIN_GROUPS",
    "REGISTRIES",
    "RETRIEVERS",
    "PluginInfo",
    "Registry",
    "registry_for",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What `ctk plugins list` shows about one plugin."""

    group: str
    name: str
    target: str
    distribution: str
    version: str
    error: str | None = None


def _dist_of(ep: EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:
        return "?", "?"
    return dist.metadata["Name"] or "?", dist.version or "?"


class Registry(Generic[T]):
    """The plugins of one entry-point group, all subclasses of ``base``.

    Args:
        group: Entry-point group name.
        base: The class every plugin must subclass (usually abstract). Give the type
            parameter explicitly so that type checkers know it:
            ``Registry[Retriever]("ctk.retrievers", Retriever)``.

    Example:
        >>> from ctk.registry import RETRIEVERS
        >>> RETRIEVERS.get("bm25").__name__
        'BM25Retriever'
    """

    def __init__(self, group: str, base: type[Any]) -> None:
        self.group = group
        self.base = base
        self._registered: dict[str, type[T]] = {}

    def _entry_points(self) -> dict[str, EntryPoint]:
        found: dict[str, EntryPoint] = {}
        for ep in entry_points(group=self.group):
            found.setdefault(ep.name, ep)
        return found

    def names(self) -> list[str]:
        """Names of every plugin of the group, loadable or not."""
        return sorted(set(self._entry_points()) | set(self._registered))

    def register(self, name: str, cls: type[T]) -> None:
        """Register a class in this process (tests, notebooks); wins over entry points."""
        if not (isinstance(cls, type) and issubclass(cls, self.base)):
            raise PluginLoadError(f"{cls!r} is not a subclass of {self.base.__name__}")
        self._registered[name] = cls

    def unregister(self, name: str) -> None:
        """Undo :meth:`register`."""
        self._registered.pop(name, None)

    def get(self, name: str) -> type[T]:
        """Load the plugin class called ``name``.

        Raises:
            PluginNotFoundError: No plugin of that name; the message lists the names.
            PluginLoadError: It failed to import, or is not a ``base`` subclass.
        """
        if name in self._registered:
            return self._registered[name]
        eps = self._entry_points()
        ep = eps.get(name)
        if ep is None:
            raise PluginNotFoundError(
                f"no {self.group} plugin named {name!r}; "
                f"installed: {', '.join(self.names()) or 'none'}",
                hint="`ctk plugins list` shows every plugin and why one failed to load",
            )
        dist, version = _dist_of(ep)
        try:
            obj = ep.load()
        except Exception as e:  # a plugin's import may fail in any way
            raise PluginLoadError(
                f"plugin {name!r} ({ep.value}) from {dist} {version} failed to import: "
                f"{type(e).__name__}: {e}",
                hint=f"reinstall or fix the package {dist}, or uninstall it",
            ) from e
        if not (isinstance(obj, type) and issubclass(obj, self.base)):
            raise PluginLoadError(
                f"plugin {name!r} ({ep.value}) from {dist} is not a subclass of "
                f"{self.base.__module__}.{self.base.__name__}"
            )
        return cast(type[T], obj)

    def info(self) -> Iterator[PluginInfo]:
        """Describe every plugin, trying to load each; failures are reported, not raised."""
        eps = self._entry_points()
        for name in self.names():
            if name in self._registered:
                cls = self._registered[name]
                yield PluginInfo(
                    self.group,
                    name,
                    f"{cls.__module__}:{cls.__qualname__}",
                    "(registered in process)",
                    "-",
                )
                continue
            ep = eps[name]
            dist, version = _dist_of(ep)
            error: str | None = None
            try:
                self.get(name)
            except PluginLoadError as e:
                error = e.message
            yield PluginInfo(self.group, name, ep.value, dist, version, error)


#: Retriever plugins (group ``ctk.retrievers``).
RETRIEVERS: Registry[Retriever] = Registry("ctk.retrievers", Retriever)
#: LLM backend plugins (group ``ctk.llm_backends``).
LLM_BACKENDS: Registry[LLMBackend] = Registry("ctk.llm_backends", LLMBackend)
#: Concept extractor plugins (group ``ctk.extractors``).
EXTRACTORS: Registry[ConceptExtractor] = Registry("ctk.extractors", ConceptExtractor)

#: Group name -> its registry.
REGISTRIES: dict[str, Registry[Any]] = {r.group: r for r in (EXTRACTORS, RETRIEVERS, LLM_BACKENDS)}
PLUGIN_GROUPS: tuple[str, ...] = tuple(REGISTRIES)


def registry_for(group: str) -> Registry[Any]:
    """The registry of an entry-point group.

    Raises:
        ConfigError: No such group; the hint lists them.
    """
    try:
        return REGISTRIES[group]
    except KeyError:
        raise ConfigError(
            f"unknown plugin group {group!r}", hint=f"use one of: {', '.join(PLUGIN_GROUPS)}"
        ) from None
