"""The graph schema: the node labels and relationship types a store may use.

Labels and relationship types cannot be Cypher parameters, so they are the only
text that :mod:`ctk.kg.cypher` interpolates into a query, and only after the
check functions here have accepted them. Everything else travels as parameters.

Node labels: every concept is a ``Concept`` and also carries the label of its
type (``Disease``, ``Symptom``, ``Finding``, ``LabTest``, ``Drug``,
``Procedure``, ``Other``). Bookkeeping nodes are ``BuildChunk`` (a committed
build chunk), ``GraphMeta`` (corpus totals) and ``Evidence`` (a supporting
sentence, reserved). Relationship types are :data:`ctk.records.RELATION_TYPES`
in upper case (``symptom_of`` -> ``SYMPTOM_OF``).
"""

from __future__ import annotations

from collections.abc import Container
from typing import Literal

from ctk.errors import SchemaViolationError
from ctk.records import CONCEPT_TYPES, RELATION_TYPES

__all__ = [
    "BOOKKEEPING_LABELS",
    "CONCEPT_LABEL",
    "NODE_LABELS",
    "RELATIONSHIP_TYPES",
    "TYPE_LABELS",
    "check_label",
    "check_relation_type",
    "check_relationship_type",
    "check_schema_name",
    "label_for_type",
    "relation_type_for",
    "relationship_type_for",
]

#: The label every concept node carries.
CONCEPT_LABEL = "Concept"

#: Concept type (``ctk.records.ConceptType``) -> its extra node label.
TYPE_LABELS: dict[str, str] = {
    "disease": "Disease",
    "symptom": "Symptom",
    "finding": "Finding",
    "lab_test": "LabTest",
    "drug": "Drug",
    "procedure": "Procedure",
    "other": "Other",
}

#: Labels of bookkeeping nodes.
BOOKKEEPING_LABELS: tuple[str, ...] = ("BuildChunk", "GraphMeta", "Evidence")

#: Every node label a store may write.
NODE_LABELS: frozenset[str] = frozenset((CONCEPT_LABEL, *TYPE_LABELS.values(), *BOOKKEEPING_LABELS))

#: Relation type (``ctk.records.RelationType``) -> Neo4j relationship type.
RELATIONSHIP_TYPES: dict[str, str] = {t: t.upper() for t in RELATION_TYPES}

_REL_TYPE_BACK: dict[str, str] = {v: k for k, v in RELATIONSHIP_TYPES.items()}

assert set(TYPE_LABELS) == set(CONCEPT_TYPES), "TYPE_LABELS must cover CONCEPT_TYPES"


#: What each kind of schema name may be: kind -> (the names, as listed in the hint).
SchemaKind = Literal["node label", "relationship type", "relation type", "concept type"]
_SCHEMA_NAMES: dict[str, tuple[Container[str], list[str]]] = {
    "node label": (NODE_LABELS, sorted(NODE_LABELS)),
    "relationship type": (_REL_TYPE_BACK, sorted(_REL_TYPE_BACK)),
    "relation type": (RELATIONSHIP_TYPES, list(RELATION_TYPES)),
    "concept type": (TYPE_LABELS, list(CONCEPT_TYPES)),
}


def check_schema_name(kind: SchemaKind, name: str) -> str:
    """Return ``name`` if it is a ``kind`` of the graph schema (the one check of this module).

    Args:
        kind: ``node label`` (``Disease``), ``relationship type`` (``SYMPTOM_OF``),
            ``relation type`` (``symptom_of``) or ``concept type`` (``lab_test``).
        name: The name to check.

    Returns:
        The name, unchanged.

    Raises:
        SchemaViolationError: It is not in the schema; the hint lists the valid names.
    """
    allowed, listed = _SCHEMA_NAMES[kind]
    if name not in allowed:
        raise SchemaViolationError(
            f"{kind} {name!r} is not in the graph schema", hint=f"use one of: {', '.join(listed)}"
        )
    return name


def check_label(label: str) -> str:
    """Return ``label`` if it is a node label of :data:`NODE_LABELS` (else SchemaViolationError)."""
    return check_schema_name("node label", label)


def check_relationship_type(rel_type: str) -> str:
    """Return ``rel_type`` if it is a relationship type of :data:`RELATIONSHIP_TYPES` (or raise)."""
    return check_schema_name("relationship type", rel_type)


def check_relation_type(relation_type: str) -> str:
    """Return ``relation_type`` if it is a ctk relation type (``symptom_of``; else raise)."""
    return check_schema_name("relation type", relation_type)


def relationship_type_for(relation_type: str) -> str:
    """The Neo4j relationship type of a ctk relation type (``symptom_of`` -> ``SYMPTOM_OF``).

    Raises:
        SchemaViolationError: Unknown relation type.
    """
    return RELATIONSHIP_TYPES[check_relation_type(relation_type)]


def relation_type_for(rel_type: str) -> str:
    """The ctk relation type of a Neo4j relationship type (``SYMPTOM_OF`` -> ``symptom_of``).

    Raises:
        SchemaViolationError: Unknown relationship type.
    """
    return _REL_TYPE_BACK[check_relationship_type(rel_type)]


def label_for_type(concept_type: str) -> str:
    """The node label of a concept type (``lab_test`` -> ``LabTest``).

    Raises:
        SchemaViolationError: Unknown concept type.
    """
    return TYPE_LABELS[check_schema_name("concept type", concept_type)]
