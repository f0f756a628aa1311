"""benchmarks/kg_quality.py: pooled hand judgements on a tiny made-up graph.

A real embedded store with one phenotype (sepsis) and five neighbours; a
reference that accepts one of them; a judgement file that judges three others.
The combined precision, the unjudged count and the linking accuracy are checked,
and so are the pool file and the reader's errors.
"""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ctk.kg.stores import open_store
from ctk.records import Concept, Evidence, Relation

REPO = Path(__file__).resolve().parents[2]
SEPSIS = "ctk:sepsis"
HEADER = "phenotype\tneighbour_id\tneighbour_name\tlinking_ok\trelevant\tkind\treason\n"


@pytest.fixture(scope="module")
def kgq() -> ModuleType:
    """The benchmark script, imported from its file."""
    spec = importlib.util.spec_from_file_location("kg_quality", REPO / "benchmarks/kg_quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kg_quality"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def graph(tmp_path: Path) -> str:
    """Sepsis and five neighbours, best weight first: antibiotic, meningitis, heat
    stroke, height, lactate; one more edge (fever) rests on one document."""
    path = str(tmp_path / "kg.db")
    neighbours = [
        ("ctk:antibiotic", "antibiotic", "drug", 0.9, 9),
        ("ctk:meningitis", "meningitis", "disease", 0.8, 5),
        ("ctk:stroke", "stroke", "disease", 0.7, 3),
        ("ctk:height", "height", "finding", 0.6, 2),
        ("ctk:lactate", "lactate", "lab_test", 0.5, 2),
        ("ctk:fever", "fever", "symptom", 0.95, 1),
    ]
    with open_store(path) as store:
        store.upsert_concepts(
            [Concept(id=SEPSIS, name="sepsis", type="disease", synonyms=["septicemia"])]
            + [Concept(id=cid, name=name, type=kind) for cid, name, kind, _, _ in neighbours]
        )
        store.upsert_relations(
            Relation(
                id=Relation.make_id(cid, "associated_with", SEPSIS),
                source_id=cid,
                target_id=SEPSIS,
                type="associated_with",
                count=count,
                weight=weight,
                evidence=[
                    Evidence(
                        source="pubmed", document_id=f"{i}{k}", sentence=f"{name} in sepsis {k}."
                    )
                    for k in range(4)
                ],
            )
            for i, (cid, name, _, weight, count) in enumerate(neighbours)
        )
    return path


def write(path: Path, rows: list[str]) -> Path:
    path.write_text("# rules: see RESULTS.md\n" + HEADER + "".join(r + "\n" for r in rows))
    return path


JUDGED = [
    "sepsis\tctk:meningitis\tmeningitis\tyes\tyes\tcomplication\tsource or complication",
    "sepsis\tctk:stroke\tstroke\tno\tyes\tcomplication\twrong sense: heat stroke",
    "sepsis\tctk:height\theight\tyes\tno\tnone\tgeneric",
]


def test_combined_precision_counts_unjudged_as_not_relevant(
    kgq: ModuleType, graph: str, tmp_path: Path
) -> None:
    ranked = kgq.graph_ranking(graph, min_count=2)
    assert [nb.id for nb in ranked["sepsis"]] == [
        "ctk:antibiotic",
        "ctk:meningitis",
        "ctk:stroke",
        "ctk:height",
        "ctk:lactate",
    ]  # fever (one document) is under the floor
    reference = {"sepsis": ["antibiotic"]}
    vocab = {"antibiotic": "ctk:antibiotic"}
    judged = kgq.judge(ranked, reference, vocab, 10)
    judgements = kgq.read_judgements(write(tmp_path / "j.tsv", JUDGED))
    figures = kgq.summarise("g", judged, 10, judgements)
    assert figures["precision@10"] == 0.2  # reference only: antibiotic
    # antibiotic (reference) + meningitis (judged); stroke is relevant but wrongly
    # linked, height irrelevant, lactate unjudged: all three count as not relevant
    assert figures["precision@10_pooled"] == 0.4
    assert figures["unjudged"] == 1
    assert figures["judged_listed"] == 3
    assert figures["linking_accuracy"] == round(2 / 3, 3)
    # judging lactate relevant lifts the figure and leaves nothing unjudged
    more = [*JUDGED, "sepsis\tctk:lactate\tlactate\tyes\tyes\ttest\tSSC: measure lactate"]
    figures = kgq.summarise("g", judged, 10, kgq.read_judgements(write(tmp_path / "k.tsv", more)))
    assert (figures["precision@10_pooled"], figures["unjudged"]) == (0.6, 0)
    # without judgements the reference-only figures are all there is
    assert "precision@10_pooled" not in kgq.summarise("g", judged, 10)


def test_pool_lists_each_pair_once_with_evidence_and_what_is_left_to_judge(
    kgq: ModuleType, graph: str, tmp_path: Path
) -> None:
    reference = {"sepsis": ["antibiotic"]}
    vocab = {"antibiotic": "ctk:antibiotic"}
    rankings = [
        ("floor 1", kgq.graph_ranking(graph, min_count=1)),
        ("floor 2", kgq.graph_ranking(graph, min_count=2)),
    ]
    pool = tmp_path / "pool.tsv"
    rows, todo = kgq.write_pool(pool, rankings, reference, vocab, 10, {})
    assert (rows, todo) == (6, 5)  # the union; antibiotic is accepted by the reference
    with pool.open() as f:
        table = list(csv.DictReader(f, delimiter="\t"))
    assert sorted(r["neighbour_name"] for r in table) == sorted(
        ["antibiotic", "fever", "height", "lactate", "meningitis", "stroke"]
    )
    fever = next(r for r in table if r["neighbour_id"] == "ctk:fever")
    assert (fever["count"], fever["reference"], fever["judged"]) == ("1", "no", "no")
    assert fever["evidence_1"].endswith(": fever in sepsis 0.") and fever["evidence_3"]
    # pooling again with judgements only leaves the new rows to judge
    judgements = kgq.read_judgements(write(tmp_path / "j.tsv", JUDGED))
    assert kgq.write_pool(pool, rankings, reference, vocab, 10, judgements) == (6, 2)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("sepsis\tctk:x\tx\tmaybe\tyes\tfinding\tr", "linking_ok must be yes or no"),
        ("sepsis\tctk:x\tx\tyes\tyes\tnone\tr", "needs a kind"),
        ("sepsis\tctk:x\tx\tyes\tno\tgossip\tr", "is not one of"),
        ("sepsis\tctk:x\tx\tyes\tno", "cells"),
    ],
)
def test_bad_judgement_rows_are_named(
    kgq: ModuleType, tmp_path: Path, row: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        kgq.read_judgements(write(tmp_path / "bad.tsv", [row]))


def test_a_pair_judged_twice_is_an_error(kgq: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="judged twice"):
        kgq.read_judgements(write(tmp_path / "dup.tsv", [JUDGED[0], JUDGED[0]]))


def test_store_floors(kgq: ModuleType) -> None:
    assert kgq.store_floors("a.db@1,2", [2]) == ("a.db", [1, 2])
    assert kgq.store_floors("a.db", [2, 3]) == ("a.db", [2, 3])


def test_the_shipped_judgements_read_and_cover_only_benchmark_phenotypes(kgq: ModuleType) -> None:
    judgements = kgq.read_judgements(kgq.JUDGEMENTS)
    reference = kgq.read_reference(kgq.REFERENCE)
    assert len(judgements) >= 400
    assert {phen for phen, _ in judgements} <= set(reference)
    # a wrongly linked row never counts, whatever it says about relevance
    assert all(not j.accepted for j in judgements.values() if not j.linking_ok)
    assert all(j.reason for j in judgements.values())
