"""Hostile names are data, never code; labels and types outside the schema never reach a query."""

from __future__ import annotations

import pytest

from ctk.errors import SchemaViolationError
from ctk.kg import cypher
from ctk.kg.schema import check_label, check_relationship_type, label_for_type
from ctk.kg.stores import GraphDelta, GraphStore, RelationDelta
from ctk.records import Concept, Evidence, Relation

HOSTILE = [
    "O'Brien's \"syndrome\"",
    "back`tick` `Concept`",
    "x'}) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n RETURN 1 //',
    "'; DROP TABLE concepts; --",
    "$rows {id: 1} \\u0027 \\",
    "CALL dbms.shutdown()",
    "unicode ✓ — naïve\x00nul",
]


def hostile_delta() -> GraphDelta:
    concepts = [
        Concept(
            id=f"ctk:{i}:{name}", name=name, type="disease", synonyms=[name + " syn"], mentions=1
        )
        for i, name in enumerate(HOSTILE)
    ]
    relations = [
        RelationDelta(
            source_id=concepts[i].id,
            target_id=concepts[i + 1].id,
            type="associated_with",
            evidence=[Evidence(source="text", document_id=HOSTILE[i], sentence=HOSTILE[i + 1])],
        )
        for i in range(len(concepts) - 1)
    ]
    return GraphDelta(concepts=concepts, relations=relations, sentences=10, documents=1)


def test_hostile_names_are_stored_and_read_back_verbatim(store: GraphStore) -> None:
    delta = hostile_delta()
    assert store.apply_chunk(HOSTILE[2], delta).applied is True
    assert store.done_chunks() == {HOSTILE[2]}
    stats = store.stats()
    assert (stats.concepts, stats.relations, stats.evidence) == (
        len(HOSTILE),
        len(HOSTILE) - 1,
        len(HOSTILE) - 1,
    )
    for concept in delta.concepts:
        stored = store.get_concept(concept.id)
        assert stored is not None
        assert stored.name == concept.name
        assert stored.synonyms == concept.synonyms
        assert store.find_concepts(concept.name)[0].id == concept.id
    for r in delta.relations:
        edge = store.get_relation(Relation.make_id(r.source_id, r.type, r.target_id))
        assert edge is not None
        assert edge.evidence == r.evidence
    assert len(store.neighbours(delta.concepts[3].id)) == 2
    store.apply_chunk("retract", GraphDelta(deleted_documents=[HOSTILE[2]]))
    assert store.stats().evidence == len(HOSTILE) - 2
    assert store.stats().concepts == len(HOSTILE)  # nothing was deleted by a name


def test_unknown_relation_type_is_refused_before_any_write(store: GraphStore) -> None:
    store.apply_chunk("base", hostile_delta())
    before = store.stats()
    evil = RelationDelta.model_construct(
        source_id="a", target_id="b", type="CAUSES]->(b) DETACH DELETE b //", count=1, evidence=[]
    )
    delta = GraphDelta.model_construct(
        concepts=[], relations=[evil], sentences=1, documents=0, deleted_documents=[]
    )
    with pytest.raises(SchemaViolationError):
        store.apply_chunk("evil", delta)
    assert store.stats() == before
    assert "evil" not in store.done_chunks()
    bad = Relation.model_construct(
        id="a|x|b", source_id="a", target_id="b", type="x` DELETE", count=1, weight=0.0, evidence=[]
    )
    with pytest.raises(SchemaViolationError):
        store.upsert_relations([bad])
    bad_concept = Concept.model_construct(
        id="z", name="z", type="Disease:Admin", synonyms=[], mentions=0
    )
    with pytest.raises(SchemaViolationError):
        store.upsert_concepts([bad_concept])
    assert store.stats() == before


@pytest.mark.parametrize(
    "name", ["Concept) DETACH DELETE (n", "Disease`", "concept", "", "SYMPTOM_OF", "Admin"]
)
def test_schema_allow_list_refuses_labels(name: str) -> None:
    with pytest.raises(SchemaViolationError):
        check_label(name)


@pytest.mark.parametrize("rel_type", ["symptom_of", "SYMPTOM_OF]->() DELETE r //", "KNOWS", ""])
def test_schema_allow_list_refuses_relationship_types(rel_type: str) -> None:
    with pytest.raises(SchemaViolationError):
        check_relationship_type(rel_type)
    with pytest.raises(SchemaViolationError):
        cypher.merge_relations_add(rel_type)


def test_allowed_names_pass_and_are_quoted() -> None:
    assert check_label("Disease") == "Disease"
    assert label_for_type("lab_test") == "LabTest"
    query = cypher.merge_relations_add("SYMPTOM_OF")
    assert "`SYMPTOM_OF`" in query
    assert "$rows" in query
    with pytest.raises(SchemaViolationError):
        cypher.set_concepts("Disease` SET n.x = 1 //")
