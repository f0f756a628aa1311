"""Concepts named in teacher text (longest mention wins) and the pairs a sentence claims."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rationale_fixtures import build_store

from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Concept, Rationale
from ctk.teacher.check import check_rationales
from ctk.teacher.concepts import ConceptLexicon

COMPLICATED = Concept(
    id="ctk:diabetes_with_complications",
    name="diabetes with complications",
    type="disease",
    mentions=5,
)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    s = build_store(tmp_path / "kg.db")
    s.upsert_concepts([COMPLICATED])  # "diabetes" (a synonym of diabetes mellitus) is inside it
    yield s
    s.close()


def test_a_name_inside_a_longer_name_is_not_a_mention(store: EmbeddedStore) -> None:
    lex = ConceptLexicon(store)
    assert store.concept_finder().find("Admitted with diabetes with complications.") == [
        "ctk:diabetes",
        COMPLICATED.id,
    ]  # the graph's finder sees both (the retriever's seeds are unchanged)
    assert lex.find("Admitted with diabetes with complications.") == {COMPLICATED.id}
    # the same name elsewhere in the text is still a mention of its own
    assert lex.find("Diabetes with complications; diabetes on insulin.") == {
        COMPLICATED.id,
        "ctk:diabetes",
        "ctk:insulin",
    }
    assert lex.find("Shortness of breath and lasix.") == {"ctk:dyspnea", "ctk:furosemide"}


def test_pairs_are_per_sentence_and_say_whether_the_graph_relates_them(
    store: EmbeddedStore,
) -> None:
    lex = ConceptLexicon(store)
    pairs = lex.pairs("Dyspnea and edema point to heart failure. Insulin treats diabetes.")
    got = {p.concepts: p.supported for p in pairs}
    assert got == {
        ("ctk:dyspnea", "ctk:edema"): False,  # no edge between the two findings
        ("ctk:dyspnea", "ctk:heart_failure"): True,
        ("ctk:edema", "ctk:heart_failure"): True,
        ("ctk:diabetes", "ctk:insulin"): True,  # either direction
    }
    assert pairs[0].sentence == "Dyspnea and edema point to heart failure."
    # nothing across sentences or ';' clauses, nothing without a graph
    assert lex.pairs("Dyspnea was noted; insulin was given.") == []
    assert ConceptLexicon().pairs("Dyspnea and edema point to heart failure.") == []


def test_check_counts_no_pair_inside_a_longer_name(store: EmbeddedStore) -> None:
    r = Rationale(
        admission_id="a",
        note_rationale="The note points to diabetes with complications.",
        lab_rationale="Insulin treats diabetes mellitus.",
    )
    report = check_rationales([r], store)
    # before: "diabetes with complications" also read as diabetes mellitus, one unsupported pair
    assert (report.pairs, report.supported_pairs) == (1, 1)
