"""Graph stores behind one interface: the embedded default, Neo4j, and yours.

:func:`open_store` picks the store class from the spec's URI scheme through the
registry :data:`STORES` (entry-point group ``ctk.stores``, one entry per scheme):
``neo4j://``, ``neo4j+s://``, ``neo4j+ssc://``, ``bolt://``, ``bolt+s://`` and
``bolt+ssc://`` open :class:`~ctk.kg.stores.neo4j.Neo4jStore`; a spec without a
scheme (or ``file://``) is a path of the embedded SQLite store
(:class:`~ctk.kg.stores.embedded.EmbeddedStore`). A new store is one
:class:`GraphStore` subclass with :meth:`GraphStore.from_spec`, and one
registration: ``STORES.register("mystore", MyStore)`` in this process, or an
entry point under ``ctk.stores`` in its package's ``pyproject.toml``.
"""

from __future__ import annotations

import logging

from ctk.errors import ConfigError, PluginNotFoundError
from ctk.graph import GraphStats, Neighbour
from ctk.kg.delta import GraphDelta, RelationDelta
from ctk.kg.stores.base import GraphStore, StoreOptions
from ctk.registry import Registry

__all__ = [
    "FILE_SCHEME",
    "NEO4J_SCHEMES",
    "STORES",
    "GraphDelta",
    "GraphStats",
    "GraphStore",
    "Neighbour",
    "RelationDelta",
    "StoreOptions",
    "is_neo4j_uri",
    "open_store",
    "store_scheme",
]

logger = logging.getLogger(__name__)

#: URI schemes that mean a Neo4j server.
NEO4J_SCHEMES: tuple[str, ...] = (
    "neo4j://",
    "neo4j+s://",
    "neo4j+ssc://",
    "bolt://",
    "bolt+s://",
    "bolt+ssc://",
)


#: The scheme of a spec without one: a path of the embedded store.
FILE_SCHEME = "file"

#: Graph store classes by URI scheme (group ``ctk.stores``).
STORES: Registry[GraphStore] = Registry("ctk.stores", GraphStore)


def is_neo4j_uri(spec: str) -> bool:
    """Whether ``spec`` names a Neo4j server rather than an embedded store file."""
    return spec.strip().lower().startswith(NEO4J_SCHEMES)


def store_scheme(spec: str) -> str:
    """The URI scheme of a store spec, lower case; :data:`FILE_SCHEME` for a plain path."""
    scheme, sep, _ = spec.strip().partition("://")
    return scheme.lower() if sep else FILE_SCHEME


def open_store(spec: str, options: StoreOptions | None = None) -> GraphStore:
    """Open a graph store from a URI or a path.

    Args:
        spec: ``bolt://host:7687`` (or another Neo4j URI), or a file path.
        options: How to open it (:class:`StoreOptions`; defaults when None).

    Returns:
        The open store (a context manager).

    Raises:
        StoreUnavailableError: The store cannot be opened or reached.
        ConfigError: No store is registered for the spec's scheme.

    Example:
        >>> with open_store("kg.db", StoreOptions(read_only=True)) as store:  # doctest: +SKIP
        ...     print(store.stats().relations)
    """
    scheme = store_scheme(spec)
    try:
        cls = STORES.get(scheme)
    except PluginNotFoundError:
        raise ConfigError(
            f"no graph store for {scheme}:// ({spec!r})",
            hint=f"use a path (embedded store) or one of: "
            f"{', '.join(n + '://' for n in STORES.names())}",
        ) from None
    return cls.from_spec(spec.strip(), options or StoreOptions())
