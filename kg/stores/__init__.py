"""Graph stores behind one interface: the embedded default and Neo4j.

:func:`open_store` picks the store from a spec: a Neo4j URI (``neo4j://``,
``neo4j+s://``, ``neo4j+ssc://``, ``bolt://``, ``bolt+s://``, ``bolt+ssc://``)
opens :class:`~ctk.kg.stores.neo4j.Neo4jStore`; anything else is a path of the
embedded SQLite store (:class:`~ctk.kg.stores.embedded.EmbeddedStore`).
"""

from __future__ import annotations

import logging

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ctk.kg.stores.base import GraphDelta, GraphStats, GraphStore, Neighbour, RelationDelta

__all__ = [
    "NEO4J_SCHEMES",
    "GraphDelta",
    "GraphStats",
    "GraphStore",
    "Neighbour",
    "RelationDelta",
    "StoreOptions",
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


class StoreOptions(BaseModel):
    """How a store is opened; each store kind takes the fields that apply to it.

    The library reads no environment variable: the CLI fills the Neo4j login from
    ``CTK_NEO4J_*`` (:class:`ctk.settings.CtkSettings`); a Python user passes it.

    Attributes:
        read_only: Open an embedded store read-only (it must exist).
        max_evidence_per_edge: Evidence sentences kept per edge (the rest only count).
        user: Neo4j user (None: no authentication).
        password: Neo4j password (never logged).
        database: Neo4j database (None: the server's default).
        batch_size: Neo4j rows per ``UNWIND`` write.
    """

    model_config = ConfigDict(extra="forbid")

    read_only: bool = False
    max_evidence_per_edge: int = Field(default=5, ge=1)
    user: str | None = None
    password: SecretStr | None = Field(default=None, repr=False)
    database: str | None = None
    batch_size: int = Field(default=5000, ge=1)


def open_store(spec: str, options: StoreOptions | None = None) -> GraphStore:
    """Open a graph store from a URI or a path.

    Args:
        spec: ``bolt://host:7687`` (or another Neo4j URI), or a file path.
        options: How to open it (:class:`StoreOptions`; defaults when None).

    Returns:
        The open store (a context manager).

    Raises:
        StoreUnavailableError: The store cannot be opened or reached.

    Example:
        >>> with open_store("kg.db", StoreOptions(read_only=True)) as store:  # doctest: +SKIP
        ...     print(store.stats().relations)
    """
    opts = options or StoreOptions()
    if is_neo4j_uri(spec):
        from ctk.kg.stores.neo4j import Neo4jStore

        logger.info(
            "opening Neo4j store %s (database %s, user %s)",
            spec,
            opts.database or "default",
            opts.user or "none",
        )
        return Neo4jStore(
            spec.strip(),
            user=opts.user,
            password=opts.password.get_secret_value() if opts.password else None,
            database=opts.database,
            batch_size=opts.batch_size,
            max_evidence_per_edge=opts.max_evidence_per_edge,
        )
    from ctk.kg.stores.embedded import EmbeddedStore

    logger.info("opening embedded store %s", spec)
    return EmbeddedStore(
        spec, read_only=opts.read_only, max_evidence_per_edge=opts.max_evidence_per_edge
    )
