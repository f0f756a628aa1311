"""A build killed with SIGKILL, then run again, equals an uninterrupted build.

The real command (``ctk kg build``) runs in a child process on a corpus of a few
hundred small documents cut into many chunks; once some chunks are committed
the child gets ``kill -9`` (no handler, no clean-up). The same command then
resumes, and the graph must equal, concept by concept and edge by edge (counts,
weights, evidence), one built without interruption. Every tenth document repeats
one of an earlier chunk (a duplicate article): it is counted once either way.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ctk.kg.stores.embedded import EmbeddedStore

_TERMS = [
    ("Heart failure", "dyspnea"),
    ("Sepsis", "hypotension"),
    ("Pneumonia", "fever"),
    ("Chronic kidney disease", "anemia"),
    ("Atrial fibrillation", "stroke"),
    ("Diabetes mellitus", "hyperglycemia"),
    ("Cirrhosis", "ascites"),
]


def _text(i: int) -> str:
    a, b = _TERMS[i % len(_TERMS)]
    c, d = _TERMS[(i * 3 + 1) % len(_TERMS)]
    return f"{a} presents with {b}. {c} is treated in {d} clinics. Case {i}."


def _corpus(path: Path, n: int) -> None:
    """``n`` documents; every tenth repeats the text of one in an earlier chunk."""
    with path.open("w") as f:
        for i in range(n):
            text = _text(i - 5 if i % 10 == 9 else i)  # a duplicate article, counted once
            f.write(json.dumps({"id": f"doc{i}", "text": text}) + "\n")


def _command(corpus: Path, store: Path) -> list[str]:
    code = "from ctk.cli.main import main; main()"
    return [
        sys.executable,
        "-c",
        code,
        "kg",
        "build",
        "--source",
        f"text:{corpus}",
        "--store",
        str(store),
        "--workers",
        "1",
        "--chunk-docs",
        "4",
    ]


def _chunks_done(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.2) as conn:
            return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
    except sqlite3.Error:
        return 0


def _snapshot(path: Path) -> tuple[Any, ...]:
    with EmbeddedStore(path, read_only=True) as store:
        concepts = sorted((c.id, c.mentions) for c in store.iter_concepts())
        relations = sorted(
            (
                r.id,
                r.count,
                round(r.weight, 9),
                tuple(sorted((e.document_id, e.sentence) for e in r.evidence)),
            )
            for r in store.iter_relations()
        )
        stats = store.stats()
        return concepts, relations, stats.documents, stats.sentences, stats.chunks


@pytest.mark.slow
def test_kill_9_in_the_middle_then_the_same_command_equals_an_uninterrupted_build(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus.jsonl"
    _corpus(corpus, 1200)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    whole = tmp_path / "whole.db"
    subprocess.run(_command(corpus, whole), check=True, env=env, capture_output=True, timeout=600)
    assert _snapshot(whole)[2] == 1200 - 120  # documents: the duplicates counted once

    killed = tmp_path / "killed.db"
    child = subprocess.Popen(
        _command(corpus, killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while _chunks_done(killed) < 5 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if child.poll() is not None:
        pytest.fail("the build finished before it could be killed; make the corpus larger")
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=60) == -signal.SIGKILL
    done_at_kill = _chunks_done(killed)
    total = _snapshot(whole)[4]
    assert 5 <= done_at_kill < total

    subprocess.run(_command(corpus, killed), check=True, env=env, capture_output=True, timeout=600)
    assert _snapshot(killed) == _snapshot(whole)
