"""MeSH in the vocabulary (ids, uninversion, drug classes) and MeSH headings linked by id."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from ctk.errors import ConfigError
from ctk.kg.extraction.cooccurrence import CooccurrenceCounter
from ctk.kg.extraction.vocabulary import load_vocabulary
from ctk.kg.sources.document import Document
from ctk.kg.sources.spec import open_source
from ctk.plugins.extractors import DictionaryExtractor
from ctk.report import ProblemReport

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "kg"


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    """``tools/build_vocabulary.py``, imported as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location(
        "build_vocabulary", REPO / "tools" / "build_vocabulary.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_vocabulary"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_mesh_names_read_as_text(builder: ModuleType) -> None:
    assert builder.uninvert("Hypertension, Pulmonary") == "Pulmonary Hypertension"
    assert builder.uninvert("Heart Failure") == "Heart Failure"
    assert builder.uninvert("Aged, 80 and over, Frail") == "Aged, 80 and over, Frail"
    assert builder.mesh_text_form("Hypertension, Pulmonary") == "pulmonary hypertension"
    # acronym parts keep their case, others are lowered
    assert builder.mesh_text_form("Adrenergic beta-Antagonists") == "adrenergic beta-antagonists"
    assert builder.mesh_text_form("Anti-HIV Agents") == "anti-HIV agents"
    assert builder.mesh_text_form("GABA-A Receptor Agonists") == "GABA-A receptor agonists"
    assert builder.singular("calcium channel blockers") == "calcium channel blocker"
    assert builder.singular("monoclonal antibodies") == "monoclonal antibody"
    assert builder.singular("hypnotics and sedatives") == "hypnotics and sedatives"
    assert builder.is_drug_class("Angiotensin-Converting Enzyme Inhibitors")
    assert builder.is_drug_class("Antineoplastic Agents, Alkylating")
    assert builder.is_drug_class("Diuretics")
    assert not builder.is_drug_class("Surface-Active Agents")  # excluded by hand
    assert not builder.is_drug_class("Cardiovascular Agents")  # too broad
    assert not builder.is_drug_class("Heart Failure")


def test_builder_gives_mesh_ids_and_drug_class_rows(builder: ModuleType) -> None:
    descriptors = builder.read_mesh(FIXTURES / "mesh_descriptors_sample.csv")
    assert len(descriptors) == 10 and descriptors[0].ui == "D000319"  # CRLF read, sorted
    entry = builder.Entry
    vocab = builder.Vocabulary()
    vocab.add(entry("ctk:heart_failure", "heart failure", "disease", ["cardiac failure"]))
    vocab.add(entry("ctk:pulmonary_hypertension", "pulmonary hypertension", "disease"))
    vocab.add(entry("ctk:beta_blocker", "beta blocker", "drug", ["beta-blocker"]))
    vocab.add(entry("ctk:ppi", "proton pump inhibitor", "drug", ["proton pump inhibitors"]))
    vocab.add(entry("ctk:diuretic", "diuretic", "drug"))
    # two rows reach "Nasal Polyps": the one it names wins, the rows stay apart
    vocab.add(entry("ctk:nasal_polyposis", "nasal polyposis", "finding", ["nasal polyps"]))
    vocab.add(entry("ctk:nasal_polyp", "nasal polyp", "disease"))
    equivalents = {"ctk:beta_blocker": ("D000319",)}
    added = builder.add_mesh_drug_classes(vocab, descriptors, equivalents)
    linked, concepts = builder.add_mesh_xrefs(vocab, descriptors, equivalents)
    xrefs = {cid: e.xrefs for cid, e in vocab.entries.items()}
    assert xrefs["ctk:heart_failure"] == ["mesh:D006333"]
    assert xrefs["ctk:pulmonary_hypertension"] == ["mesh:D006976"]  # uninverted
    assert xrefs["ctk:ppi"] == ["mesh:D054328"]  # plural heading, existing class: merged
    assert xrefs["ctk:diuretic"] == ["mesh:D004232"]  # "Diuretics" in the singular
    assert xrefs["ctk:nasal_polyp"] == ["mesh:D009298"]
    assert xrefs["ctk:nasal_polyposis"] == []
    # hand-checked equivalent: the id and the MeSH name as a synonym
    assert xrefs["ctk:beta_blocker"] == ["mesh:D000319"]
    assert "adrenergic beta-antagonists" in vocab.entries["ctk:beta_blocker"].synonyms
    assert vocab.surfaces["adrenergic beta-antagonist"] == "ctk:beta_blocker"
    # new drug-class rows: H2 antagonists and antihypertensives; not surfactants
    assert added == 2
    h2 = vocab.entries["ctk:histamine_h2_antagonist"]
    assert (h2.name, h2.type, h2.origin) == ("histamine H2 antagonist", "drug", "mesh")
    assert h2.synonyms == ["histamine H2 antagonists"] and h2.xrefs == ["mesh:D006635"]
    assert "ctk:antihypertensive_agent" in vocab.entries
    assert not any("surface" in cid for cid in vocab.entries)
    # "Cardiovascular Diseases" names no concept here: no id given
    assert linked == 8 and concepts == 8


def test_shipped_vocabulary_has_mesh_ids_once_each() -> None:
    entries = {e.id: e for e in load_vocabulary(None)}
    assert "mesh:D000806" in entries["ctk:ace_inhibitor"].xrefs  # ACE inhibitors
    assert "mesh:D000319" in entries["ctk:beta_blocker"].xrefs
    assert "mesh:D006333" in entries["ctk:congestive_heart_failure"].xrefs
    assert "mesh:D006976" in entries["ctk:pulmonary_hypertension"].xrefs
    assert "mesh:D002121" in entries["ctk:calcium_channel_blocker"].xrefs
    assert "thiazide" in entries["ctk:thiazide_diuretic"].synonyms
    classes = [e for e in entries.values() if e.origin == "mesh"]
    assert len(classes) > 100 and all(e.type == "drug" for e in classes)
    # one node per concept: no id (MeSH, ICD-9, HPO, DrugBank, CCS) on two rows
    owners = Counter(x for e in entries.values() for x in e.xrefs)
    assert sum(x.startswith("mesh:") for x in owners) > 2500
    assert max(owners.values()) == 1


def test_mesh_drug_classes_are_opt_in_in_text() -> None:
    sentence = "Histamine H2 antagonists and calcium channel blockers were stopped."
    default = [m.concept_id for m in DictionaryExtractor().extract(sentence)]
    assert default == ["ctk:calcium_channel_blocker"]  # hand-listed: always on
    with_classes = DictionaryExtractor({"drug_classes": True}).extract(sentence)
    assert [m.concept_id for m in with_classes] == [
        "ctk:histamine_h2_antagonist",
        "ctk:calcium_channel_blocker",
    ]
    assert with_classes[0].type == "drug"


def test_pubmed_headings_keep_their_descriptor_ids() -> None:
    report = ProblemReport()
    docs = list(open_source(f"pubmed:{FIXTURES / 'pubmed_mesh_ids.xml'}").iter_documents(report))
    assert [d.doc_id for d in docs] == ["90000001", "90000002"]
    first = docs[0]
    assert first.mesh_terms == [
        "Adrenergic beta-Antagonists",
        "Heart Decompensation",
        "Humans",
        "Diuretics",
    ]
    assert first.mesh_ids == ["D000319", "D006333", "D006801", "D999999"]
    assert docs[1].mesh_terms == [] and docs[1].mesh_ids == []


def test_headings_link_by_id_then_by_name() -> None:
    ex = DictionaryExtractor({"mesh_headings": True})
    # the id wins where the name is no surface form ("Heart Decompensation")
    assert ex.link_term("Heart Decompensation") is None
    by_id = ex.link_term("Heart Decompensation", "D006333")
    assert by_id is not None and by_id.concept_id == "ctk:congestive_heart_failure"
    beta = ex.link_term("Adrenergic beta-Antagonists", "D000319")
    assert beta is not None and beta.concept_id == "ctk:beta_blocker"
    # an id no concept holds falls back to the name
    fallback = ex.link_term("Diuretics", "D999999")
    assert fallback is not None and fallback.concept_id == "ctk:diuretic"
    assert ex.link_term("Humans", "D006801") is None
    assert DictionaryExtractor().link_term("Heart Failure", "D006333") is None  # opt-in


def test_build_pairs_headings_linked_by_id() -> None:
    report = ProblemReport()
    docs = [
        d
        for d in open_source(f"pubmed:{FIXTURES / 'pubmed_mesh_ids.xml'}").iter_documents(report)
        if isinstance(d, Document)
    ]
    counter = CooccurrenceCounter(DictionaryExtractor({"mesh_headings": True}))
    counter.add(docs)
    delta = counter.delta()
    concepts = {c.id for c in delta.concepts}
    assert {"ctk:beta_blocker", "ctk:congestive_heart_failure", "ctk:diuretic"} <= concepts
    pairs = {(r.source_id, r.target_id): r for r in delta.relations}
    edge = pairs[("ctk:beta_blocker", "ctk:congestive_heart_failure")]
    assert edge.type == "associated_with" and edge.count == 1
    assert edge.evidence[0].document_id == "90000001"
    assert "[MeSH: Adrenergic beta-Antagonists; Heart Decompensation]" in (
        edge.evidence[0].sentence
    )


def test_cli_build_links_headings_by_id(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ctk.cli.kg import app
    from ctk.kg.stores import open_store

    store = tmp_path / "kg.db"
    source = f"pubmed:{FIXTURES / 'pubmed_mesh_ids.xml'}"
    args = ["build", "--source", source, "--store", str(store), "--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--mesh-headings", "--mesh-drug-classes"])
    assert result.exit_code == 0, result.output
    with open_store(str(store)) as graph:
        found = {n.concept.id for n in graph.neighbours("ctk:beta_blocker", min_count=1)}
    assert found == {"ctk:congestive_heart_failure", "ctk:diuretic"}
    refused = CliRunner().invoke(app, [*args, "--mesh-drug-classes", "--extractor", "llm"])
    assert isinstance(refused.exception, ConfigError)  # the main CLI prints it, exit 2
    assert "--mesh-drug-classes needs --extractor dictionary" in str(refused.exception)
