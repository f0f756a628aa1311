"""Dump an embedded knowledge graph as canonical text, to prove two builds identical.

A speed change to ``ctk kg build`` must not change the graph. Build the same
corpus with the old and the new code into two embedded stores, dump both, and
compare: the dump lists the store's totals (``meta``), the number of committed
chunks, every concept (id, name, type, mention count), its synonyms in stored
order, every relation (id, endpoints, type, count, weight) and every evidence
row (fact, key, source, document, sentence, year) in stored order. Build times
(``chunks.applied_at``) are left out.

Usage::

    python tools/kg_dump.py OLD.db old.txt
    python tools/kg_dump.py NEW.db new.txt
    cmp old.txt new.txt && echo identical

or ``python tools/kg_dump.py OLD.db NEW.db --compare`` (exit 1 and the first
differing lines when they differ).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path

_QUERIES = (
    ("meta", "SELECT key, value FROM meta ORDER BY key"),
    ("concept", "SELECT id, name, type, mentions FROM concepts ORDER BY id"),
    ("synonym", "SELECT concept_id, name FROM synonyms ORDER BY concept_id, rowid"),
    (
        "relation",
        "SELECT id, source_id, target_id, type, count, weight FROM relations ORDER BY id",
    ),
    (
        "evidence",
        "SELECT fact_id, ekey, source, document_id, sentence, year FROM evidence "
        "ORDER BY fact_id, rowid",
    ),
)


def dump_lines(store: Path) -> Iterator[str]:
    """The canonical lines of one embedded store (see the module docstring)."""
    if not store.is_file():
        raise SystemExit(f"{store}: no such store file; pass the .db file of an embedded store")
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        (chunks,) = db.execute("SELECT count(*) FROM chunks").fetchone()
        yield f"chunks\t{chunks}"
        for kind, query in _QUERIES:
            for row in db.execute(query):
                yield kind + "\t" + "\t".join(map(repr, row))
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    """Dump one store to a file, or compare two stores (``--compare``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="an embedded store (kg.db)")
    parser.add_argument("target", type=Path, help="the dump file, or a second store")
    parser.add_argument("--compare", action="store_true", help="compare two stores")
    args = parser.parse_args(argv)
    if not args.compare:
        with args.target.open("w", encoding="utf-8") as out:
            for line in dump_lines(args.store):
                out.write(line + "\n")
        return 0
    pairs = zip_longest(dump_lines(args.store), dump_lines(args.target))
    for number, (a, b) in enumerate(pairs, start=1):
        if a != b:
            print(f"line {number} differs:\n< {(a or '(end)')[:300]}\n> {(b or '(end)')[:300]}")
            return 1
    print("identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
