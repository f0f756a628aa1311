"""Every Cypher statement ctk sends to Neo4j.

Values always travel as parameters (``$rows``, ``$id``...). Labels and
relationship types cannot be parameters, so the functions that build a
statement for one label or type first pass it through
:func:`ctk.kg.schema.check_label` / :func:`ctk.kg.schema.check_relationship_type`
and only then put it, back-quoted, into the text. A name outside the schema
raises :class:`ctk.errors.SchemaViolationError` before any query is built.

The graph model is described in :mod:`ctk.kg.stores.neo4j`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ctk.kg.schema import (
    CONCEPT_LABEL,
    RELATIONSHIP_TYPES,
    check_label,
    check_relationship_type,
)

__all__ = [
    "AWAIT_INDEXES",
    "CHUNK_CREATE",
    "CHUNK_EXISTS",
    "CHUNK_IDS",
    "CHUNK_TIMES",
    "CLEAR_ALL",
    "CONCEPT_BY_ID",
    "CONCEPT_COUNTS_BY_TYPE",
    "CONCEPT_PAGE",
    "CONSTRAINTS",
    "COUNTED_DOCUMENTS_ALL",
    "COUNTED_DOCUMENTS_CREATE",
    "COUNTED_DOCUMENTS_STORED",
    "COUNT_CHUNKS",
    "COUNT_CONCEPTS",
    "DELETE_DOCUMENT_EVIDENCE",
    "EVIDENCE_COUNT",
    "FILL_EMPTY_SYNONYMS",
    "FIND_CONCEPTS",
    "INDEXES",
    "MERGE_CONCEPTS",
    "META_ADD",
    "META_READ",
    "NEIGHBOURS",
    "PRUNE_RELATIONS",
    "RELATIONS_ALL",
    "RELATION_COUNTS_BY_TYPE",
    "WEIGHT_INPUTS",
    "merge_relation_per_row",
    "merge_relations_add",
    "relation_by_id",
    "relation_id_indexes",
    "rows_param",
    "set_concepts",
    "set_relations",
    "set_weights",
]


def _label(label: str) -> str:
    return f"`{check_label(label)}`"


def _rel_type(rel_type: str) -> str:
    return f"`{check_relationship_type(rel_type)}`"


# ---------------------------------------------------------------------- schema
#: Uniqueness constraints (each also creates the index MERGE uses).
CONSTRAINTS: tuple[str, ...] = (
    "CREATE CONSTRAINT ctk_concept_id IF NOT EXISTS FOR (c:Concept) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT ctk_chunk_id IF NOT EXISTS FOR (c:BuildChunk) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT ctk_meta_id IF NOT EXISTS FOR (m:GraphMeta) REQUIRE m.id IS UNIQUE",
    "CREATE CONSTRAINT ctk_counted_document_key IF NOT EXISTS "
    "FOR (d:CountedDocument) REQUIRE d.key IS UNIQUE",
)

#: Lookup indexes on concept names.
INDEXES: tuple[str, ...] = (
    "CREATE INDEX ctk_concept_name IF NOT EXISTS FOR (c:Concept) ON (c.name_lower)",
)


def relation_id_indexes() -> list[str]:
    """One index on the fact id ``r.id`` per relationship type."""
    return [
        f"CREATE INDEX ctk_rel_{t.lower()}_id IF NOT EXISTS FOR ()-[r:{_rel_type(t)}]-() ON (r.id)"
        for t in RELATIONSHIP_TYPES.values()
    ]


# ---------------------------------------------------------------------- chunks and meta
CHUNK_EXISTS = "MATCH (c:BuildChunk {id: $id}) RETURN count(c) AS n"
CHUNK_CREATE = "CREATE (:BuildChunk {id: $id, applied_at: $applied_at})"
CHUNK_IDS = "MATCH (c:BuildChunk) RETURN c.id AS id"
CHUNK_TIMES = "MATCH (c:BuildChunk) RETURN c.id AS id, c.applied_at AS applied_at"
COUNT_CHUNKS = "MATCH (c:BuildChunk) RETURN count(c) AS n"

# ---------------------------------------------------------------------- counted documents
#: The content keys of ``$keys = {items: [key, ...]}`` that the graph already counted.
COUNTED_DOCUMENTS_STORED = """
UNWIND $keys.items AS key
MATCH (d:CountedDocument {key: key})
RETURN d.key AS key
"""
#: Every counted document, by key.
COUNTED_DOCUMENTS_ALL = (
    "MATCH (d:CountedDocument) "
    "RETURN d.key AS key, d.source AS source, d.document_id AS document_id ORDER BY d.key"
)
#: Records counted documents. Rows: ``{key, source, document_id}``.
COUNTED_DOCUMENTS_CREATE = """
UNWIND $rows.items AS row
CREATE (:CountedDocument {key: row.key, source: row.source, document_id: row.document_id})
RETURN count(*) AS n
"""

META_ADD = """
MERGE (m:GraphMeta {id: 'graph'})
ON CREATE SET m.sentences = 0, m.documents = 0
SET m.sentences = m.sentences + $sentences, m.documents = m.documents + $documents
"""
META_READ = (
    "OPTIONAL MATCH (m:GraphMeta {id: 'graph'}) "
    "RETURN coalesce(m.sentences, 0) AS sentences, coalesce(m.documents, 0) AS documents"
)

#: Stores ``[]`` where a bulk import left a concept without synonyms (the importer
#: cannot write an empty list; the MERGE path stores one). Auto-commit transaction only.
FILL_EMPTY_SYNONYMS = """
MATCH (c:Concept) WHERE c.synonyms IS NULL OR c.synonyms_lower IS NULL
CALL (c) {
    SET c.synonyms = coalesce(c.synonyms, []), c.synonyms_lower = coalesce(c.synonyms_lower, [])
} IN TRANSACTIONS OF 10000 ROWS
"""

#: Waits until every index is online (``$timeout`` seconds at most).
AWAIT_INDEXES = "CALL db.awaitIndexes($timeout)"

#: Deletes the edges between concepts seen in fewer than ``$min_count`` documents, in
#: batches (auto-commit transaction only); returns how many.
PRUNE_RELATIONS = """
MATCH (:Concept)-[r]->(:Concept) WHERE r.count < $min_count
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
RETURN count(*) AS deleted
"""

#: Deletes every node and relationship, in batches (auto-commit transaction only).
CLEAR_ALL = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


# ---------------------------------------------------------------------- batches
# A batch travels as ``$rows = {items: [row, ...]}`` and statements read
# ``UNWIND $rows.items AS row``. Neo4j 5 keys its plan cache on the size bucket
# of every *list* parameter (1, 2-9, 10-99, 100-999, ...), so a bare list
# parameter is re-planned whenever a batch lands in a new bucket (the last
# batch of a chunk, a small chunk): on a cold server that is 0.2-1 s a plan. A
# map parameter has no size hint, so each statement text is planned once.
# :func:`rows_param` builds the parameter.


def rows_param(rows: Iterable[Any]) -> dict[str, list[Any]]:
    """The ``$rows`` parameter of a batched statement: ``{"items": [row, ...]}``."""
    return {"items": list(rows)}


# ---------------------------------------------------------------------- concepts
#: Batched concept upsert for every type label at once: first name/type kept,
#: mentions added, new synonyms appended. Rows: ``{id, label, name, name_lower,
#: type, synonyms, mentions}``. The type label is set with ``SET c:$(row.label)``
#: (a value, checked against the allow-list in Python, never query text), so one
#: plan serves every type; the ``MERGE`` itself uses the static ``Concept``
#: label and hence the ``Concept.id`` uniqueness index.
MERGE_CONCEPTS = f"""
UNWIND $rows.items AS row
MERGE (c:{_label(CONCEPT_LABEL)} {{id: row.id}})
ON CREATE SET c:$(row.label), c.name = row.name, c.name_lower = row.name_lower,
    c.type = row.type, c.mentions = row.mentions, c.synonyms = row.synonyms,
    c.synonyms_lower = [s IN row.synonyms | toLower(s)]
ON MATCH SET c.mentions = c.mentions + row.mentions,
    c.synonyms_lower = coalesce(c.synonyms_lower, [])
        + [s IN row.synonyms WHERE NOT s IN c.synonyms | toLower(s)],
    c.synonyms = c.synonyms + [s IN row.synonyms WHERE NOT s IN c.synonyms]
RETURN count(c) AS n
"""


def set_concepts(type_label: str) -> str:
    """Batched concept upsert for one type label that replaces every property.

    Rows: ``{id, name, name_lower, type, synonyms, mentions}``. The old type
    label is removed first.
    """
    removals = ", ".join(
        f"c:{_label(lbl)}"
        for lbl in ("Disease", "Symptom", "Finding", "LabTest", "Drug", "Procedure", "Other")
    )
    return f"""
UNWIND $rows.items AS row
MERGE (c:{_label(CONCEPT_LABEL)} {{id: row.id}})
REMOVE {removals}
SET c:{_label(type_label)}, c.name = row.name, c.name_lower = row.name_lower,
    c.type = row.type, c.mentions = row.mentions, c.synonyms = row.synonyms,
    c.synonyms_lower = [s IN row.synonyms | toLower(s)]
RETURN count(c) AS n
"""


CONCEPT_BY_ID = "MATCH (c:Concept {id: $id}) RETURN c"

FIND_CONCEPTS = """
MATCH (c:Concept)
WHERE c.name_lower STARTS WITH $key OR any(s IN c.synonyms_lower WHERE s STARTS WITH $key)
WITH c, CASE
    WHEN c.name_lower = $key THEN 0
    WHEN $key IN c.synonyms_lower THEN 1
    WHEN c.name_lower STARTS WITH $key THEN 2
    ELSE 3 END AS rank
RETURN c ORDER BY rank, c.mentions DESC, size(c.name), c.id LIMIT $limit
"""

CONCEPT_PAGE = "MATCH (c:Concept) RETURN c ORDER BY c.id"
COUNT_CONCEPTS = "MATCH (c:Concept) RETURN count(c) AS n"
CONCEPT_COUNTS_BY_TYPE = "MATCH (c:Concept) RETURN c.type AS type, count(c) AS n ORDER BY type"


# ---------------------------------------------------------------------- relations
_EVIDENCE_LISTS = ("ev_key", "ev_source", "ev_document", "ev_sentence", "ev_year")
_EVIDENCE_FIELDS = ("key", "source", "document_id", "sentence", "year")


def _merge_relation_body(rel_type: str) -> str:
    """The upsert of one ``row`` (bound by the caller) into an edge of ``rel_type``.

    Everything happens inside the ``MERGE`` (``ON CREATE SET`` / ``ON MATCH
    SET``) and nothing after it reads a property, so the planner needs no
    ``Eager`` barrier and the rows stream. A new edge gets the row's first
    ``$cap`` evidence entries; an existing one appends the entries whose key it
    lacks, up to ``$cap``. Empty evidence lists are never stored (an edge
    without evidence has no ``ev_*`` properties): five empty list properties
    tripled the commit time of an evidence-less chunk. ``ev_key`` is assigned
    last because the other items read it.
    """
    old_keys = "coalesce(r.ev_key, [])"
    new = (
        f"[e IN row.evidence WHERE NOT e.key IN {old_keys}]"
        f"[0..CASE WHEN size({old_keys}) < $cap THEN $cap - size({old_keys}) ELSE 0 END]"
    )
    create = ",\n    ".join(
        f"r.{name} = CASE WHEN size(row.evidence) > 0 "
        f"THEN [e IN row.evidence[0..$cap] | e.{field}] END"
        for name, field in zip(_EVIDENCE_LISTS, _EVIDENCE_FIELDS, strict=True)
    )
    appends = ",\n    ".join(
        f"r.{name} = CASE WHEN size({new}) > 0 "
        f"THEN coalesce(r.{name}, []) + [e IN {new} | e.{field}] ELSE r.{name} END"
        for name, field in reversed(list(zip(_EVIDENCE_LISTS, _EVIDENCE_FIELDS, strict=True)))
    )
    return f"""
MATCH (a:Concept {{id: row.source_id}})
MATCH (b:Concept {{id: row.target_id}})
MERGE (a)-[r:{_rel_type(rel_type)}]->(b)
ON CREATE SET r.id = row.id, r.count = row.count, r.weight = 0.0,
    {create}
ON MATCH SET r.count = r.count + row.count,
    {appends}
RETURN count(r) AS n
"""


def merge_relations_add(rel_type: str) -> str:
    """Batched edge upsert for one relationship type: counts add, evidence capped.

    Rows: ``{id, source_id, target_id, count, evidence: [{key, source,
    document_id, sentence, year}]}`` with evidence already deduplicated within
    the row. ``$cap`` is the evidence cap. Returns the number of rows written,
    which is smaller than the batch when an endpoint is missing. Both
    endpoints are found through the ``Concept.id`` uniqueness index; the edge
    ``MERGE`` between two bound nodes is an ``Expand(Into)`` on one type.
    """
    return "UNWIND $rows.items AS row" + _merge_relation_body(rel_type)


def set_relations(rel_type: str) -> str:
    """Batched edge upsert for one relationship type that replaces count, weight, evidence."""
    lists = ",\n    ".join(
        f"r.{name} = CASE WHEN size(row.evidence) > 0 THEN [e IN row.evidence | e.{field}] END"
        for name, field in zip(_EVIDENCE_LISTS, _EVIDENCE_FIELDS, strict=True)
    )
    return f"""
UNWIND $rows.items AS row
MATCH (a:Concept {{id: row.source_id}})
MATCH (b:Concept {{id: row.target_id}})
MERGE (a)-[r:{_rel_type(rel_type)}]->(b)
SET r.id = row.id, r.count = row.count, r.weight = row.weight,
    {lists}
RETURN count(r) AS n
"""


def merge_relation_per_row(rel_type: str) -> str:
    """One-edge upsert (no ``UNWIND``): the per-row baseline of the load benchmark.

    The same work as :func:`merge_relations_add` for one row given as ``$row``
    (same matching, counting and evidence cap), so the benchmark compares
    batching only.
    """
    return "WITH $row AS row" + _merge_relation_body(rel_type)


DELETE_DOCUMENT_EVIDENCE = """
MATCH ()-[r]->()
WHERE r.ev_document IS NOT NULL AND any(d IN r.ev_document WHERE d IN $documents)
WITH r, [i IN range(0, size(r.ev_document) - 1) WHERE NOT r.ev_document[i] IN $documents]
    AS keep
SET r.ev_key = [i IN keep | r.ev_key[i]],
    r.ev_source = [i IN keep | r.ev_source[i]],
    r.ev_document = [i IN keep | r.ev_document[i]],
    r.ev_sentence = [i IN keep | r.ev_sentence[i]],
    r.ev_year = [i IN keep | r.ev_year[i]]
"""

_REL_RETURN = "r, type(r) AS type, a.id AS source_id, b.id AS target_id"


def relation_by_id(rel_type: str) -> str:
    """Look up one edge of a relationship type by fact id (uses the id index)."""
    return (
        f"MATCH (a:Concept)-[r:{_rel_type(rel_type)} {{id: $id}}]->(b:Concept) RETURN {_REL_RETURN}"
    )


NEIGHBOURS = """
MATCH (c:Concept {id: $id})
CALL (c) {
    MATCH (c)-[r]->(o:Concept)
    RETURN r, c.id AS source_id, o.id AS target_id, o, 'out' AS direction
    UNION ALL
    MATCH (c)<-[r]-(o:Concept)
    WHERE o.id <> c.id
    RETURN r, o.id AS source_id, c.id AS target_id, o, 'in' AS direction
}
WITH r, source_id, target_id, o, direction
WHERE ($types IS NULL OR type(r) IN $types) AND ($min_weight IS NULL OR r.weight >= $min_weight)
  AND coalesce(r.count, 0) >= $min_count
RETURN r, type(r) AS type, source_id, target_id, o, direction
ORDER BY r.weight DESC, r.count DESC, r.id
LIMIT $limit
"""

RELATIONS_ALL = f"MATCH (a:Concept)-[r]->(b:Concept) RETURN {_REL_RETURN} ORDER BY r.id"
RELATION_COUNTS_BY_TYPE = (
    "MATCH (:Concept)-[r]->(:Concept) RETURN type(r) AS type, count(r) AS n ORDER BY type"
)
EVIDENCE_COUNT = (
    "MATCH (:Concept)-[r]->(:Concept) WHERE r.ev_key IS NOT NULL "
    "RETURN coalesce(sum(size(r.ev_key)), 0) AS n"
)

WEIGHT_INPUTS = """
MATCH (a:Concept)-[r]->(b:Concept)
RETURN r.id AS id, type(r) AS type, r.count AS count, a.mentions AS count_a,
    b.mentions AS count_b
"""


def set_weights(rel_type: str) -> str:
    """Batched weight update for one relationship type; rows ``{id, weight}``."""
    return f"""
UNWIND $rows.items AS row
MATCH ()-[r:{_rel_type(rel_type)} {{id: row.id}}]->()
SET r.weight = row.weight
"""
