"""Bulk load through neo4j-admin: the CSV export, the importer, and the same graph as MERGE.

The server tests run Neo4j's own importer (``org.neo4j.cli.AdminTool`` from the
Maven-resolved Neo4j 5.26 jars of ``tools/neo4j-test-server``) against a Neo4j
server of their own, which they stop and start.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_kg_store_contract import HF, build
from typer.testing import CliRunner

from ctk.cli.main import app, main
from ctk.errors import ConfigError, DataError, FormatVersionError, StoreWriteError
from ctk.kg.export.neo4j_admin import import_full, open_imported, resolve_admin
from ctk.kg.export.neo4j_import import (
    ARRAY_DELIMITER,
    MANIFEST,
    export_neo4j_import,
    read_manifest,
    write_neo4j_import,
)
from ctk.kg.stores import GraphDelta, GraphStore, RelationDelta
from ctk.kg.stores.base import CountedDocument
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.kg.stores.neo4j import Neo4jStore
from ctk.records import Concept, Evidence, Relation

REPO = Path(__file__).resolve().parents[3]
JARS = REPO / "tools" / "neo4j-test-server" / "deps"
ODD = "ctk:odd"


def cli(argv: list[str]) -> int:
    """Run ``ctk`` as the console script does; its exit code."""
    try:
        main(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def admin_command() -> list[str]:
    """neo4j-admin from the test server's jars (its importer and AdminTool)."""
    return ["java", "-Xmx512m", "-cp", f"{JARS}/*", "org.neo4j.cli.AdminTool"]


def odd_chunk() -> tuple[str, GraphDelta]:
    """Text the CSV must carry intact: quotes, commas, semicolons, a line break, Unicode."""
    sentence = 'He said "no"; then, later,\nthe edema — œdème — worsened.'
    return (
        "text-odd",
        GraphDelta(
            concepts=[
                Concept(
                    id=ODD,
                    name='Odd, "quoted"; name',
                    type="other",
                    synonyms=["a;b", "Ünïcode"],
                    mentions=2,
                )
            ],
            relations=[
                RelationDelta(
                    source_id=ODD,
                    target_id=HF,
                    type="associated_with",
                    count=3,
                    evidence=[
                        Evidence(source="text", document_id="d,1", sentence=sentence, year=None),
                        Evidence(source="text", document_id="d2", sentence="Plain.", year=1999),
                    ],
                )
            ],
            sentences=4,
            documents=2,
            # document d2 has a content key: later copies of it count once
            counted=[
                CountedDocument(
                    key="odd-article",
                    source="text",
                    doc_id="d2",
                    sentences=2,
                    concepts=[0],
                    relations=[0],
                    evidence=[(0, 1)],
                )
            ],
        ),
    )


def update_chunk() -> tuple[str, GraphDelta]:
    """An update after the load: new synonyms for a concept that had none, more counts."""
    return (
        "pubmed-update-1",
        GraphDelta(
            concepts=[
                Concept(id="ctk:furosemide", name="Furosemide", type="drug", synonyms=["Lasix"]),
                Concept(id=HF, name="Heart failure", type="disease", mentions=2),
            ],
            relations=[
                RelationDelta(
                    source_id="ctk:furosemide",
                    target_id=HF,
                    type="treats",
                    count=1,
                    evidence=[Evidence(source="pubmed", document_id="77", sentence="Lasix helps.")],
                )
            ],
            sentences=3,
            documents=1,
        ),
    )


def snapshot(store: GraphStore) -> dict[str, Any]:
    """Everything the read API answers, in a comparable form."""
    concepts = sorted((c.model_dump() for c in store.iter_concepts()), key=lambda c: c["id"])
    relations = sorted(
        (r.model_dump() for r in store.iter_relations(with_evidence=True)), key=lambda r: r["id"]
    )
    return {
        "concepts": concepts,
        "relations": relations,
        "stats": store.stats().model_dump(),
        "chunks": sorted(store.done_chunks()),
        "neighbours": {
            c["id"]: [n.model_dump() for n in store.neighbours(c["id"], limit=50)] for c in concepts
        },
        "found": {
            key: [c.id for c in store.find_concepts(key)]
            for key in ("heart", "chf", "a;b", "ünïcode", "odd")
        },
        "relation": {r["id"]: store.get_relation(r["id"]) for r in relations},
    }


# ---------------------------------------------------------------------- the files
def small_store(tmp_path: Path) -> EmbeddedStore:
    store = EmbeddedStore(tmp_path / "kg.db")
    build(store)
    store.apply_chunk(*odd_chunk())
    store.finalize()
    return store


def test_export_writes_neo4j_import_headers_and_rows(tmp_path: Path) -> None:
    with small_store(tmp_path) as store:
        manifest = export_neo4j_import(store, tmp_path / "out")
        stats = store.stats()
    out = tmp_path / "out"
    assert (manifest.concepts, manifest.relations, manifest.chunks) == (
        stats.concepts,
        stats.relations,
        stats.chunks,
    )
    assert manifest.evidence == stats.evidence
    assert manifest.counted_documents == 1
    with (out / "counted_documents.csv").open(newline="", encoding="utf-8") as f:
        assert list(csv.reader(f)) == [
            ["key:ID(CountedDocument)", ":LABEL", "source", "document_id"],
            ["odd-article", "CountedDocument", "text", "d2"],
        ]
    assert manifest.multiline_fields  # the odd sentence holds a line break
    assert json.loads((out / MANIFEST).read_text())["format_version"] == 2
    with (out / "concepts.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["id:ID(Concept)", ":LABEL", "name"]
    assert "synonyms:string[]" in rows[0] and "mentions:long" in rows[0]
    odd = next(r for r in rows if r[0] == ODD)
    assert odd[1].split(ARRAY_DELIMITER) == ["Concept", "Other"]
    assert odd[2] == 'Odd, "quoted"; name'
    assert odd[5].split(ARRAY_DELIMITER) == ["a;b", "Ünïcode"]
    with (out / "relationships.csv").open(newline="", encoding="utf-8") as f:
        rels = list(csv.DictReader(f))
    edge = next(r for r in rels if r[":START_ID(Concept)"] == ODD)
    assert edge[":TYPE"] == "ASSOCIATED_WITH"
    assert edge["ev_year:long[]"].split(ARRAY_DELIMITER) == ["-1", "1999"]
    assert "\n" in edge["ev_sentence:string[]"].split(ARRAY_DELIMITER)[0]
    without = [r for r in rels if not r["ev_key:string[]"]]
    assert without and all(not r["ev_sentence:string[]"] for r in without)


def test_export_refuses_bad_graphs_and_keeps_no_manifest(tmp_path: Path) -> None:
    a = Concept(id="x:a", name="A", type="disease")
    bad_edge = Relation(
        id="x:a|treats|x:b", source_id="x:a", target_id="x:b", type="treats", count=1
    )
    with pytest.raises(DataError, match="x:b"):
        write_neo4j_import(tmp_path / "e1", [a], [bad_edge])
    assert not (tmp_path / "e1" / MANIFEST).exists()
    with pytest.raises(ConfigError, match="manifest"):
        read_manifest(tmp_path / "e1")
    with pytest.raises(DataError, match="twice"):
        write_neo4j_import(tmp_path / "e2", [a, a], [])
    sneaky = Relation(
        id="x:a|treats|x:a",
        source_id="x:a",
        target_id="x:a",
        type="treats",
        evidence=[Evidence(source="text", document_id="1", sentence=f"a{ARRAY_DELIMITER}b")],
    )
    with pytest.raises(DataError, match="U\\+001F"):
        write_neo4j_import(tmp_path / "e3", [a], [sneaky])
    good = write_neo4j_import(tmp_path / "ok", [a], [])
    assert good.concepts == 1 and not good.multiline_fields
    with pytest.raises(ConfigError, match="not empty"):
        write_neo4j_import(tmp_path / "ok", [a], [])
    assert write_neo4j_import(tmp_path / "ok", [a], [], overwrite=True).concepts == 1
    raw = json.loads((tmp_path / "ok" / MANIFEST).read_text())
    raw["format_version"] = 99
    (tmp_path / "ok" / MANIFEST).write_text(json.dumps(raw))
    with pytest.raises(FormatVersionError):
        read_manifest(tmp_path / "ok")


def test_evidence_is_deduplicated_and_capped_like_merge(tmp_path: Path) -> None:
    a = Concept(id="x:a", name="A", type="disease")
    evidence = [
        Evidence(source="text", document_id=str(i % 3), sentence=f"s{i % 3}") for i in range(9)
    ]
    rel = Relation(
        id="x:a|treats|x:a", source_id="x:a", target_id="x:a", type="treats", evidence=evidence
    )
    manifest = write_neo4j_import(tmp_path / "o", [a], [rel], max_evidence_per_edge=2)
    assert manifest.evidence == 2
    with (tmp_path / "o" / "relationships.csv").open(newline="", encoding="utf-8") as f:
        row = next(iter(csv.DictReader(f)))
    assert row["ev_document:string[]"].split(ARRAY_DELIMITER) == ["0", "1"]


def test_resolve_admin_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="neo4j-admin not found") as e:
        resolve_admin(None, tmp_path, environment={"PATH": str(tmp_path)})
    assert e.value.hint and "--neo4j-admin" in e.value.hint
    assert resolve_admin("java -cp 'a b/*' Tool", tmp_path) == ["java", "-cp", "a b/*", "Tool"]
    tool = tmp_path / "bin" / "neo4j-admin"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert resolve_admin(None, tmp_path) == [str(tool)]  # NEO4J_HOME/bin first
    home = tmp_path / "other"
    assert resolve_admin(None, home, environment={"PATH": str(tool.parent)}) == [str(tool)]


# ---------------------------------------------------------------------- the importer
needs_importer = pytest.mark.skipif(
    shutil.which("java") is None, reason="Java 17 runs Neo4j's importer"
)


@pytest.fixture
def bulk_server(neo4j_server: Any) -> Iterator[Any]:
    """The session's Neo4j server, which the test stops, imports into and starts again.

    Its database is replaced; the other Neo4j tests clear it before use anyway.
    """
    if not getattr(neo4j_server, "restartable", False):
        pytest.skip("the Neo4j server comes from CTK_TEST_NEO4J_URI and cannot be restarted")
    yield neo4j_server
    if not neo4j_server.running:
        neo4j_server.start()


@needs_importer
@pytest.mark.neo4j
@pytest.mark.slow
def test_bulk_load_answers_like_merge_and_takes_updates(
    bulk_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """MERGE-load a graph, export it, neo4j-admin-import it, compare; then update both ways."""
    with Neo4jStore(bulk_server.uri) as store:
        store.clear()
        build(store)
        store.apply_chunk(*odd_chunk())
        store.finalize()
        merged = snapshot(store)
        manifest = export_neo4j_import(store, tmp_path / "import")
        store.apply_chunk(*update_chunk())
        updated = snapshot(store)
    assert manifest.relations == merged["stats"]["relations"] > 0

    bulk_server.stop()
    # the Launcher's Neo4j home is HOME/data; the importer writes HOME/data/data/databases/neo4j
    result = import_full(
        tmp_path / "import",
        neo4j_home=bulk_server.home / "data",
        admin=admin_command(),
        overwrite=True,
        threads=2,
        max_off_heap_memory="256m",
    )
    assert result.relationships == manifest.relations
    assert result.nodes == manifest.concepts + manifest.chunks + manifest.counted_documents + 1
    bulk_server.start()

    # the server is up again: `ctk kg load --no-import --store` finishes the load
    finish = ["kg", "load", str(tmp_path / "import"), "--no-import", "--store", bulk_server.uri]
    finish += ["--neo4j-home", str(bulk_server.home / "data"), "--wait", "30"]
    assert cli(finish) == 0
    assert "counts match the export" in capsys.readouterr().out
    stats = open_imported(bulk_server.uri, tmp_path / "import")  # idempotent
    assert stats.relations == manifest.relations
    with Neo4jStore(bulk_server.uri) as store:
        assert snapshot(store) == merged
        # incremental updates keep the MERGE path, on top of the imported graph
        assert store.apply_chunk(*update_chunk()).applied is True
        assert store.apply_chunk(*update_chunk()).applied is False
        assert snapshot(store) == updated
        # the imported content keys count a later copy of an article once
        assert list(store.iter_counted_documents()) == [("odd-article", "text", "d2")]
        _, odd = odd_chunk()
        done = store.apply_chunk("copy-of-odd", odd)
        assert done.applied is True
        assert [d.doc_id for d in done.duplicates] == ["d2"]
        assert store.stats().documents == updated["stats"]["documents"] + 1  # d,1 only
    # a database that is not the export's is reported, not passed
    assert cli(finish) == 2
    assert "differs from the export" in capsys.readouterr().err


@needs_importer
@pytest.mark.slow
def test_cli_export_and_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`ctk kg export --format neo4j-import` then `ctk kg load` into a stopped Neo4j home."""
    if not any(JARS.glob("neo4j-import-tool-*.jar")):
        pytest.skip("the Neo4j jars are not resolved (the Neo4j test server does it)")
    with small_store(tmp_path):
        pass
    runner = CliRunner()
    out = tmp_path / "import"
    res = runner.invoke(
        app,
        [
            "kg",
            "export",
            "--store",
            str(tmp_path / "kg.db"),
            "--format",
            "neo4j-import",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "neo4j-import" in res.output and (out / MANIFEST).is_file()
    home = tmp_path / "neo4j-home"
    cmd = " ".join(admin_command())
    args = ["kg", "load", str(out), "--neo4j-home", str(home), "--neo4j-admin", cmd]
    res = runner.invoke(app, [*args, "--threads", "2", "--max-off-heap-memory", "256m"])
    assert res.exit_code == 0, res.output
    manifest = read_manifest(out)
    assert f"{manifest.relations} relationships" in res.output
    assert (home / "data" / "databases" / "neo4j").is_dir()
    # a second import into the same database is refused without --overwrite
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--threads", "2", "--max-off-heap-memory", "256m"])
    assert exit_info.value.code == 2
    assert "--overwrite" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["kg", "load", str(tmp_path / "nothing"), "--neo4j-home", str(home)])
    assert exit_info.value.code == 2
    assert "no such folder" in capsys.readouterr().err


def test_import_full_reports_a_failing_importer(tmp_path: Path) -> None:
    a = Concept(id="x:a", name="A", type="disease")
    write_neo4j_import(tmp_path / "o", [a], [])
    with pytest.raises(StoreWriteError, match="exit 3"):
        import_full(
            tmp_path / "o",
            neo4j_home=tmp_path / "home",
            admin=[sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"],
        )
    assert "boom" in (tmp_path / "o" / "neo4j-admin-import.log").read_text()
