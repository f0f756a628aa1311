"""The plugin registries: one per plugin kind, over Python entry points.

Every caller (the CLI, the hybrid retriever, the KG build, a notebook) uses the
registries defined here, so a class registered in Python with
``RETRIEVERS.register("mine", Mine)`` is seen by the CLI in the same process.

Three groups: ``ctk.extractors``, ``ctk.retrievers``, ``ctk.llm_backends``. Each
entry point names a class (``bm25 = "ctk.plugins.retrievers.bm25:BM25Retriever"``).
ctk's built-ins are declared in its own ``pyproject.toml`` exactly like a
third-party plugin's. A plugin that fails to import is reported with its
distribution and error; the others still load.

:meth:`Registry.create` builds a plugin and turns any failure of its constructor into
one :class:`~ctk.errors.PluginConstructionError` naming the plugin;
:meth:`Registry.describe` says what a plugin is and which options it takes (`ctk
plugins show`); :meth:`Registry.check` tries to build a plugin with its default options
(`ctk plugins list`).
"""

from __future__ import annotations

import difflib
import inspect
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, Literal, TypeVar, cast

from ctk.errors import (
    ConfigError,
    CtkError,
    PluginConstructionError,
    PluginLoadError,
    PluginNotFoundError,
)
from ctk.extraction import ConceptExtractor
from ctk.llm import LLMBackend
from ctk.plugin import OptionDoc, Plugin, describe_options, distribution_of
from ctk.retrieval import Retriever

__all__ = [
    "EXTRACTORS",
    "LLM_BACKENDS",
    "PLUGIN_GROUPS",
    "REGISTRIES",
    "RETRIEVERS",
    "PluginDescription",
    "PluginInfo",
    "Registry",
    "did_you_mean",
    "find_plugin",
    "registry_for",
]

T = TypeVar("T")

logger = logging.getLogger(__name__)

#: Status of a plugin in `ctk plugins list`.
PluginStatus = Literal["ok", "error", "untried"]


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What `ctk plugins list` shows about one plugin.

    Attributes:
        group: Entry-point group.
        name: Plugin name.
        target: ``module:Class``.
        distribution: The package that ships it (``(registered in process)`` when none).
        version: That package's version (``-`` when unknown).
        error: Why it failed to import or to be constructed, when ``status`` is ``error``.
        status: ``ok`` (imports and builds with its default options), ``error``, or
            ``untried`` (it cannot be built without settings or arguments: see ``note``).
        note: Why it was not tried, or what it needs at run time ("needs a knowledge graph").
    """

    group: str
    name: str
    target: str
    distribution: str
    version: str
    error: str | None = None
    status: PluginStatus = "ok"
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PluginDescription:
    """What `ctk plugins show NAME` prints about one plugin.

    Attributes:
        group: Entry-point group.
        kind: ``retriever``, ``LLM backend`` or ``extractor``.
        name: Plugin name.
        target: ``module:Class``.
        distribution: The package that ships it.
        version: That package's version.
        summary: First paragraph of the class docstring.
        options: The ``Options`` fields with types, defaults and descriptions.
        needs_store: A retriever that reads the knowledge graph.
        required_arguments: Constructor arguments without a default, besides options.
    """

    group: str
    kind: str
    name: str
    target: str
    distribution: str
    version: str
    summary: str
    options: list[OptionDoc] = field(default_factory=list)
    needs_store: bool = False
    required_arguments: list[str] = field(default_factory=list)


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelt name, if one is close enough."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _required_arguments(cls: type) -> list[str]:
    """Constructor parameters a plugin needs besides ``options``/``store``/``index_dir``."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    skip = {"self", "options", "store", "index_dir"}
    return [
        p.name
        for p in params
        if p.name not in skip
        and p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


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
            names = self.names()
            guess = did_you_mean(name, names)
            raise PluginNotFoundError(
                f"no {self.group} plugin named {name!r}"
                + (f"; did you mean {guess!r}?" if guess else "")
                + f" installed: {', '.join(names) or 'none'}",
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

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        """Load the plugin called ``name`` and build it with these arguments.

        Retrievers take ``store=``, ``index_dir=``, ``options=``; LLM backends and
        extractors take ``options`` (first argument).

        Raises:
            PluginNotFoundError: No plugin of that name.
            PluginLoadError: It failed to import.
            PluginConstructionError: Its constructor raised something other than a
                :class:`~ctk.errors.CtkError`; the one-line message names the plugin,
                its distribution and the error (the traceback is logged at debug level).
            CtkError: Its constructor raised one (a bad option: :class:`ConfigError`).
        """
        cls = self.get(name)
        try:
            return cls(*args, **kwargs)
        except CtkError:
            raise
        except Exception as e:
            logger.debug("constructing %s plugin %r failed", self.group, name, exc_info=True)
            dist, version = self._origin(name, cls)
            kind = getattr(cls, "kind", "plugin")
            origin = f"from {dist} {version}" if version != "-" else dist
            raise PluginConstructionError(
                f"{kind} {name!r} ({origin}) could not be constructed: "
                f"{type(e).__name__}: {_one_line(str(e))}",
                hint=f"check the plugin's options (`ctk plugins show {name}`); "
                "`ctk -v ...` logs the traceback; report it to the plugin's authors "
                "if the options are right",
            ) from e

    def _origin(self, name: str, cls: type) -> tuple[str, str]:
        if name not in self._registered:
            ep = self._entry_points().get(name)
            if ep is not None:
                return _dist_of(ep)
        dist, version = distribution_of(cls)
        return dist or "(registered in process)", version or "-"

    def _target(self, name: str, cls: type) -> str:
        ep = None if name in self._registered else self._entry_points().get(name)
        return ep.value if ep is not None else f"{cls.__module__}:{cls.__qualname__}"

    def describe(self, name: str) -> PluginDescription:
        """What a plugin is and which options it takes.

        Raises:
            PluginNotFoundError: No plugin of that name (the message suggests a near name).
            PluginLoadError: It failed to import.
        """
        cls = self.get(name)
        dist, version = self._origin(name, cls)
        doc = inspect.cleandoc(cls.__doc__ or "").split("\n\n", 1)[0]
        options_model = getattr(cls, "Options", None)
        return PluginDescription(
            group=self.group,
            kind=getattr(cls, "kind", "plugin"),
            name=name,
            target=self._target(name, cls),
            distribution=dist,
            version=version,
            summary=" ".join(doc.split()),
            options=describe_options(options_model) if options_model is not None else [],
            needs_store=bool(getattr(cls, "needs_store", False)),
            required_arguments=_required_arguments(cls),
        )

    def check(self, name: str) -> PluginInfo:
        """Load a plugin and try to build it with its default options (no store).

        Never raises for a plugin's fault: the result's ``status`` says ``ok``,
        ``error`` (it failed to import, or its constructor raised something other
        than a :class:`~ctk.errors.ConfigError`) or ``untried`` (it needs options
        without defaults, constructor arguments, or settings its constructor asks
        for with a ``ConfigError``).
        """
        try:
            cls = self.get(name)
        except PluginLoadError as e:
            ep = self._entry_points()[name]
            dist, version = _dist_of(ep)
            return PluginInfo(self.group, name, ep.value, dist, version, e.message, "error")
        dist, version = self._origin(name, cls)
        target = self._target(name, cls)

        def info(
            status: PluginStatus, *, error: str | None = None, note: str | None = None
        ) -> PluginInfo:
            return PluginInfo(self.group, name, target, dist, version, error, status, note)

        needs = (
            "needs a knowledge graph at run time" if getattr(cls, "needs_store", False) else None
        )
        options_model = getattr(cls, "Options", None)
        required = [
            o.name for o in (describe_options(options_model) if options_model else []) if o.required
        ]
        if required:
            return info("untried", note=f"needs the option(s) {', '.join(required)}")
        arguments = _required_arguments(cls)
        if arguments:
            return info("untried", note=f"needs the argument(s) {', '.join(arguments)} (Python)")
        try:
            plugin = self.create(name)
        except ConfigError as e:
            return info("untried", note=f"needs settings: {e.message}")
        except CtkError as e:  # PluginConstructionError included
            return info("error", error=e.message)
        try:
            if isinstance(plugin, Plugin):
                plugin.close()
        except Exception as e:
            return info("error", error=f"close() raised {type(e).__name__}: {_one_line(str(e))}")
        return info("ok", note=needs)

    def info(self, *, construct: bool = False) -> Iterator[PluginInfo]:
        """Describe every plugin, trying to load each; failures are reported, not raised.

        Args:
            construct: Also try to build each plugin with its default options
                (:meth:`check`).
        """
        eps = self._entry_points()
        for name in self.names():
            if construct:
                yield self.check(name)
                continue
            if name in self._registered:
                cls = self._registered[name]
                dist, version = self._origin(name, cls)
                yield PluginInfo(self.group, name, self._target(name, cls), dist, version)
                continue
            ep = eps[name]
            dist, version = _dist_of(ep)
            error: str | None = None
            try:
                self.get(name)
            except PluginLoadError as e:
                error = e.message
            yield PluginInfo(
                self.group, name, ep.value, dist, version, error, "error" if error else "ok"
            )


#: Retriever plugins (group ``ctk.retrievers``).
RETRIEVERS: Registry[Retriever] = Registry("ctk.retrievers", Retriever)
#: LLM backend plugins (group ``ctk.llm_backends``).
LLM_BACKENDS: Registry[LLMBackend] = Registry("ctk.llm_backends", LLMBackend)
#: Concept extractor plugins (group ``ctk.extractors``).
EXTRACTORS: Registry[ConceptExtractor] = Registry("ctk.extractors", ConceptExtractor)

#: Group name -> its registry.
REGISTRIES: dict[str, Registry[Any]] = {r.group: r for r in (EXTRACTORS, RETRIEVERS, LLM_BACKENDS)}
PLUGIN_GROUPS: tuple[str, ...] = tuple(REGISTRIES)


def find_plugin(name: str, group: str | None = None) -> list[Registry[Any]]:
    """The registries that hold a plugin called ``name`` (one, unless names clash).

    Args:
        name: A plugin name.
        group: Only look in this group.

    Raises:
        ConfigError: No such group.
        PluginNotFoundError: No plugin of that name; the message suggests the nearest.
    """
    registries = [registry_for(group)] if group else list(REGISTRIES.values())
    found = [r for r in registries if name in r.names()]
    if found:
        return found
    every = sorted({n for r in registries for n in r.names()})
    guess = did_you_mean(name, every)
    raise PluginNotFoundError(
        f"no plugin named {name!r}" + (f"; did you mean {guess!r}?" if guess else ""),
        hint=f"installed: {', '.join(every) or 'none'} (`ctk plugins list`)",
    )


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
