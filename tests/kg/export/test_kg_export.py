"""RDF (Turtle, N-Triples), GraphML and V_k exports, their imports, and the inspection CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic
from typer.testing import CliRunner

from ctk.errors import ConfigError, FormatVersionError, RecordParseError
from ctk.kg.export.graphml import export_graphml, import_graphml
from ctk.kg.export.rdf import CTK_NAMESPACE, concept_iri, export_rdf, import_rdf
from ctk.kg.export.vocabulary import export_vocabulary
from ctk.kg.stores import GraphDelta, GraphStore, RelationDelta
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Concept, Evidence, Relation
from ctk.vocabulary import read_vocabulary

HF = "ctk:heart_failure"


def fill(store: GraphStore) -> None:
    concepts = [
        Concept(
            id=HF,
            name="Heart failure",
            type="disease",
            synonyms=["CHF", "cardiac failure"],
            mentions=30,
        ),
        Concept(id="ctk:dyspnea", name="Dyspnea", type="symptom", synonyms=["SOB"], mentions=12),
        Concept(id="ctk:edema", name="Edema", type="finding", mentions=6),
        Concept(id="ctk:bnp", name="BNP", type="lab_test", mentions=4),
        Concept(id="ctk:furosemide", name="Furosemide", type="drug", mentions=5),
        Concept(id="ctk:x y/z#1", name='odd "id" <x>', type="other", mentions=1),
        Concept(id="ctk:sepsis", name="Septicemia (except in labor)", type="disease", mentions=0),
        Concept(id="ctk:lonely", name="Lonely", type="procedure", mentions=0),
    ]
    relations = [
        RelationDelta(
            source_id="ctk:dyspnea",
            target_id=HF,
            type="symptom_of",
            count=8,
            evidence=[
                Evidence(
                    source="pubmed", document_id="31000001", sentence="Dyspnea marks HF.", year=2019
                ),
                Evidence(
                    source="wikipedia", document_id="Heart failure", sentence='SOB in "HF".\n'
                ),
            ],
        ),
        RelationDelta(source_id="ctk:edema", target_id=HF, type="symptom_of", count=4),
        RelationDelta(source_id=HF, target_id="ctk:bnp", type="diagnosed_by", count=3),
        RelationDelta(
            source_id="ctk:furosemide",
            target_id=HF,
            type="treats",
            count=2,
            evidence=[Evidence(source="text", document_id="doc-1", sentence="Furosemide for HF.")],
        ),
        RelationDelta(
            source_id="ctk:x y/z#1", target_id="ctk:x y/z#1", type="associated_with", count=1
        ),
    ]
    store.apply_chunk(
        "c1", GraphDelta(concepts=concepts, relations=relations, sentences=100, documents=3)
    )
    store.finalize()


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    s = EmbeddedStore(tmp_path / "kg.db")
    fill(s)
    return s


def test_turtle_round_trip_gives_the_same_triples(store: EmbeddedStore, tmp_path: Path) -> None:
    first = tmp_path / "kg.ttl"
    n = export_rdf(store, first)
    g1 = rdflib.Graph().parse(first, format="turtle")
    assert len(g1) == n > 0
    ctk = rdflib.Namespace(CTK_NAMESPACE)
    hf = rdflib.URIRef(concept_iri(HF))
    assert (hf, rdflib.RDF.type, ctk.Disease) in g1
    assert (hf, rdflib.RDFS.label, rdflib.Literal("Heart failure")) in g1
    assert (hf, rdflib.SKOS.altLabel, rdflib.Literal("CHF")) in g1
    assert (rdflib.URIRef(concept_iri("ctk:dyspnea")), ctk.symptom_of, hf) in g1
    with EmbeddedStore(tmp_path / "copy.db") as copy:
        assert import_rdf(copy, first) == (8, 5)
        second = tmp_path / "again.ttl"
        export_rdf(copy, second)
        g2 = rdflib.Graph().parse(second, format="turtle")
        assert set(g1) == set(g2)
        assert isomorphic(g1, g2)
        fact = Relation.make_id("ctk:dyspnea", "symptom_of", HF)
        assert copy.get_relation(fact) == store.get_relation(fact)  # evidence order kept
        assert copy.get_concept("ctk:x y/z#1") == store.get_concept("ctk:x y/z#1")


def test_ntriples_round_trip(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "kg.nt"
    export_rdf(store, out, format="nt")
    g1 = rdflib.Graph().parse(out, format="nt")
    with EmbeddedStore(tmp_path / "copy.db") as copy:
        import_rdf(copy, out, format="nt")
        assert sorted(copy.iter_relations(), key=lambda r: r.id) == sorted(
            store.iter_relations(), key=lambda r: r.id
        )
        export_rdf(copy, tmp_path / "again.nt")
        assert set(g1) == set(rdflib.Graph().parse(tmp_path / "again.nt", format="nt"))


def test_rdf_errors_name_the_problem(store: EmbeddedStore, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        export_rdf(store, tmp_path / "kg.rdfx")
    bad = tmp_path / "bad.ttl"
    bad.write_text("this is not turtle", encoding="utf-8")
    with pytest.raises(RecordParseError) as info:
        import_rdf(store, bad)
    assert "bad.ttl" in str(info.value)
    partial = tmp_path / "partial.ttl"
    partial.write_text(
        f"@prefix ctk: <{CTK_NAMESPACE}> .\n"
        f"<{CTK_NAMESPACE}concept/a> a ctk:Concept, ctk:Disease .\n",
        encoding="utf-8",
    )
    with pytest.raises(RecordParseError) as info:
        import_rdf(store, partial)
    assert "concept/a" in str(info.value)


def test_graphml_round_trip(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "kg.graphml"
    assert export_graphml(store, out) == (8, 5)
    assert "<graphml" in out.read_text(encoding="utf-8")[:500]
    with EmbeddedStore(tmp_path / "copy.db") as copy:
        assert import_graphml(copy, out) == (8, 5)
        assert list(copy.iter_concepts()) == list(store.iter_concepts())
        assert list(copy.iter_relations()) == list(store.iter_relations())


def test_vocabulary_file_is_ranked_and_reads_back(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "vk.jsonl"
    n = export_vocabulary(store, top=3, types=None, out=out)
    assert n == 3
    lines = out.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["kind"] == "ctk.vocab" and header["format_version"] == 1
    assert header["top"] == 3 and header["count"] == 3 and header["types"] is None
    entries = read_vocabulary(out)
    assert [e.id for e in entries][:1] == [HF]
    assert "ctk:sepsis" in [e.id for e in entries]  # a phenotype is always kept
    weights = [e.weight for e in entries]
    assert weights == sorted(weights, reverse=True)
    without = export_vocabulary(store, top=3, types=None, out=out, include_phenotypes=False)
    assert without == 3 and "ctk:sepsis" not in [e.id for e in read_vocabulary(out)]
    export_vocabulary(store, top=10, types=["symptom", "finding"], out=out)
    assert {e.type for e in read_vocabulary(out)} == {"symptom", "finding"}
    with pytest.raises(ConfigError):
        export_vocabulary(store, top=10, types=["organ"], out=out)
    with pytest.raises(ConfigError):
        export_vocabulary(store, top=0, types=None, out=out)


def test_vocabulary_reader_refuses_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "vk.jsonl"
    path.write_text('{"kind": "ctk.vocab", "format_version": 9}\n', encoding="utf-8")
    with pytest.raises(FormatVersionError):
        read_vocabulary(path)
    path.write_text('{"kind": "something"}\n', encoding="utf-8")
    with pytest.raises(FormatVersionError):
        read_vocabulary(path)
    path.write_text('{"kind": "ctk.vocab", "format_version": 1}\n{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(RecordParseError) as info:
        read_vocabulary(path)
    assert "at line 2" in str(info.value)
    with pytest.raises(ConfigError):
        read_vocabulary(tmp_path / "missing.jsonl")


# --------------------------------------------------------------------------- CLI


def run_cli(args: list[str]) -> tuple[int, str]:
    from ctk.cli.kg import app

    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def test_cli_query_shows_neighbours_weights_and_evidence(store: EmbeddedStore) -> None:
    db = str(store.path)
    store.close()
    code, out = run_cli(["query", "heart failure", "--store", db])
    assert code == 0, out
    assert "Dyspnea" in out and "symptom_of" in out
    assert "PMID:31000001" in out and "wiki:Heart failure" in out
    weight = Relation.make_id("ctk:dyspnea", "symptom_of", HF)
    with EmbeddedStore(db) as reopened:
        rel = reopened.get_relation(weight)
    assert rel is not None and f"{rel.weight:.3f}" in out
    code, out = run_cli(["query", "chf", "--store", db, "--json", "--type", "treats"])
    payload = json.loads(out)
    assert payload["concept"]["id"] == HF
    assert [n["concept"]["id"] for n in payload["neighbours"]] == ["ctk:furosemide"]
    assert payload["neighbours"][0]["relation"]["evidence"][0]["document_id"] == "doc-1"
    with pytest.raises(ConfigError):
        run_cli(["query", "no such thing", "--store", db])


def test_cli_stats_export_import_vocab(store: EmbeddedStore, tmp_path: Path) -> None:
    db = str(store.path)
    store.close()
    code, out = run_cli(["stats", "--store", db, "--json"])
    assert code == 0 and json.loads(out)["relations"] == 5
    code, out = run_cli(["stats", "--store", db])
    assert code == 0 and "relations" in out
    ttl = tmp_path / "kg.ttl"
    code, out = run_cli(["export", "--store", db, "--format", "turtle", "--out", str(ttl)])
    assert code == 0 and ttl.is_file(), out
    graphml = tmp_path / "kg.graphml"
    code, _ = run_cli(["export", "--store", db, "--out", str(graphml)])
    assert code == 0 and graphml.is_file()
    copy = tmp_path / "copy.db"
    code, out = run_cli(["import", str(ttl), "--store", str(copy)])
    assert code == 0 and "8 concepts and 5 relations" in out
    vk = tmp_path / "vk.jsonl"
    code, out = run_cli(
        [
            "vocab",
            "--store",
            str(copy),
            "--top",
            "4",
            "--types",
            "disease,symptom",
            "--out",
            str(vk),
        ]
    )
    assert code == 0, out
    assert {e.type for e in read_vocabulary(vk)} == {"disease", "symptom"}
    with pytest.raises(ConfigError):
        run_cli(["export", "--store", db, "--format", "xml", "--out", str(tmp_path / "x")])
    from ctk.errors import StoreUnavailableError

    with pytest.raises(StoreUnavailableError):
        run_cli(["stats", "--store", str(tmp_path / "missing.db")])


def test_cli_query_never_cuts_document_ids(store: EmbeddedStore) -> None:
    """In a log (not a terminal) or a narrow table, every PMID is printed whole."""
    from ctk.cli.kg import app

    db = str(store.path)
    store.close()
    for args in (["--format", "plain"], ["--format", "table"], []):
        result = CliRunner().invoke(
            app, ["query", "heart failure", "--store", db, *args], env={"COLUMNS": "60"}
        )
        assert result.exit_code == 0, result.output
        assert "…" not in result.output, (args, result.output)  # folded, never cut
        if "table" not in args:
            assert "PMID:31000001" in result.output, (args, result.output)
    plain = CliRunner().invoke(app, ["query", "heart failure", "--store", db])
    rows = [line.split("\t") for line in plain.output.splitlines() if not line.startswith("#")]
    assert rows[0][:3] == ["direction", "relation", "concept"]
    assert all(len(r) == len(rows[0]) for r in rows[1:]) and len(rows) > 1
    bad = CliRunner().invoke(app, ["query", "heart failure", "--store", db, "--format", "xml"])
    assert bad.exit_code != 0
