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


def check_label(label: str) -> str:
    """Return ``label`` if it is a node label of the schema.

    Args:
        label: A node label such as ``Disease``.

    Returns:
        The label, unchanged.

    Raises:
        SchemaViolationError: The label is not in :data:`NODE_LABELS`.
    """
    if label not in NODE_LABELS:
        raise SchemaViolationError(
            f"node label {label!r} is not in the graph schema",
            hint=f"use one of: {', '.join(sorted(NODE_LABELS))}",
        )
    return label


def check_relationship_type(rel_type: str) -> str:
    """Return ``rel_type`` if it is a Neo4j relationship type of the schema.

    Args:
        rel_type: An upper-case relationship type such as ``SYMPTOM_OF``.

    Returns:
        The type, unchanged.

    Raises:
        SchemaViolationError: The type is not in :data:`RELATIONSHIP_TYPES`.
    """
    if rel_type not in _REL_TYPE_BACK:
        raise SchemaViolationError(
            f"relationship type {rel_type!r} is not in the graph schema",
            hint=f"use one of: {', '.join(sorted(_REL_TYPE_BACK))}",
        )
    return rel_type


def check_relation_type(relation_type: str) -> str:
    """Return ``relation_type`` if it is a ctk relation type (``symptom_of``).

    Raises:
        SchemaViolationError: The type is not in :data:`ctk.records.RELATION_TYPES`.
    """
    if relation_type not in RELATIONSHIP_TYPES:
        raise SchemaViolationError(
            f"relation type {relation_type!r} is not in the graph schema",
            hint=f"use one of: {', '.join(RELATION_TYPES)}",
        )
    return relation_type


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
    try:
        return TYPE_LABELS[concept_type]
    except KeyError:
        raise SchemaViolationError(
            f"concept type {concept_type!r} is not in the graph schema",
            hint=f"use one of: {', '.join(CONCEPT_TYPES)}",
        ) from None
