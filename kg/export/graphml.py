"""GraphML export and import (networkx).

The file is the networkx view (:mod:`ctk.kg.networkx_view`) written by
``networkx.write_graphml``: nodes are concept ids with ``name``, ``type``,
``mentions`` and ``synonyms``; edges carry their fact id as the GraphML edge
id and key, with ``type``, ``count``, ``weight`` and ``evidence``. GraphML has
no lists, so ``synonyms`` and ``evidence`` are JSON strings (a list of names; a
list of ``{"source", "document_id", "sentence", "year"}`` objects). Tools such
as Gephi or yEd read the file as is.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ctk.errors import ConfigError, RecordParseError
from ctk.kg.networkx_view import to_networkx
from ctk.kg.stores.base import GraphStore
from ctk.records import Concept, Evidence, Relation

__all__ = ["export_graphml", "import_graphml", "read_graphml"]

logger = logging.getLogger(__name__)


def export_graphml(store: GraphStore, out: str | Path) -> tuple[int, int]:
    """Write a store as GraphML.

    Args:
        store: The graph.
        out: Output file (``.graphml``).

    Returns:
        Numbers of nodes and edges written.
    """
    import networkx as nx

    graph = to_networkx(store, with_evidence=True)
    for _, data in graph.nodes(data=True):
        data["synonyms"] = json.dumps(data["synonyms"], ensure_ascii=False)
    for _, _, data in graph.edges(data=True):
        data["evidence"] = json.dumps(
            [e.model_dump() for e in data["evidence"]], ensure_ascii=False
        )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    nx.write_graphml(graph, out, edge_id_from_attribute=None)
    logger.info(
        "wrote %d nodes and %d edges to %s", graph.number_of_nodes(), graph.number_of_edges(), out
    )
    return graph.number_of_nodes(), graph.number_of_edges()


def _load_json(text: Any, what: str, path: Path) -> Any:
    try:
        return json.loads(text) if text else []
    except json.JSONDecodeError as e:
        raise RecordParseError(
            f"{what} is not valid JSON: {e}", source=str(path), position=what
        ) from e


def read_graphml(path: str | Path) -> tuple[list[Concept], list[Relation]]:
    """Concepts and relations of a GraphML file written by :func:`export_graphml`.

    Raises:
        ConfigError: The file does not exist.
        RecordParseError: The file cannot be parsed or lacks required attributes.
    """
    import networkx as nx
    from pydantic import ValidationError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no such GraphML file: {path}")
    try:
        graph = nx.read_graphml(path, force_multigraph=True)
    except Exception as e:  # lxml/ElementTree and networkx raise assorted errors
        raise RecordParseError(f"cannot parse GraphML: {e}", source=str(path)) from e
    concepts: list[Concept] = []
    relations: list[Relation] = []
    for node, data in graph.nodes(data=True):
        try:
            concepts.append(
                Concept(
                    id=str(node),
                    name=data["name"],
                    type=data["type"],
                    synonyms=_load_json(data.get("synonyms"), f"node {node} synonyms", path),
                    mentions=int(data.get("mentions", 0)),
                )
            )
        except (KeyError, ValidationError) as e:
            raise RecordParseError(
                f"node {node!r} is not a ctk concept: {e}", source=str(path), position=str(node)
            ) from e
    for u, v, key, data in graph.edges(keys=True, data=True):
        try:
            evidence = [
                Evidence.model_validate(item)
                for item in _load_json(data.get("evidence"), f"edge {key} evidence", path)
            ]
            relations.append(
                Relation(
                    id=str(key),
                    source_id=str(u),
                    target_id=str(v),
                    type=data["type"],
                    count=int(data.get("count", 0)),
                    weight=float(data.get("weight", 0.0)),
                    evidence=evidence,
                )
            )
        except (KeyError, ValidationError) as e:
            raise RecordParseError(
                f"edge {key!r} is not a ctk relation: {e}", source=str(path), position=str(key)
            ) from e
    return concepts, relations


def import_graphml(store: GraphStore, path: str | Path) -> tuple[int, int]:
    """Load a GraphML file written by :func:`export_graphml` into a store.

    Returns:
        How many concepts and relations were written.
    """
    concepts, relations = read_graphml(path)
    return store.upsert_concepts(concepts), store.upsert_relations(relations)
