"""`ctk diagnose --store`: the graph facts behind the diagnoses, with their documents."""

from __future__ import annotations

from pathlib import Path

from ctk.kg.facts import graph_facts_for
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Concept, Evidence, Relation


def _store(path: Path) -> EmbeddedStore:
    store = EmbeddedStore(path)
    store.upsert_concepts(
        [
            Concept(id="ctk:chf", name="congestive heart failure", type="disease",
                    synonyms=["heart failure"]),
            Concept(id="ctk:edema", name="peripheral edema", type="finding"),
            Concept(id="ctk:bnp", name="brain natriuretic peptide", type="lab_test"),
            Concept(id="ctk:furosemide", name="furosemide", type="drug"),
        ]
    )  # fmt: skip
    ev = Evidence(source="pubmed", document_id="123", sentence="CHF presents with edema.")
    store.upsert_relations(
        [
            Relation(id=Relation.make_id("ctk:edema", "symptom_of", "ctk:chf"),
                     source_id="ctk:edema", target_id="ctk:chf", type="symptom_of",
                     count=3, weight=0.9, evidence=[ev]),
            Relation(id=Relation.make_id("ctk:chf", "diagnosed_by", "ctk:bnp"),
                     source_id="ctk:chf", target_id="ctk:bnp", type="diagnosed_by",
                     count=2, weight=0.5),
            Relation(id=Relation.make_id("ctk:furosemide", "treats", "ctk:chf"),
                     source_id="ctk:furosemide", target_id="ctk:chf", type="treats",
                     count=1, weight=0.2),
        ]
    )  # fmt: skip
    return store


def test_facts_ranked_by_attention_then_weight(tmp_path: Path) -> None:
    with _store(tmp_path / "kg.db") as store:
        chf = "Congestive heart failure; nonhypertensive"
        facts = graph_facts_for(store, [chf, "Shock"], per_diagnosis=2)
        assert [f.claim for f in facts] == [
            "peripheral edema symptom of congestive heart failure",
            "congestive heart failure diagnosed by brain natriuretic peptide",
        ]
        assert facts[0].documents == ["pubmed:123"] and facts[0].diagnosis == chf
        assert facts[0].fact_id == "ctk:edema|symptom_of|ctk:chf"
        attended = graph_facts_for(store, [chf], knowledge_used=["Furosemide"], per_diagnosis=1)
        assert [f.fact_id for f in attended] == ["ctk:furosemide|treats|ctk:chf"]
