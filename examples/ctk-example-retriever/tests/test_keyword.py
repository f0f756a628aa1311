"""Tests of the example plugin, runnable on their own: pytest examples/ctk-example-retriever.

They follow the documented path for testing a plugin without installing it
(docs/plugins.md, "Testing a plugin"): register the class in Python, then use it
through the library and through the ``ctk`` CLI in the same process (Typer's
``CliRunner``). Whether or not
the package is installed, the registered class is the one used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from ctk_example_retriever import KeywordRetriever
from typer.testing import CliRunner

from ctk.cli.main import app
from ctk.cohort import write_cohort
from ctk.errors import ConfigError
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Admission, ClinicalNote, Concept, Evidence, Relation
from ctk.registry import RETRIEVERS
from ctk.retrieval import RetrievalQuery

NOTE = "Admitted with congestion from heart failure; diuretics given."


@pytest.fixture()
def registered() -> Iterator[None]:
    RETRIEVERS.register("example-keyword", KeywordRetriever)
    try:
        yield
    finally:
        RETRIEVERS.unregister("example-keyword")


@pytest.fixture()
def snippets(tmp_path: Path) -> Path:
    path = tmp_path / "s.jsonl"
    path.write_text(
        json.dumps({"id": "g1", "text": "Loop diuretics relieve congestion in heart failure."})
        + "\n"
        + json.dumps({"id": "g2", "text": "Antibiotics treat bacterial pneumonia."})
        + "\n",
        encoding="utf-8",
    )
    return path


def test_registered_class_retrieves_through_the_library(registered: None, snippets: Path) -> None:
    assert RETRIEVERS.get("example-keyword") is KeywordRetriever
    retriever = RETRIEVERS.create("example-keyword", options={"snippets": str(snippets)})
    found = retriever.retrieve(RetrievalQuery(note_text="congestion from heart failure"), k=2)
    assert [r.id for r in found] == ["g1"]
    assert found[0].retriever == "example-keyword"
    with pytest.raises(ConfigError, match="valid options: snippets, min_shared"):
        RETRIEVERS.create("example-keyword", options={"snipets": "x"})


def test_registered_class_runs_through_the_cli(registered: None, tmp_path: Path) -> None:
    kg = tmp_path / "kg.db"
    fact = Relation.make_id("ctk:furosemide", "treats", "ctk:heart_failure")
    with EmbeddedStore(kg) as store:
        store.upsert_concepts(
            [
                Concept(id="ctk:heart_failure", name="heart failure", type="disease"),
                Concept(id="ctk:furosemide", name="furosemide", type="drug"),
            ]
        )
        store.upsert_relations(
            [
                Relation(
                    id=fact,
                    source_id="ctk:furosemide",
                    target_id="ctk:heart_failure",
                    type="treats",
                    evidence=[
                        Evidence(
                            source="pubmed",
                            document_id="123",
                            sentence="Diuretics such as furosemide relieve congestion.",
                        )
                    ],
                )
            ]
        )
    write_cohort(
        tmp_path / "cohort",
        [
            Admission(
                admission_id="a1",
                note=ClinicalNote(text=NOTE, sections={"brief hospital course": NOTE}),
                phenotypes=["Congestive heart failure; nonhypertensive"],
            )
        ],
    )
    out = tmp_path / "r.jsonl"
    argv = [
        "rationale",
        "generate",
        "--cohort",
        str(tmp_path / "cohort"),
        "--store",
        str(kg),
        "--retriever",
        "example-keyword",
        "--llm",
        "template",
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "1 generated" in result.output
    [record] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["evidence_ids"] == [f"{fact}#e0"]  # the graph's sentence, by keyword overlap
    assert record["retriever"]["name"] == "example-keyword"
    assert record["retriever"]["options"] == {"snippets": None, "min_shared": 1}
