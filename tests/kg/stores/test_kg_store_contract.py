"""One contract for every graph store: the same tests over the embedded store and Neo4j."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ctk.errors import SchemaViolationError, StoreWriteError
from ctk.kg.extraction.weights import association_weight
from ctk.kg.extraction.weights import npmi as _npmi
from ctk.kg.networkx_view import to_networkx
from ctk.kg.stores import GraphDelta, GraphStore, RelationDelta
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Concept, Evidence, Relation

HF, DYSP, EDEMA, FUROS, BNP = (
    "ctk:heart_failure",
    "ctk:dyspnea",
    "ctk:edema",
    "ctk:furosemide",
    "ctk:bnp",
)


def ev(doc: str, sentence: str, source: str = "pubmed", year: int | None = 2020) -> Evidence:
    return Evidence(source=source, document_id=doc, sentence=sentence, year=year)


def corpus() -> list[tuple[str, GraphDelta]]:
    """Three chunks of a tiny corpus: 40 sentences, 5 concepts, 5 edges."""
    return [
        (
            "pubmed-1",
            GraphDelta(
                concepts=[
                    Concept(
                        id=HF, name="Heart failure", type="disease", synonyms=["CHF"], mentions=8
                    ),
                    Concept(id=DYSP, name="Dyspnea", type="symptom", synonyms=["SOB"], mentions=5),
                    Concept(id=FUROS, name="Furosemide", type="drug", mentions=3),
                ],
                relations=[
                    RelationDelta(
                        source_id=DYSP,
                        target_id=HF,
                        type="symptom_of",
                        count=4,
                        evidence=[ev("1001", "Dyspnea is a symptom of heart failure.")],
                    ),
                    RelationDelta(
                        source_id=FUROS,
                        target_id=HF,
                        type="treats",
                        count=2,
                        evidence=[ev("1002", "Furosemide treats heart failure.", year=None)],
                    ),
                ],
                sentences=20,
                documents=2,
            ),
        ),
        (
            "wikipedia-1",
            GraphDelta(
                concepts=[
                    Concept(
                        id=HF,
                        name="heart failure (renamed)",
                        type="disease",
                        synonyms=["CHF", "cardiac failure"],
                        mentions=4,
                    ),
                    Concept(id=EDEMA, name="Edema", type="finding", mentions=2),
                    Concept(
                        id=BNP,
                        name="BNP",
                        type="lab_test",
                        synonyms=["brain natriuretic peptide"],
                        mentions=1,
                    ),
                ],
                relations=[
                    RelationDelta(
                        source_id=DYSP,
                        target_id=HF,
                        type="symptom_of",
                        count=1,
                        evidence=[
                            ev("Heart failure", "Shortness of breath in HF.", "wikipedia", None)
                        ],
                    ),
                    RelationDelta(source_id=EDEMA, target_id=HF, type="symptom_of", count=2),
                    RelationDelta(source_id=HF, target_id=BNP, type="diagnosed_by", count=1),
                ],
                sentences=15,
                documents=1,
            ),
        ),
        (
            "pubmed-2",
            GraphDelta(
                concepts=[Concept(id=DYSP, name="Dyspnea", type="symptom", mentions=1)],
                relations=[
                    RelationDelta(source_id=DYSP, target_id=EDEMA, type="associated_with", count=1),
                ],
                sentences=5,
                documents=1,
            ),
        ),
    ]


def build(store: GraphStore) -> None:
    for chunk_id, delta in corpus():
        store.apply_chunk(chunk_id, delta)
    store.finalize()


def snapshot(store: GraphStore) -> tuple[list[Concept], list[Relation]]:
    concepts = sorted(store.iter_concepts(), key=lambda c: c.id)
    relations = sorted(store.iter_relations(), key=lambda r: r.id)
    for r in relations:
        r.weight = round(r.weight, 9)
    return concepts, relations


# --------------------------------------------------------------------------- chunks and counts


def test_chunk_applies_once_and_is_remembered(store: GraphStore) -> None:
    chunk_id, delta = corpus()[0]
    assert store.apply_chunk(chunk_id, delta).applied is True
    assert store.apply_chunk(chunk_id, delta).applied is False
    assert store.done_chunks() == {chunk_id}
    stats = store.stats()
    assert (stats.concepts, stats.relations, stats.chunks, stats.sentences) == (3, 2, 1, 20)


def test_building_twice_gives_identical_counts_and_weights(store: GraphStore) -> None:
    build(store)
    first_stats, first = store.stats(), snapshot(store)
    build(store)  # every chunk is skipped
    assert store.stats() == first_stats
    assert snapshot(store) == first
    store.clear()
    build(store)  # from scratch
    assert store.stats() == first_stats
    assert snapshot(store) == first
    assert first_stats.concepts == 5
    assert first_stats.relations == 5
    assert first_stats.sentences == 40
    assert first_stats.documents == 4
    assert first_stats.chunks == 3
    assert first_stats.concepts_by_type == {
        "disease": 1,
        "drug": 1,
        "finding": 1,
        "lab_test": 1,
        "symptom": 1,
    }
    assert first_stats.relations_by_type == {
        "associated_with": 1,
        "diagnosed_by": 1,
        "symptom_of": 2,
        "treats": 1,
    }


def test_merge_rules_for_concepts_and_edges(store: GraphStore) -> None:
    build(store)
    hf = store.get_concept(HF)
    assert hf is not None
    assert hf.name == "Heart failure"  # first name kept
    assert hf.type == "disease"
    assert hf.synonyms == ["CHF", "cardiac failure"]  # union, first-seen order
    assert hf.mentions == 12
    dysp = store.get_concept(DYSP)
    assert dysp is not None and dysp.mentions == 6
    edge = store.get_relation(Relation.make_id(DYSP, "symptom_of", HF))
    assert edge is not None
    assert edge.count == 5
    assert [e.document_id for e in edge.evidence] == ["1001", "Heart failure"]
    assert edge.evidence[0] == ev("1001", "Dyspnea is a symptom of heart failure.")
    assert edge.evidence[1].year is None
    assert store.get_relation("ctk:nothing|treats|ctk:none") is None
    assert store.get_concept("ctk:none") is None


def test_finalize_sets_support_shrunk_npmi_weights(store: GraphStore) -> None:
    build(store)
    edge = store.get_relation(Relation.make_id(DYSP, "symptom_of", HF))
    assert edge is not None
    # over the documents total (4), shrunk by support: npmi * 5 / (5 + 3)
    assert edge.weight == pytest.approx(association_weight(5, 6, 12, 4))
    assert edge.weight == pytest.approx(_npmi(5, 6, 12, 4) * 5 / 8)
    assert -1.0 <= edge.weight <= 1.0
    assert edge.weight > 0
    # p_ab == 1: every sentence holds both concepts
    store.clear()
    store.apply_chunk(
        "all",
        GraphDelta(
            concepts=[
                Concept(id="a", name="a", type="other", mentions=3),
                Concept(id="b", name="b", type="other", mentions=3),
            ],
            relations=[RelationDelta(source_id="a", target_id="b", type="causes", count=3)],
            sentences=3,
        ),
    )
    store.finalize()
    only = store.get_relation(Relation.make_id("a", "causes", "b"))
    # no documents recorded: the sentences total; NPMI 1.0 shrunk by 3 / (3 + 3)
    assert only is not None and only.weight == pytest.approx(0.5)


def test_prune_drops_rare_edges_with_their_evidence(store: GraphStore) -> None:
    build(store)
    before = {r.id: r.count for r in store.iter_relations(with_evidence=False)}
    concepts_before = store.stats().concepts
    deleted = store.prune(3)
    after = {r.id: r.count for r in store.iter_relations(with_evidence=False)}
    assert deleted == sum(1 for c in before.values() if c < 3) > 0
    assert after == {k: c for k, c in before.items() if c >= 3}
    assert store.stats().concepts == concepts_before  # concepts stay
    for fact_id in set(before) - set(after):
        assert store.get_relation(fact_id) is None


def test_npmi_formula_edges() -> None:
    assert _npmi(0, 3, 3, 10) == -1.0
    assert _npmi(2, 0, 3, 10) == 0.0
    assert _npmi(2, 2, 2, 10) == pytest.approx(1.0)  # always together
    assert _npmi(1, 5, 5, 10) == pytest.approx(math.log(0.4) / -math.log(0.1))


def test_evidence_is_capped_first_seen_and_deduplicated(store: GraphStore) -> None:
    store.max_evidence_per_edge = 3
    concepts = [
        Concept(id="a", name="A", type="disease", mentions=1),
        Concept(id="b", name="B", type="symptom", mentions=1),
    ]
    first = [ev("1", "s1"), ev("1", "s1"), ev("2", "s2")]  # one duplicate
    second = [ev("2", "s2"), ev("3", "s3"), ev("4", "s4"), ev("5", "s5")]
    store.apply_chunk(
        "c1",
        GraphDelta(
            concepts=concepts,
            relations=[
                RelationDelta(
                    source_id="b", target_id="a", type="symptom_of", count=3, evidence=first
                )
            ],
        ),
    )
    store.apply_chunk(
        "c2",
        GraphDelta(
            relations=[
                RelationDelta(
                    source_id="b", target_id="a", type="symptom_of", count=4, evidence=second
                )
            ]
        ),
    )
    edge = store.get_relation(Relation.make_id("b", "symptom_of", "a"))
    assert edge is not None
    assert [e.document_id for e in edge.evidence] == ["1", "2", "3"]
    assert edge.count == 7
    assert store.stats().evidence == 3


def test_deleted_documents_remove_evidence_but_keep_counts(store: GraphStore) -> None:
    build(store)
    store.apply_chunk("retractions", GraphDelta(deleted_documents=["1001", "1002"]))
    edge = store.get_relation(Relation.make_id(DYSP, "symptom_of", HF))
    assert edge is not None
    assert [e.document_id for e in edge.evidence] == ["Heart failure"]
    assert edge.count == 5
    treats = store.get_relation(Relation.make_id(FUROS, "treats", HF))
    assert treats is not None and treats.evidence == [] and treats.count == 2


def test_relation_to_unknown_concept_rolls_the_chunk_back(store: GraphStore) -> None:
    delta = GraphDelta(
        concepts=[Concept(id="x", name="X", type="disease", mentions=1)],
        relations=[RelationDelta(source_id="x", target_id="ghost", type="causes")],
        sentences=1,
    )
    with pytest.raises(StoreWriteError):
        store.apply_chunk("bad", delta)
    assert store.done_chunks() == set()
    assert store.get_concept("x") is None
    assert store.stats().sentences == 0


# --------------------------------------------------------------------------- reads


def test_find_concepts_by_name_synonym_and_prefix(store: GraphStore) -> None:
    build(store)
    assert [c.id for c in store.find_concepts("heart FAILURE")] == [HF]
    assert [c.id for c in store.find_concepts("chf")] == [HF]
    assert [c.id for c in store.find_concepts("Brain natriuretic peptide")] == [BNP]
    assert [c.id for c in store.find_concepts("  dysp ")] == [DYSP]
    assert [c.id for c in store.find_concepts("b")] == [BNP]  # name prefix, then synonyms
    assert store.find_concepts("zzz") == []
    assert store.find_concepts("") == []
    assert len(store.find_concepts("", limit=3)) == 0


def test_neighbours_both_directions_sorted_and_filtered(store: GraphStore) -> None:
    build(store)
    around = store.neighbours(HF)
    assert {n.concept.id for n in around} == {DYSP, EDEMA, FUROS, BNP}
    weights = [n.relation.weight for n in around]
    assert weights == sorted(weights, reverse=True)
    direction = {n.concept.id: n.direction for n in around}
    assert direction[BNP] == "out" and direction[DYSP] == "in"
    by_id = {n.concept.id: n for n in around}
    assert by_id[DYSP].relation.evidence[0].document_id == "1001"
    assert by_id[DYSP].relation.source_id == DYSP
    only = store.neighbours(HF, relation_types=["symptom_of"])
    assert {n.concept.id for n in only} == {DYSP, EDEMA}
    assert len(store.neighbours(HF, limit=2)) == 2
    best = max(weights)
    assert [n.relation.weight for n in store.neighbours(HF, min_weight=best)] == [best]
    # the support floor: only edges seen in at least min_count documents
    counts = {n.concept.id: n.relation.count for n in around}
    floor = sorted(set(counts.values()))[-1]
    supported = store.neighbours(HF, min_count=floor)
    assert {n.concept.id for n in supported} == {c for c, k in counts.items() if k >= floor}
    assert 0 < len(supported) < len(around)
    assert len(store.neighbours(HF, min_count=1)) == len(around)
    assert store.neighbours("ctk:none") == []
    with pytest.raises(SchemaViolationError):
        store.neighbours(HF, relation_types=["DROP_ALL"])


def test_iterators_stream_everything(store: GraphStore) -> None:
    build(store)
    concepts = list(store.iter_concepts())
    relations = list(store.iter_relations())
    assert len(concepts) == 5 and len({c.id for c in concepts}) == 5
    assert len(relations) == 5
    assert sum(len(r.evidence) for r in relations) == store.stats().evidence == 3
    assert all(r.evidence == [] for r in store.iter_relations(with_evidence=False))


def test_upserts_replace_as_given(store: GraphStore) -> None:
    build(store)
    store.upsert_concepts(
        [Concept(id=HF, name="Cardiac failure", type="finding", synonyms=["HF"], mentions=99)]
    )
    hf = store.get_concept(HF)
    assert hf == Concept(
        id=HF, name="Cardiac failure", type="finding", synonyms=["HF"], mentions=99
    )
    assert store.stats().concepts_by_type["finding"] == 2
    fact = Relation.make_id(DYSP, "symptom_of", HF)
    n = store.upsert_relations(
        [
            Relation(
                id=fact,
                source_id=DYSP,
                target_id=HF,
                type="symptom_of",
                count=42,
                weight=0.25,
                evidence=[ev("9", "replaced")],
            )
        ]
    )
    assert n == 1
    edge = store.get_relation(fact)
    assert edge is not None
    assert (edge.count, edge.weight, [e.sentence for e in edge.evidence]) == (
        42,
        0.25,
        ["replaced"],
    )
    assert store.stats().relations == 5
    with pytest.raises(StoreWriteError):
        store.upsert_relations(
            [Relation(id="x|causes|y", source_id="x", target_id="y", type="causes")]
        )


def test_clear_empties_the_store(store: GraphStore) -> None:
    build(store)
    store.clear()
    stats = store.stats()
    assert (stats.concepts, stats.relations, stats.evidence, stats.chunks, stats.sentences) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert store.done_chunks() == set()


def test_same_graph_as_the_embedded_reference(store: GraphStore, tmp_path: Path) -> None:
    build(store)
    with EmbeddedStore(tmp_path / "reference.db") as reference:
        build(reference)
        assert snapshot(store) == snapshot(reference)
        assert store.stats() == reference.stats()


def test_networkx_view(store: GraphStore) -> None:
    build(store)
    graph = to_networkx(store, with_evidence=True)
    assert graph.number_of_nodes() == 5
    assert graph.number_of_edges() == 5
    data = graph.get_edge_data(DYSP, HF)[Relation.make_id(DYSP, "symptom_of", HF)]
    assert data["count"] == 5 and data["type"] == "symptom_of"
    assert data["evidence"][0].document_id == "1001"
    assert graph.nodes[HF]["synonyms"] == ["CHF", "cardiac failure"]


def _twin_chunk(assoc: int, typed: int, doc: str) -> GraphDelta:
    concepts = [
        Concept(id="ctk:tw_hf", name="tw heart failure", type="disease", mentions=10),
        Concept(id="ctk:tw_furo", name="tw furosemide", type="drug", mentions=5),
    ]
    said = Evidence(source="pubmed", document_id=doc, sentence=f"Furosemide treats HF ({doc}).")
    seen = Evidence(source="pubmed", document_id=f"{doc}b", sentence="Furosemide and HF.")
    return GraphDelta(
        concepts=concepts,
        relations=[
            RelationDelta(source_id="ctk:tw_furo", target_id="ctk:tw_hf",
                          type="associated_with", count=assoc, evidence=[said, seen]),
            RelationDelta(source_id="ctk:tw_furo", target_id="ctk:tw_hf", type="treats",
                          count=typed, evidence=[said]),
        ],
        documents=40,
        sentences=80,
    )  # fmt: skip


def test_typed_edge_and_its_associated_twin_read_as_one(store: GraphStore) -> None:
    """One neighbour with the type, the union count and evidence; resumes change nothing."""
    assert store.apply_chunk("t1", _twin_chunk(3, 1, "d1")).applied
    store.finalize()
    (only,) = store.neighbours("ctk:tw_hf")
    assert only.relation.type == "treats" and only.direction == "in"
    assert only.relation.count == 3
    assoc_weight = next(r.weight for r in store.iter_relations() if r.type == "associated_with")
    assert only.relation.weight == pytest.approx(assoc_weight)
    assert [e.document_id for e in only.relation.evidence] == ["d1", "d1b"]  # typed first
    # a resumed build: the applied chunk is skipped, a new one adds; still one edge
    assert not store.apply_chunk("t1", _twin_chunk(3, 1, "d1")).applied
    assert store.apply_chunk("t2", _twin_chunk(2, 2, "d2")).applied
    store.finalize()
    (again,) = store.neighbours("ctk:tw_hf")
    assert again.relation.type == "treats" and again.relation.count == 5
    # the raw edges stay apart in the store and under a type filter
    assert sorted(r.type for r in store.iter_relations()) == ["associated_with", "treats"]
    (raw,) = store.neighbours("ctk:tw_hf", relation_types=["treats"])
    assert raw.relation.count == 3
    (plain,) = store.neighbours("ctk:tw_hf", relation_types=["associated_with"])
    assert plain.relation.type == "associated_with" and plain.relation.count == 5
