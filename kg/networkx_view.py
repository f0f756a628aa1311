"""The graph as a networkx ``MultiDiGraph``, for graph algorithms.

Nodes are concept ids with the attributes ``name``, ``type``, ``synonyms`` and
``mentions``; edges are keyed by fact id and carry ``type``, ``count``,
``weight`` and (when asked for) ``evidence`` as a list of
:class:`ctk.records.Evidence`. The view is a copy: changing it does not change
the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ctk.kg.stores.base import GraphStore

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["to_networkx"]


def to_networkx(store: GraphStore, *, with_evidence: bool = False) -> nx.MultiDiGraph[Any]:
    """Load every concept and relation of a store into a networkx graph.

    Args:
        store: The store to read.
        with_evidence: Attach each edge's evidence list (more memory).

    Returns:
        A ``MultiDiGraph`` keyed as described in the module docstring.

    Example:
        >>> g = to_networkx(store)  # doctest: +SKIP
        >>> nx.pagerank(g, weight="weight")  # doctest: +SKIP
    """
    import networkx as nx

    graph: nx.MultiDiGraph[Any] = nx.MultiDiGraph()
    for c in store.iter_concepts():
        graph.add_node(
            c.id, name=c.name, type=c.type, synonyms=list(c.synonyms), mentions=c.mentions
        )
    for r in store.iter_relations(with_evidence=with_evidence):
        attrs: dict[str, Any] = {"type": r.type, "count": r.count, "weight": r.weight}
        if with_evidence:
            attrs["evidence"] = list(r.evidence)
        graph.add_edge(r.source_id, r.target_id, key=r.id, **attrs)
    return graph
