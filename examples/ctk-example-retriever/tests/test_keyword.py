"""Tests of the example plugin, runnable on their own: pytest examples/ctk-example-retriever."""

from __future__ import annotations

import json
from pathlib import Path

from ctk.registry import RETRIEVERS
from ctk.retrieval import RetrievalQuery


def test_registered_and_retrieves(tmp_path: Path) -> None:
    cls = RETRIEVERS.get("example-keyword")
    snippets = tmp_path / "s.jsonl"
    snippets.write_text(
        json.dumps({"id": "g1", "text": "Loop diuretics relieve congestion in heart failure."})
        + "\n"
        + json.dumps({"id": "g2", "text": "Antibiotics treat bacterial pneumonia."})
        + "\n",
        encoding="utf-8",
    )
    retriever = cls(options={"snippets": str(snippets)})
    found = retriever.retrieve(RetrievalQuery(note_text="congestion from heart failure"), k=2)
    assert [r.id for r in found] == ["g1"]
    assert found[0].retriever == "example-keyword"
