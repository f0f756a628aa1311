"""Graph stores behind one interface: the embedded default and Neo4j.

:func:`open_store` picks the store from a spec: a Neo4j URI (``neo4j://``,
``neo4j+s://``, ``neo4j+ssc://``, ``bolt://``, ``bolt+s://``, ``bolt+ssc://``)
opens :class:`~ctk.kg.stores.neo4j.Neo4jStore`; anything else is a path of the
embedded SQLite store (:class:`~ctk.kg.stores.embedded.EmbeddedStore`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from ctk.kg.stores.base import GraphDelta, GraphStats, GraphStore, Neighbour, RelationDelta

__all__ = [
    "NEO4J_SCHEMES",
    "GraphDelta",
    "GraphStats",
    "GraphStore",
    "Neighbour",
    "RelationDelta",
    "is_neo4j_uri",
    "open_store",
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


def is_neo4j_uri(spec: str) -> bool:
    """Whether ``spec`` names a Neo4j server rather than an embedded store file."""
    return spec.strip().lower().startswith(NEO4J_SCHEMES)


def open_store(spec: str, **options: Any) -> GraphStore:
    """Open a graph store from a URI or a path.

    For Neo4j, ``user``, ``password`` and ``database`` come from ``options``,
    else from the environment variables ``CTK_NEO4J_USER``,
    ``CTK_NEO4J_PASSWORD`` and ``CTK_NEO4J_DATABASE`` (no user: no auth). The
    password is never logged. Other options go to the store's constructor.

    Args:
        spec: ``bolt://host:7687`` (or another Neo4j URI), or a file path.
        **options: Store options (``max_evidence_per_edge``, ``read_only``,
            ``batch_size``, ...).

    Returns:
        The open store (a context manager).

    Raises:
        StoreUnavailableError: The store cannot be opened or reached.

    Example:
        >>> with open_store("kg.db") as store:  # doctest: +SKIP
        ...     print(store.stats().relations)
    """
    if is_neo4j_uri(spec):
        from ctk.kg.stores.neo4j import Neo4jStore

        for key in ("user", "password", "database"):
            if options.get(key) is None:
                options[key] = os.environ.get(f"CTK_NEO4J_{key.upper()}") or None
        options.pop("read_only", None)
        logger.info(
            "opening Neo4j store %s (database %s, user %s)",
            spec,
            options["database"] or "default",
            options["user"] or "none",
        )
        return Neo4jStore(spec.strip(), **options)
    from ctk.kg.stores.embedded import EmbeddedStore

    for key in ("user", "password", "database"):
        options.pop(key, None)
    logger.info("opening embedded store %s", spec)
    return EmbeddedStore(spec, **options)
