"""The embedded graph store: one SQLite file, no server.

The default store of ``ctk kg``. It lives in one file (WAL mode: while it is
open, SQLite keeps two companion files ``-wal``/``-shm`` beside it, merged back
on close). Each :meth:`EmbeddedStore.apply_chunk` runs in one ``BEGIN
IMMEDIATE ... COMMIT`` transaction together with its chunk marker, with
``synchronous=FULL``: a crash (or Ctrl-C) loses at most the chunk being
written, never a committed one, and a re-run skips the chunks already there.

Tables::

    meta(key, value)                       format version, sentence/document totals
    chunks(id, applied_at)                 committed build chunks
    concepts(id, name, name_lower, type, mentions)
    synonyms(concept_id, name, name_lower) in first-seen order
    relations(id, source_id, target_id, type, count, weight)   (WITHOUT ROWID)
    evidence(fact_id, ekey, source, document_id, sentence, year)
    counted_documents(content_key, source, document_id)   (WITHOUT ROWID)

Indexes on ``concepts.name_lower``, ``synonyms.name_lower``, both relation
endpoints and ``evidence.document_id``. Writes use ``executemany`` in one
transaction per chunk: about 30,000 edges per CPU-second, a million-edge graph in about a minute
(see ``benchmarks/RESULTS.md``). For graph algorithms, load the graph into
networkx with :func:`ctk.kg.networkx_view.to_networkx`.

Merge rules of :meth:`EmbeddedStore.apply_chunk` (shared with the Neo4j store):
a concept's name and type are those first written, synonyms are the union in
first-seen order, mentions add up; an edge's count adds up; evidence keeps the
first :attr:`max_evidence_per_edge` distinct ``(document_id, sentence)`` pairs;
``deleted_documents`` removes the evidence rows of those documents (counts and
weights are left as they are: a retraction does not rewrite history); a
document of ``delta.counted`` whose content key is in ``counted_documents`` is a
duplicate article and is taken out of the delta
(:func:`~ctk.kg.stores.base.without_duplicates`), and the keys of the others are
added, in the chunk's transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ctk.errors import FormatVersionError, StoreUnavailableError, StoreWriteError
from ctk.graph import GraphStats, Neighbour, NeighbourQuery
from ctk.kg.delta import ChunkApplied, CountedDocument, GraphDelta, without_duplicates
from ctk.kg.extraction.weights import association_weight
from ctk.kg.schema import check_relation_type, label_for_type
from ctk.kg.stores.base import GraphStore, StoreOptions, evidence_key
from ctk.records import Concept, Evidence, Relation

__all__ = ["DEFAULT_FILE_NAME", "FORMAT_VERSION", "EmbeddedStore"]

logger = logging.getLogger(__name__)

#: Version of the table layout, kept in ``meta``.
FORMAT_VERSION = 1
#: File used when the store path is an existing folder.
DEFAULT_FILE_NAME = "kg.db"
_PAGE = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS concepts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    type TEXT NOT NULL,
    mentions INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS concepts_name_lower ON concepts(name_lower);
CREATE TABLE IF NOT EXISTS synonyms (
    concept_id TEXT NOT NULL REFERENCES concepts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    PRIMARY KEY (concept_id, name)
);
CREATE INDEX IF NOT EXISTS synonyms_name_lower ON synonyms(name_lower);
CREATE TABLE IF NOT EXISTS relations (
    id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES concepts(id),
    target_id TEXT NOT NULL REFERENCES concepts(id),
    type TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    weight REAL NOT NULL DEFAULT 0.0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relations_source ON relations(source_id);
CREATE INDEX IF NOT EXISTS relations_target ON relations(target_id);
CREATE TABLE IF NOT EXISTS evidence (
    fact_id TEXT NOT NULL REFERENCES relations(id) ON DELETE CASCADE,
    ekey TEXT NOT NULL,
    source TEXT NOT NULL,
    document_id TEXT NOT NULL,
    sentence TEXT NOT NULL,
    year INTEGER,
    PRIMARY KEY (fact_id, ekey)
);
CREATE INDEX IF NOT EXISTS evidence_document ON evidence(document_id);
CREATE TABLE IF NOT EXISTS counted_documents (
    content_key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    document_id TEXT NOT NULL
) WITHOUT ROWID;
"""

_UPSERT_CONCEPT_ADD = (
    "INSERT INTO concepts(id, name, name_lower, type, mentions) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET mentions = mentions + excluded.mentions"
)
_UPSERT_CONCEPT_REPLACE = (
    "INSERT INTO concepts(id, name, name_lower, type, mentions) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET name = excluded.name, name_lower = excluded.name_lower, "
    "type = excluded.type, mentions = excluded.mentions"
)
_INSERT_SYNONYM = "INSERT OR IGNORE INTO synonyms(concept_id, name, name_lower) VALUES (?, ?, ?)"
_UPSERT_RELATION_ADD = (
    "INSERT INTO relations(id, source_id, target_id, type, count) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET count = count + excluded.count"
)
_UPSERT_RELATION_REPLACE = (
    "INSERT INTO relations(id, source_id, target_id, type, count, weight) "
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET count = excluded.count, weight = excluded.weight"
)
_INSERT_EVIDENCE_CAPPED = (
    "INSERT OR IGNORE INTO evidence(fact_id, ekey, source, document_id, sentence, year) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6 "
    "WHERE (SELECT count(*) FROM evidence WHERE fact_id = ?1) < ?7"
)
_INSERT_EVIDENCE = (
    "INSERT OR IGNORE INTO evidence(fact_id, ekey, source, document_id, sentence, year) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class EmbeddedStore(GraphStore):
    """A knowledge graph in one SQLite file.

    Args:
        path: The database file (created with its folder when missing). An
            existing folder means the file :data:`DEFAULT_FILE_NAME` inside it.
        max_evidence_per_edge: Evidence sentences kept per edge.
        synchronous: SQLite ``synchronous`` setting: ``FULL`` (default: a
            committed chunk survives a power cut) or ``NORMAL`` (faster; survives
            a crash of the program, not of the machine).
        read_only: Open without writing (fails if the file does not exist).
        cache_mb: SQLite page cache size in MiB (bigger helps large builds).

    Raises:
        StoreUnavailableError: The file cannot be opened or is not a ctk graph.
        FormatVersionError: The file was written by a newer ctk.

    Example:
        >>> with EmbeddedStore("kg.db") as store:  # doctest: +SKIP
        ...     store.apply_chunk("pubmed-0001", delta)
        ...     store.finalize()
    """

    @classmethod
    def from_spec(cls, spec: str, options: StoreOptions) -> EmbeddedStore:
        """Open the store file a path (or ``file://PATH``) names."""
        path = spec[len("file://") :] if spec.lower().startswith("file://") else spec
        logger.info("opening embedded store %s", path)
        return cls(
            path,
            read_only=options.read_only,
            max_evidence_per_edge=options.max_evidence_per_edge,
        )

    def __init__(
        self,
        path: str | Path,
        *,
        max_evidence_per_edge: int = 5,
        synchronous: str = "FULL",
        read_only: bool = False,
        cache_mb: int = 256,
    ) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / DEFAULT_FILE_NAME
        if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise StoreUnavailableError(
                f"unknown SQLite synchronous mode {synchronous!r}", hint="use FULL or NORMAL"
            )
        self.path = path
        self.max_evidence_per_edge = max_evidence_per_edge
        try:
            if read_only:
                if not path.exists():
                    raise StoreUnavailableError(
                        f"no knowledge graph at {path}",
                        hint="build one with `ctk kg build --store PATH` or check the path",
                    )
                conn = sqlite3.connect(
                    f"file:{path}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._conn = conn
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA cache_size = {-1024 * max(int(cache_mb), 2)}")
            if not read_only:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
                conn.executescript(_SCHEMA)
            self._check_format(read_only)
        except sqlite3.DatabaseError as e:
            raise StoreUnavailableError(
                f"cannot open the knowledge graph file {path}: {e}",
                hint="is it a ctk graph (SQLite) file? pass another --store path",
            ) from e

    def _check_format(self, read_only: bool) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
        if row is None:
            if not read_only:
                self._conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('format_version', ?)",
                    (str(FORMAT_VERSION),),
                )
            return
        if int(row[0]) > FORMAT_VERSION:
            raise FormatVersionError(
                f"{self.path} has graph format version {row[0]}; this ctk reads up to "
                f"{FORMAT_VERSION}",
                hint="upgrade clinragen-toolkit",
            )

    # ------------------------------------------------------------------ helpers
    def _meta_int(self, key: str) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _add_meta(self, key: str, amount: int) -> None:
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?",
            (key, str(amount), amount),
        )

    def _write(self, what: str, work: Any, *args: Any) -> Any:
        """Run ``work(*args)`` in one immediate transaction; roll back on any error."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise StoreUnavailableError(
                f"cannot write to {self.path}: {e}",
                hint="another process may hold the graph open for writing; wait or close it",
            ) from e
        try:
            result = work(*args)
        except sqlite3.IntegrityError as e:
            conn.execute("ROLLBACK")
            raise StoreWriteError(
                f"{what} refused by {self.path}: {e}",
                hint="every relation's endpoints must be concepts of the store or of the "
                "same chunk",
            ) from e
        except sqlite3.Error as e:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreWriteError(
                f"{what} failed on {self.path}: {e}",
                hint="check free disk space and that no other program locks the file",
            ) from e
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _concept_rows(self, concepts: Sequence[Concept]) -> tuple[list[Any], list[Any]]:
        rows: list[tuple[str, str, str, str, int]] = []
        syn_rows: list[tuple[str, str, str]] = []
        for c in concepts:
            label_for_type(c.type)  # refuses unknown types
            rows.append((c.id, c.name, c.name.lower(), c.type, c.mentions))
            syn_rows.extend((c.id, s, s.lower()) for s in c.synonyms)
        return rows, syn_rows

    # ------------------------------------------------------------------ writes
    def apply_chunk(self, chunk_id: str, delta: GraphDelta) -> ChunkApplied:
        """Add one chunk's delta and mark it done in one transaction.

        Args:
            chunk_id: Stable id of the chunk (e.g. input file and slice).
            delta: What the chunk adds.

        Returns:
            What was done (``applied`` False, changing nothing, when the chunk was
            applied before; the duplicate articles taken out).

        Raises:
            SchemaViolationError: A relation or concept type outside the schema.
            StoreWriteError: A relation names a concept that is neither stored
                nor in the delta (nothing of the chunk is written).
        """
        for r in delta.relations:
            check_relation_type(r.type)
        applied, dropped = self._write(f"chunk {chunk_id!r}", self._apply_chunk, chunk_id, delta)
        return ChunkApplied(bool(applied), tuple(dropped))

    def _stored_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            found.update(
                row[0]
                for row in self._conn.execute(
                    "SELECT content_key FROM counted_documents "
                    f"WHERE content_key IN ({','.join('?' * len(part))})",
                    part,
                )
            )
        return found

    def _apply_chunk(self, chunk_id: str, delta: GraphDelta) -> tuple[bool, list[CountedDocument]]:
        conn = self._conn
        if conn.execute("SELECT 1 FROM chunks WHERE id = ?", (chunk_id,)).fetchone():
            return False, []
        try:
            delta, dropped = without_duplicates(
                delta, self._stored_keys([d.key for d in delta.counted])
            )
        except ValueError as e:
            raise StoreWriteError(
                f"chunk {chunk_id!r} refused: {e}",
                hint="a delta's `counted` documents must index its own concepts and relations",
            ) from e
        if delta.counted:
            conn.executemany(
                "INSERT INTO counted_documents(content_key, source, document_id) VALUES (?, ?, ?)",
                [(d.key, d.source, d.doc_id) for d in delta.counted],
            )
        rows, syn_rows = self._concept_rows(delta.concepts)
        conn.executemany(_UPSERT_CONCEPT_ADD, rows)
        conn.executemany(_INSERT_SYNONYM, syn_rows)
        rel_rows: list[tuple[str, str, str, str, int]] = []
        ev_rows: list[tuple[str, str, str, str, str, int | None, int]] = []
        cap = self.max_evidence_per_edge
        for r in delta.relations:
            fact_id = Relation.make_id(r.source_id, r.type, r.target_id)
            rel_rows.append((fact_id, r.source_id, r.target_id, r.type, r.count))
            ev_rows.extend(
                (
                    fact_id,
                    evidence_key(e.document_id, e.sentence),
                    e.source,
                    e.document_id,
                    e.sentence,
                    e.year,
                    cap,
                )
                for e in r.evidence
            )
        conn.executemany(_UPSERT_RELATION_ADD, rel_rows)
        if ev_rows and cap > 0:
            conn.executemany(_INSERT_EVIDENCE_CAPPED, ev_rows)
        if delta.deleted_documents:
            conn.executemany(
                "DELETE FROM evidence WHERE document_id = ?",
                [(d,) for d in delta.deleted_documents],
            )
        if delta.sentences:
            self._add_meta("sentences", delta.sentences)
        if delta.documents:
            self._add_meta("documents", delta.documents)
        conn.execute(
            "INSERT INTO chunks(id, applied_at) VALUES (?, ?)",
            (chunk_id, datetime.now(UTC).isoformat(timespec="seconds")),
        )
        return True, dropped

    def done_chunks(self) -> set[str]:
        """Ids of the chunks already applied."""
        return {row[0] for row in self._conn.execute("SELECT id FROM chunks")}

    def chunk_times(self) -> dict[str, str | None]:
        """Ids of the chunks already applied, with when they were applied."""
        return dict(self._conn.execute("SELECT id, applied_at FROM chunks").fetchall())

    def finalize(self) -> None:
        """Set every edge's weight from its count and its concepts' mentions.

        :func:`~ctk.kg.extraction.weights.association_weight` over the ``documents``
        total of the graph metadata (the ``sentences`` total for a graph that
        records no documents). One transaction.
        """
        n = self._meta_int("documents") or self._meta_int("sentences")

        def weight(count_ab: int, count_a: int | None, count_b: int | None) -> float:
            return float(association_weight(count_ab, count_a or 0, count_b or 0, n))

        self._conn.create_function("ctk_npmi", 3, weight, deterministic=True)

        def work() -> None:
            self._conn.execute(
                "UPDATE relations SET weight = ctk_npmi(count, "
                "(SELECT mentions FROM concepts WHERE id = relations.source_id), "
                "(SELECT mentions FROM concepts WHERE id = relations.target_id))"
            )

        self._write("finalize", work)
        logger.info("weights recomputed over %d documents", n)

    def prune(self, min_count: int) -> int:
        """Delete the edges (and their evidence) seen in fewer than ``min_count`` documents.

        Returns:
            The number of edges deleted.
        """

        def work() -> int:
            # evidence rows go with their edge (ON DELETE CASCADE)
            cur = self._conn.execute("DELETE FROM relations WHERE count < ?", (min_count,))
            return int(cur.rowcount)

        deleted = int(self._write("prune", work))
        logger.info("pruned %d edges seen fewer than %d times", deleted, min_count)
        return deleted

    def upsert_concepts(self, concepts: Iterable[Concept]) -> int:
        """Insert or replace concepts as given (name, type, synonyms, mentions)."""
        items = list(concepts)
        rows, syn_rows = self._concept_rows(items)

        self._replace_rows(
            "concept upsert",
            (_UPSERT_CONCEPT_REPLACE, rows),
            "DELETE FROM synonyms WHERE concept_id = ?",
            [c.id for c in items],
            (_INSERT_SYNONYM, syn_rows),
        )
        return len(items)

    def upsert_relations(self, relations: Iterable[Relation]) -> int:
        """Insert or replace relations as given (count, weight and all their evidence).

        Raises:
            SchemaViolationError: Unknown relation type.
            StoreWriteError: An endpoint is not a stored concept.
        """
        items = list(relations)
        for r in items:
            check_relation_type(r.type)
        rel_rows = [(r.id, r.source_id, r.target_id, r.type, r.count, r.weight) for r in items]
        ev_rows = [
            (
                r.id,
                evidence_key(e.document_id, e.sentence),
                e.source,
                e.document_id,
                e.sentence,
                e.year,
            )
            for r in items
            for e in r.evidence
        ]

        self._replace_rows(
            "relation upsert",
            (_UPSERT_RELATION_REPLACE, rel_rows),
            "DELETE FROM evidence WHERE fact_id = ?",
            [r.id for r in items],
            (_INSERT_EVIDENCE, ev_rows),
        )
        return len(items)

    def _replace_rows(
        self,
        what: str,
        parents: tuple[str, list[Any]],
        delete_children: str,
        ids: list[str],
        children: tuple[str, list[Any]],
    ) -> None:
        """Upsert parent rows and replace their child rows, in one transaction."""

        def work() -> None:
            self._conn.executemany(*parents)
            self._conn.executemany(delete_children, [(i,) for i in ids])
            self._conn.executemany(*children)

        self._write(what, work)

    def clear(self) -> None:
        """Delete every concept, relation, evidence row, chunk marker, content key and total."""

        def work() -> None:
            for table in (
                "evidence",
                "relations",
                "synonyms",
                "concepts",
                "chunks",
                "counted_documents",
            ):
                self._conn.execute(f"DELETE FROM {table}")
            self._conn.execute("DELETE FROM meta WHERE key != 'format_version'")

        self._write("clear", work)

    # ------------------------------------------------------------------ reads
    def _synonyms(self, ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {i: [] for i in ids}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for cid, name in self._conn.execute(
                f"SELECT concept_id, name FROM synonyms WHERE concept_id IN ({marks}) "
                "ORDER BY rowid",
                part,
            ):
                out[cid].append(name)
        return out

    def _concepts(self, rows: Sequence[Sequence[Any]]) -> list[Concept]:
        syns = self._synonyms([r[0] for r in rows])
        return [
            Concept(id=r[0], name=r[1], type=r[2], mentions=r[3], synonyms=syns[r[0]]) for r in rows
        ]

    def _evidence(self, fact_ids: Sequence[str]) -> dict[str, list[Evidence]]:
        out: dict[str, list[Evidence]] = {i: [] for i in fact_ids}
        for start in range(0, len(fact_ids), 500):
            part = fact_ids[start : start + 500]
            marks = ",".join("?" * len(part))
            for fid, source, doc, sentence, year in self._conn.execute(
                "SELECT fact_id, source, document_id, sentence, year FROM evidence "
                f"WHERE fact_id IN ({marks}) ORDER BY rowid",
                part,
            ):
                out[fid].append(
                    Evidence(source=source, document_id=doc, sentence=sentence, year=year)
                )
        return out

    def _relations(self, rows: Sequence[Sequence[Any]], with_evidence: bool) -> list[Relation]:
        ev = self._evidence([r[0] for r in rows]) if with_evidence else {}
        return [
            Relation(
                id=r[0],
                source_id=r[1],
                target_id=r[2],
                type=r[3],
                count=r[4],
                weight=r[5],
                evidence=ev.get(r[0], []),
            )
            for r in rows
        ]

    _CONCEPT_COLS = "id, name, type, mentions"
    _RELATION_COLS = "id, source_id, target_id, type, count, weight"

    def get_concept(self, concept_id: str) -> Concept | None:
        """One concept by id, or None."""
        rows = self._conn.execute(
            f"SELECT {self._CONCEPT_COLS} FROM concepts WHERE id = ?", (concept_id,)
        ).fetchall()
        return self._concepts(rows)[0] if rows else None

    def find_concepts(self, name: str, *, limit: int = 10) -> list[Concept]:
        """Concepts named (or with a synonym) ``name``, case-insensitive; then prefix matches.

        Exact matches come first (shortest name first), then names and synonyms
        starting with ``name``.
        """
        key = name.strip().lower()
        if not key or limit <= 0:
            return []
        high = key + "\U0010ffff"
        rows = self._conn.execute(
            f"""
            SELECT {self._CONCEPT_COLS}, min(rank) AS best, length(name) AS len FROM (
                SELECT {self._CONCEPT_COLS}, 0 AS rank FROM concepts WHERE name_lower = ?1
                UNION ALL
                SELECT c.id, c.name, c.type, c.mentions, 1 FROM synonyms s
                    JOIN concepts c ON c.id = s.concept_id WHERE s.name_lower = ?1
                UNION ALL
                SELECT {self._CONCEPT_COLS}, 2 FROM concepts
                    WHERE name_lower > ?1 AND name_lower < ?2
                UNION ALL
                SELECT c.id, c.name, c.type, c.mentions, 3 FROM synonyms s
                    JOIN concepts c ON c.id = s.concept_id
                    WHERE s.name_lower > ?1 AND s.name_lower < ?2
            ) GROUP BY id ORDER BY best, mentions DESC, len, id LIMIT ?3
            """,
            (key, high, limit),
        ).fetchall()
        return self._concepts([r[:4] for r in rows])

    def get_relation(self, fact_id: str) -> Relation | None:
        """One relation by fact id, with its evidence, or None."""
        rows = self._conn.execute(
            f"SELECT {self._RELATION_COLS} FROM relations WHERE id = ?", (fact_id,)
        ).fetchall()
        return self._relations(rows, True)[0] if rows else None

    def _stored_neighbours(self, concept_id: str, query: NeighbourQuery) -> list[Neighbour]:
        where = ""
        params: list[Any] = [concept_id, concept_id]
        if query.relation_types is not None:
            types = [check_relation_type(t) for t in query.relation_types]
            if not types:
                return []
            where += f" AND r.type IN ({','.join('?' * len(types))})"
            params += types
        if query.min_weight is not None:
            where += " AND r.weight >= ?"
            params.append(query.min_weight)
        if query.min_count > 1:
            where += " AND r.count >= ?"
            params.append(int(query.min_count))
        cols = ", ".join(f"r.{c.strip()}" for c in self._RELATION_COLS.split(","))
        rows = self._conn.execute(
            f"""
            SELECT * FROM (
                SELECT {cols}, 'out' AS direction, r.target_id AS other FROM relations r
                    WHERE r.source_id = ?1
                UNION ALL
                SELECT {cols}, 'in', r.source_id FROM relations r
                    WHERE r.target_id = ?2 AND r.source_id != r.target_id
            ) AS r WHERE 1 {where}
            ORDER BY r.weight DESC, r.count DESC, r.id LIMIT {int(query.limit)}
            """,
            params,
        ).fetchall()
        relations = self._relations([row[:6] for row in rows], True)
        others = {c.id: c for c in self._concepts_by_id([row[7] for row in rows])}
        return [
            Neighbour(relation=rel, concept=others[row[7]], direction=row[6])
            for rel, row in zip(relations, rows, strict=True)
            if row[7] in others
        ]

    def _concepts_by_id(self, ids: Sequence[str]) -> list[Concept]:
        unique = list(dict.fromkeys(ids))
        rows: list[Any] = []
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            rows += self._conn.execute(
                f"SELECT {self._CONCEPT_COLS} FROM concepts "
                f"WHERE id IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
        return self._concepts(rows)

    def iter_concepts(self) -> Iterator[Concept]:
        """Every concept, in id order, read page by page."""
        for rows in self._pages(self._CONCEPT_COLS, "concepts", "id"):
            yield from self._concepts(rows)

    def iter_relations(self, *, with_evidence: bool = True) -> Iterator[Relation]:
        """Every relation, in fact-id order, read page by page."""
        for rows in self._pages(self._RELATION_COLS, "relations", "id"):
            yield from self._relations(rows, with_evidence)

    def iter_counted_documents(self) -> Iterator[tuple[str, str, str]]:
        """``(content key, source, document id)`` of every counted article, by key."""
        has_table = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'counted_documents'"
        ).fetchone()
        if not has_table:  # a graph written before ctk kept content keys
            return
        pages = self._pages("content_key, source, document_id", "counted_documents", "content_key")
        for rows in pages:
            yield from ((str(k), str(s), str(d)) for k, s, d in rows)

    def _pages(self, columns: str, table: str, key: str) -> Iterator[list[Any]]:
        """The rows of ``table`` in ``key`` order, one page of ``_PAGE`` rows at a time.

        Keyset paging (a page costs the same at any depth): ``key`` is the first of
        ``columns``, and all three are the store's own names, never user input.
        """
        last = ""
        while True:
            rows = self._conn.execute(
                f"SELECT {columns} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT ?",
                (last, _PAGE),
            ).fetchall()
            if not rows:
                return
            yield rows
            last = rows[-1][0]

    def stats(self) -> GraphStats:
        """Counts of concepts, relations, evidence, chunks and corpus totals."""
        one = self._conn.execute
        return GraphStats(
            concepts=one("SELECT count(*) FROM concepts").fetchone()[0],
            relations=one("SELECT count(*) FROM relations").fetchone()[0],
            evidence=one("SELECT count(*) FROM evidence").fetchone()[0],
            sentences=self._meta_int("sentences"),
            documents=self._meta_int("documents"),
            chunks=one("SELECT count(*) FROM chunks").fetchone()[0],
            concepts_by_type=dict(
                one("SELECT type, count(*) FROM concepts GROUP BY type ORDER BY type").fetchall()
            ),
            relations_by_type=dict(
                one("SELECT type, count(*) FROM relations GROUP BY type ORDER BY type").fetchall()
            ),
        )

    def close(self) -> None:
        """Close the file (checkpointing the write-ahead log)."""
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
            self._conn = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.path)!r})"
