"""V_k selection: top-K by score or degree, or the graph neighbourhood of the phenotypes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctk.errors import ConfigError
from ctk.kg.export.vocabulary import export_vocabulary, select_vocabulary
from ctk.kg.stores import GraphDelta, RelationDelta
from ctk.kg.stores.embedded import EmbeddedStore
from ctk.records import Concept
from ctk.vocabulary import read_vocabulary

SEPSIS, AKI = "ctk:sepsis", "ctk:aki"


def _concept(cid: str, name: str, mentions: int, type_: str = "finding") -> Concept:
    return Concept(id=cid, name=name, type=type_, mentions=mentions)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    """Two phenotypes with neighbours, and a well-connected hub far from both.

    lactate -- sepsis (6 docs), creatinine -- aki (3 docs), fever -- sepsis (1 doc: below
    the support floor), hub -- a, b, c, d (many docs each; not near a phenotype).
    """
    concepts = [
        _concept(SEPSIS, "Sepsis", 5, "disease"),
        _concept(AKI, "Acute renal failure", 4, "disease"),
        _concept("ctk:lactate", "Lactate", 3, "lab_test"),
        _concept("ctk:creatinine", "Creatinine", 2, "lab_test"),
        _concept("ctk:fever", "Fever", 50, "symptom"),
        _concept("ctk:hub", "Hospital", 400),
        *(_concept(f"ctk:{x}", x.upper(), 100) for x in "abcd"),
    ]
    relations = [
        RelationDelta(source_id="ctk:lactate", target_id=SEPSIS, type="associated_with", count=6),
        RelationDelta(source_id="ctk:creatinine", target_id=AKI, type="associated_with", count=3),
        RelationDelta(source_id="ctk:fever", target_id=SEPSIS, type="associated_with", count=1),
        *(
            RelationDelta(
                source_id="ctk:hub", target_id=f"ctk:{x}", type="associated_with", count=9
            )
            for x in "abcd"
        ),
    ]
    s = EmbeddedStore(tmp_path / "kg.db")
    s.apply_chunk(
        "c1", GraphDelta(concepts=concepts, relations=relations, sentences=200, documents=20)
    )
    s.finalize()
    return s


def test_neighbourhood_keeps_the_phenotypes_and_their_supported_neighbours(
    store: EmbeddedStore,
) -> None:
    ids = [e.id for e in select_vocabulary(store, top=10, select="neighbourhood")]
    assert set(ids[:2]) == {SEPSIS, AKI}  # the seeds first
    assert set(ids) == {SEPSIS, AKI, "ctk:lactate", "ctk:creatinine"}
    # fever is linked on one document only: below the support floor; the hub is far away
    assert "ctk:fever" not in ids and "ctk:hub" not in ids
    # the neighbour with more support (or weight) to the phenotypes ranks first
    assert ids.index("ctk:lactate") < ids.index("ctk:creatinine")
    without = select_vocabulary(store, top=10, select="neighbourhood", include_phenotypes=False)
    assert [e.id for e in without] == ["ctk:lactate", "ctk:creatinine"]


def test_degree_and_score_pick_the_hub_the_neighbourhood_does_not(store: EmbeddedStore) -> None:
    by_degree = select_vocabulary(store, top=3, select="degree")
    assert (by_degree[0].id, by_degree[0].weight) == ("ctk:hub", 4.0)
    by_score = [e.id for e in select_vocabulary(store, top=4, select="score")]
    assert "ctk:hub" in by_score and SEPSIS in by_score and AKI in by_score


def test_the_file_header_names_the_selection(store: EmbeddedStore, tmp_path: Path) -> None:
    out = tmp_path / "vk.jsonl"
    n = export_vocabulary(store, top=10, types=None, out=out, select="neighbourhood")
    header = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert n == 4 and header["select"] == "neighbourhood" and header["count"] == 4
    assert "phenotype" in header["score"]
    assert len(read_vocabulary(out)) == 4


def test_bad_selections_are_refused(store: EmbeddedStore, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="selection"):
        select_vocabulary(store, top=5, select="nearby")  # type: ignore[arg-type]
    with EmbeddedStore(tmp_path / "empty.db") as empty:
        empty.apply_chunk("c", GraphDelta(concepts=[_concept("ctk:x", "X", 3)], relations=[]))
        with pytest.raises(ConfigError, match="no phenotype concepts"):
            select_vocabulary(empty, top=5, select="neighbourhood")


def test_cli_select_option(
    store: EmbeddedStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ctk.cli.main import app, main

    db = store.path
    store.close()
    out = tmp_path / "vk.jsonl"
    args = ["kg", "vocab", "--store", str(db), "--top", "10", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--select", "neighbourhood"])
    assert result.exit_code == 0, result.output
    assert "wrote 4 V_k concepts" in result.output
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--select", "nearby"])
    assert exit_info.value.code == 2
    assert "unknown V_k selection 'nearby'" in capsys.readouterr().err
