"""The Neo4j graph store (official ``neo4j`` driver, Neo4j 5.x).

Graph model:

- ``(:Concept:<TypeLabel> {id, name, name_lower, type, synonyms, synonyms_lower,
  mentions})`` where ``<TypeLabel>`` is ``Disease``, ``Symptom``, ``Finding``,
  ``LabTest``, ``Drug``, ``Procedure`` or ``Other``;
- one relationship per fact, typed by the upper-case relation type
  (``(:Concept)-[:SYMPTOM_OF {id, count, weight, ev_key, ev_source,
  ev_document, ev_sentence, ev_year}]->(:Concept)``): the evidence is kept as
  parallel list properties on the relationship (at most
  :attr:`Neo4jStore.max_evidence_per_edge` entries; ``ev_year`` holds ``-1``
  where the year is unknown, as Neo4j lists cannot hold nulls; an edge without
  evidence has no ``ev_*`` properties at all);
- ``(:BuildChunk {id, applied_at})`` for each committed build chunk, written
  in the same transaction as that chunk's data;
- ``(:GraphMeta {id: 'graph', sentences, documents})`` with corpus totals;
- ``(:CountedDocument {key, source, document_id})`` for each document counted
  with a content key (title and abstract), written with its chunk: a later
  chunk's document with the same key is a duplicate article, taken out of that
  chunk's delta (:func:`ctk.kg.stores.base.without_duplicates`).

Constraints: ``Concept.id``, ``BuildChunk.id``, ``GraphMeta.id`` and
``CountedDocument.key`` are unique;
indexes on ``Concept.name_lower`` and on ``r.id`` of every relationship type.
All Cypher lives in :mod:`ctk.kg.cypher`; labels and relationship types come
from the :mod:`ctk.kg.schema` allow-list, everything else is a parameter.

Writes are batched (``UNWIND $rows.items AS row MERGE ...``, :attr:`batch_size` rows a
statement) inside one managed transaction per chunk (``session.execute_write``:
the driver retries transient errors). Around that, a bounded retry with
exponential back-off re-opens the driver after ``ServiceUnavailable`` or
``SessionExpired``; when it gives up it raises
:class:`ctk.errors.StoreUnavailableError`. A chunk interrupted by a dropped
connection is rolled back by the server, so the retry (or a later resumed
build) does not count it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ctk import errors
from ctk.graph import GraphStats, Neighbour, NeighbourQuery
from ctk.kg import cypher
from ctk.kg.delta import ChunkApplied, CountedDocument, GraphDelta, without_duplicates
from ctk.kg.extraction.weights import association_weight
from ctk.kg.schema import (
    RELATIONSHIP_TYPES,
    check_label,
    check_relation_type,
    label_for_type,
    relation_type_for,
    relationship_type_for,
)
from ctk.kg.stores.base import GraphStore, StoreOptions, evidence_key
from ctk.records import RELATION_TYPES, Concept, Evidence, Relation
from ctk.retry import RetryPolicy

if TYPE_CHECKING:
    from neo4j import Driver, ManagedTransaction

__all__ = ["Neo4jStore"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_YEAR_UNKNOWN = -1
_KNOWN_REL_TYPES = frozenset(RELATIONSHIP_TYPES.values())


def _batches(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class _MissingEndpointError(Exception):
    """Raised inside a transaction function to roll it back."""


class Neo4jStore(GraphStore):
    """A knowledge graph in a Neo4j 5 database.

    Args:
        uri: ``neo4j://``, ``neo4j+s://``, ``bolt://`` (or ``bolt+s://``) URI.
        user: User name; None (with no password) connects without auth.
        password: Password (never logged).
        database: Database name; None uses the server's default database.
        batch_size: Rows per ``UNWIND`` statement (larger batches mean fewer round
            trips; 5000 rows of one evidence sentence each are about 1 MB).
        max_evidence_per_edge: Evidence sentences kept per edge.
        retry: How often, and after what waits, to retry when the server cannot be
            reached (default: 5 retries, 0.5 s doubling up to 30 s).
        max_transaction_retry_time: Seconds the driver itself retries a
            transaction on transient errors.
        connection_timeout: Seconds to wait for a TCP connection.
        on_batch: Called with the number of rows after each statement of a
            chunk (inside the transaction), e.g. to drive a progress bar.
        create_schema: Create the constraints and indexes on open.

    Raises:
        StoreUnavailableError: The server cannot be reached or refuses the login.

    Example:
        >>> with Neo4jStore("bolt://localhost:7687", user="neo4j", password="...") as store:
        ...     store.apply_chunk("pubmed-0001", delta)  # doctest: +SKIP
    """

    @classmethod
    def from_spec(cls, spec: str, options: StoreOptions) -> Neo4jStore:
        """Connect to the server a Neo4j URI names, with the login of ``options``."""
        logger.info(
            "opening Neo4j store %s (database %s, user %s)",
            spec,
            options.database or "default",
            options.user or "none",
        )
        return cls(
            spec,
            user=options.user,
            password=options.password.get_secret_value() if options.password else None,
            database=options.database,
            batch_size=options.batch_size,
            max_evidence_per_edge=options.max_evidence_per_edge,
        )

    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        batch_size: int = 5000,
        max_evidence_per_edge: int = 5,
        retry: RetryPolicy | None = None,
        max_transaction_retry_time: float = 15.0,
        connection_timeout: float = 10.0,
        on_batch: Callable[[int], None] | None = None,
        create_schema: bool = True,
    ) -> None:
        if batch_size < 1:
            raise errors.ConfigError("batch_size must be at least 1")
        self.uri = uri
        self.database = database
        self.batch_size = batch_size
        self.max_evidence_per_edge = max_evidence_per_edge
        self.retry = retry if retry is not None else RetryPolicy(max_retries=5)
        self.on_batch = on_batch
        self._auth = (user, password or "") if user else None
        self._driver_config: dict[str, Any] = {
            "max_transaction_retry_time": max_transaction_retry_time,
            "connection_timeout": connection_timeout,
            "connection_acquisition_timeout": max(connection_timeout, 5.0),
        }
        self._driver: Driver | None = None
        self._open()
        if create_schema:
            self.ensure_schema()

    # ------------------------------------------------------------------ connection
    def _open(self) -> None:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, ConfigurationError, ServiceUnavailable

        try:
            driver = GraphDatabase.driver(self.uri, auth=self._auth, **self._driver_config)
        except (ValueError, ConfigurationError) as e:
            raise errors.StoreUnavailableError(
                f"invalid Neo4j URI {self.uri!r}: {e}",
                hint="use neo4j://HOST:7687 or bolt://HOST:7687",
            ) from e
        try:
            driver.verify_connectivity()
        except AuthError as e:
            driver.close()
            raise errors.StoreUnavailableError(
                f"Neo4j at {self.uri} refused the login",
                hint="set CTK_NEO4J_PASSWORD, and --neo4j-user or CTK_NEO4J_USER",
            ) from e
        except (ServiceUnavailable, OSError) as e:
            driver.close()
            raise errors.StoreUnavailableError(
                f"cannot reach Neo4j at {self.uri}: {e}",
                hint="is the server running and the URI right? (e.g. bolt://localhost:7687)",
            ) from e
        self._driver = driver

    def _reopen(self) -> None:
        if self._driver is not None:
            try:
                self._driver.close()
            except Exception:
                logger.debug("closing the old driver failed", exc_info=True)
            self._driver = None
        self._open()

    @property
    def driver(self) -> Driver:
        """The open driver (re-opened after a dropped connection)."""
        if self._driver is None:
            self._open()
        assert self._driver is not None
        return self._driver

    def _with_retries(self, what: str, action: Callable[[], T]) -> T:
        """Run ``action`` and retry it, re-opening the driver, when the server is unreachable."""
        from neo4j.exceptions import (
            ClientError,
            DriverError,
            Neo4jError,
            ServiceUnavailable,
            SessionExpired,
        )

        retries = self.retry.max_retries
        for attempt in range(retries + 1):
            try:
                if self._driver is None:
                    self._open()
                return action()
            except (ServiceUnavailable, SessionExpired, errors.StoreUnavailableError) as e:
                if attempt >= retries:
                    raise errors.StoreUnavailableError(
                        f"Neo4j at {self.uri} unreachable during {what} "
                        f"(gave up after {attempt + 1} attempts): {e}",
                        hint="check the server; a re-run resumes after the committed chunks",
                    ) from e
                delay = self.retry.delay(attempt + 1)
                logger.warning(
                    "Neo4j unreachable during %s (attempt %d of %d); retrying in %.1f s",
                    what,
                    attempt + 1,
                    retries + 1,
                    delay,
                )
                time.sleep(delay)
                try:
                    self._reopen()
                except errors.StoreUnavailableError:
                    self._driver = None
            except ClientError as e:
                raise errors.StoreWriteError(
                    f"Neo4j refused {what}: {e.message}", hint="see the server log"
                ) from e
            except (Neo4jError, DriverError) as e:
                raise errors.GraphStoreError(f"Neo4j failed during {what}: {e}") from e
        raise AssertionError("unreachable")  # pragma: no cover

    def _write(self, what: str, work: Callable[[ManagedTransaction], T]) -> T:
        def action() -> T:
            with self.driver.session(database=self.database) as session:
                return session.execute_write(work)

        return self._with_retries(what, action)

    def _read(self, what: str, work: Callable[[ManagedTransaction], T]) -> T:
        def action() -> T:
            # Reads of a graph without (say) any evidence yet name property keys that do
            # not exist; the server's "property key does not exist" notices are noise.
            with self.driver.session(
                database=self.database, notifications_min_severity="OFF"
            ) as session:
                return session.execute_read(work)

        return self._with_retries(what, action)

    def _query(self, what: str, query: str, **params: Any) -> list[dict[str, Any]]:
        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(query, params)]

        return self._read(what, work)

    def ensure_schema(self) -> None:
        """Create the uniqueness constraints and indexes (idempotent)."""
        statements = [*cypher.CONSTRAINTS, *cypher.INDEXES, *cypher.relation_id_indexes()]

        def action() -> None:
            # "already exists" notifications of IF NOT EXISTS are noise here
            with self.driver.session(
                database=self.database, notifications_min_severity="OFF"
            ) as session:
                for statement in statements:
                    session.run(statement).consume()

        self._with_retries("schema setup", action)

    def prepare_imported(self, *, timeout_s: float = 300.0) -> None:
        """Make a database written by ``neo4j-admin database import`` what ctk writes.

        Creates the constraints and indexes, stores ``[]`` for the synonym lists
        the importer leaves out (it cannot write an empty list), and waits until
        every index is online. Idempotent.
        """
        self.ensure_schema()

        def action() -> None:
            with self.driver.session(
                database=self.database, notifications_min_severity="OFF"
            ) as session:
                session.run(cypher.FILL_EMPTY_SYNONYMS).consume()
                session.run(cypher.AWAIT_INDEXES, {"timeout": int(timeout_s)}).consume()

        self._with_retries("finishing a bulk import", action)

    # ------------------------------------------------------------------ rows
    @staticmethod
    def _concept_rows(concepts: Iterable[Concept], *, merge: bool) -> dict[str, list[Any]]:
        """Rows grouped by type label; with ``merge``, repeated ids are folded first."""
        folded: dict[str, dict[str, Any]] = {}
        rows_by_label: dict[str, list[dict[str, Any]]] = {}
        for c in concepts:
            label = label_for_type(c.type)
            row = folded.get(c.id) if merge else None
            if row is not None:
                row["mentions"] += c.mentions
                row["synonyms"] += [s for s in c.synonyms if s not in row["synonyms"]]
                continue
            row = {
                "id": c.id,
                "name": c.name,
                "name_lower": c.name.lower(),
                "type": c.type,
                "synonyms": list(dict.fromkeys(c.synonyms)),
                "mentions": c.mentions,
            }
            folded[c.id] = row
            rows_by_label.setdefault(label, []).append(row)
        return dict(rows_by_label)

    @staticmethod
    def _evidence_rows(evidence: Iterable[Evidence]) -> list[dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for e in evidence:
            key = evidence_key(e.document_id, e.sentence)
            rows.setdefault(
                key,
                {
                    "key": key,
                    "source": e.source,
                    "document_id": e.document_id,
                    "sentence": e.sentence,
                    "year": _YEAR_UNKNOWN if e.year is None else e.year,
                },
            )
        return list(rows.values())

    def _run_batches(
        self, tx: ManagedTransaction, query: str, rows: Sequence[Any], **params: Any
    ) -> None:
        for batch in _batches(rows, self.batch_size):
            record = tx.run(query, {"rows": cypher.rows_param(list(batch)), **params}).single()
            written = record["n"] if record is not None else len(batch)
            if written != len(batch):
                raise _MissingEndpointError(
                    f"{len(batch) - written} of {len(batch)} relation(s) name a concept that is "
                    "not in the graph"
                )
            if self.on_batch is not None:
                self.on_batch(len(batch))

    def _missing_endpoint(self, what: str, e: _MissingEndpointError) -> errors.StoreWriteError:
        return errors.StoreWriteError(
            f"{what} refused: {e}",
            hint="every relation's endpoints must be concepts of the store or of the same chunk",
        )

    # ------------------------------------------------------------------ writes
    def apply_chunk(self, chunk_id: str, delta: GraphDelta) -> ChunkApplied:
        """Add one chunk's delta and its ``BuildChunk`` marker in one transaction.

        Returns:
            What was done (``applied`` False, changing nothing, when the chunk was
            applied before; the duplicate articles taken out).

        Raises:
            SchemaViolationError: A relation or concept type outside the schema.
            StoreWriteError: A relation names a concept that is neither stored nor
                in the delta (nothing of the chunk is written).
            StoreUnavailableError: The server stayed unreachable through the retries.
        """
        for r in delta.relations:
            relationship_type_for(r.type)  # refuses unknown types before any write
        for c in delta.concepts:
            label_for_type(c.type)
        applied_at = datetime.now(UTC).isoformat(timespec="seconds")
        keys = [d.key for d in delta.counted]

        def work(tx: ManagedTransaction) -> tuple[bool, list[CountedDocument]]:
            record = tx.run(cypher.CHUNK_EXISTS, {"id": chunk_id}).single()
            if record is not None and record["n"] > 0:
                return False, []
            stored: set[str] = set()
            for batch in _batches(keys, self.batch_size):
                result = tx.run(cypher.COUNTED_DOCUMENTS_STORED, {"keys": cypher.rows_param(batch)})
                stored.update(r["key"] for r in result)
            try:
                reduced, dropped = without_duplicates(delta, stored)
            except ValueError as e:
                raise errors.StoreWriteError(
                    f"chunk {chunk_id!r} refused: {e}",
                    hint="a delta's `counted` documents must index its own concepts and relations",
                ) from e
            concept_rows, relation_rows = self._chunk_rows(reduced)
            self._run_batches(tx, cypher.MERGE_CONCEPTS, concept_rows)
            for rel_type, rows in relation_rows.items():
                self._run_batches(
                    tx, cypher.merge_relations_add(rel_type), rows, cap=self.max_evidence_per_edge
                )
            if reduced.deleted_documents:
                tx.run(cypher.DELETE_DOCUMENT_EVIDENCE, {"documents": reduced.deleted_documents})
            if reduced.sentences or reduced.documents:
                tx.run(
                    cypher.META_ADD,
                    {"sentences": reduced.sentences, "documents": reduced.documents},
                )
            counted = [
                {"key": d.key, "source": d.source, "document_id": d.doc_id} for d in reduced.counted
            ]
            self._run_batches(tx, cypher.COUNTED_DOCUMENTS_CREATE, counted)
            tx.run(cypher.CHUNK_CREATE, {"id": chunk_id, "applied_at": applied_at})
            return True, dropped

        try:
            applied, dropped = self._write(f"chunk {chunk_id!r}", work)
        except _MissingEndpointError as e:
            raise self._missing_endpoint(f"chunk {chunk_id!r}", e) from None
        return ChunkApplied(applied, tuple(dropped))

    def _chunk_rows(
        self, delta: GraphDelta
    ) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
        """A delta's concept rows and its relation rows by relationship type."""
        concept_rows = [
            {**row, "label": check_label(label)}
            for label, rows in self._concept_rows(delta.concepts, merge=True).items()
            for row in rows
        ]
        relation_rows: dict[str, dict[str, dict[str, Any]]] = {}
        for r in delta.relations:
            rel_type = relationship_type_for(r.type)
            fact_id = Relation.make_id(r.source_id, r.type, r.target_id)
            by_id = relation_rows.setdefault(rel_type, {})
            row = by_id.get(fact_id)
            if row is None:
                by_id[fact_id] = {
                    "id": fact_id,
                    "source_id": r.source_id,
                    "target_id": r.target_id,
                    "count": r.count,
                    "evidence": list(r.evidence),
                }
            else:
                row["count"] += r.count
                row["evidence"].extend(r.evidence)
        for by_id in relation_rows.values():
            for row in by_id.values():
                row["evidence"] = self._evidence_rows(row["evidence"])
        return concept_rows, {t: list(by_id.values()) for t, by_id in relation_rows.items()}

    def done_chunks(self) -> set[str]:
        """Ids of the chunks already applied."""
        return {row["id"] for row in self._query("reading chunks", cypher.CHUNK_IDS)}

    def chunk_times(self) -> dict[str, str | None]:
        """Ids of the chunks already applied, with when they were applied."""
        rows = self._query("reading chunks", cypher.CHUNK_TIMES)
        return {row["id"]: row["applied_at"] for row in rows}

    def finalize(self) -> None:
        """Set every edge's weight (:func:`~ctk.kg.extraction.weights.association_weight`).

        Over the ``documents`` total (``sentences`` for a graph without one);
        computed here, written in batches.
        """
        meta = self._meta()
        n = meta["documents"] or meta["sentences"]
        by_type: dict[str, list[tuple[str, float]]] = {}
        edges = 0
        for record in self._stream(cypher.WEIGHT_INPUTS):
            count_ab, count_a, count_b = record["count"], record["count_a"], record["count_b"]
            weight = float(association_weight(count_ab or 0, count_a or 0, count_b or 0, n))
            by_type.setdefault(record["type"], []).append((record["id"], weight))
            edges += 1
        for rel_type, weights in by_type.items():
            if rel_type not in _KNOWN_REL_TYPES:
                continue
            query = cypher.set_weights(rel_type)
            for batch in _batches(weights, 10 * self.batch_size):
                rows = cypher.rows_param([{"id": fact_id, "weight": w} for fact_id, w in batch])

                def work(
                    tx: ManagedTransaction, rows: dict[str, list[Any]] = rows, query: str = query
                ) -> None:
                    tx.run(query, {"rows": rows}).consume()

                self._write("weight update", work)
        logger.info("weights recomputed for %d edges over %d documents", edges, n)

    def upsert_concepts(self, concepts: Iterable[Concept]) -> int:
        """Insert or replace concepts as given (name, type, synonyms, mentions)."""
        rows = self._concept_rows(concepts, merge=False)

        def work(tx: ManagedTransaction) -> None:
            for label, label_rows in rows.items():
                self._run_batches(tx, cypher.set_concepts(label), label_rows)

        self._write("concept upsert", work)
        return sum(len(r) for r in rows.values())

    def upsert_relations(self, relations: Iterable[Relation]) -> int:
        """Insert or replace relations as given (count, weight and their evidence).

        Raises:
            SchemaViolationError: Unknown relation type.
            StoreWriteError: An endpoint is not a stored concept.
        """
        rows: dict[str, list[dict[str, Any]]] = {}
        for r in relations:
            rows.setdefault(relationship_type_for(r.type), []).append(
                {
                    "id": r.id,
                    "source_id": r.source_id,
                    "target_id": r.target_id,
                    "count": r.count,
                    "weight": r.weight,
                    "evidence": self._evidence_rows(r.evidence),
                }
            )

        def work(tx: ManagedTransaction) -> None:
            for rel_type, type_rows in rows.items():
                self._run_batches(tx, cypher.set_relations(rel_type), type_rows)

        try:
            self._write("relation upsert", work)
        except _MissingEndpointError as e:
            raise self._missing_endpoint("relation upsert", e) from None
        return sum(len(r) for r in rows.values())

    def clear(self) -> None:
        """Delete every node and relationship of the database (constraints stay)."""

        def action() -> None:
            with self.driver.session(database=self.database) as session:
                session.run(cypher.CLEAR_ALL).consume()

        self._with_retries("clear", action)

    def prune(self, min_count: int) -> int:
        """Delete the edges seen in fewer than ``min_count`` documents (with their evidence).

        Returns:
            The number of edges deleted.
        """
        deleted = [0]

        def action() -> None:
            with self.driver.session(database=self.database) as session:
                record = session.run(cypher.PRUNE_RELATIONS, {"min_count": min_count}).single()
                deleted[0] = int(record["deleted"]) if record is not None else 0

        self._with_retries("prune", action)
        logger.info("pruned %d edges seen fewer than %d times", deleted[0], min_count)
        return deleted[0]

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _concept(node: Any) -> Concept:
        return Concept(
            id=node["id"],
            name=node["name"],
            type=node["type"],
            synonyms=list(node.get("synonyms") or []),
            mentions=node.get("mentions") or 0,
        )

    @staticmethod
    def _relation(rel: Any, rel_type: str, source_id: str, target_id: str) -> Relation:
        evidence = [
            Evidence(
                source=source,
                document_id=doc,
                sentence=sentence,
                year=None if year == _YEAR_UNKNOWN else year,
            )
            for source, doc, sentence, year in zip(
                rel.get("ev_source") or [],
                rel.get("ev_document") or [],
                rel.get("ev_sentence") or [],
                rel.get("ev_year") or [],
                strict=True,
            )
        ]
        return Relation(
            id=rel["id"],
            source_id=source_id,
            target_id=target_id,
            type=relation_type_for(rel_type),  # type: ignore[arg-type]
            count=rel.get("count") or 0,
            weight=float(rel.get("weight") or 0.0),
            evidence=evidence,
        )

    def _meta(self) -> dict[str, int]:
        rows = self._query("reading totals", cypher.META_READ)
        return {"sentences": rows[0]["sentences"], "documents": rows[0]["documents"]}

    def get_concept(self, concept_id: str) -> Concept | None:
        """One concept by id, or None."""

        def work(tx: ManagedTransaction) -> Concept | None:
            record = tx.run(cypher.CONCEPT_BY_ID, {"id": concept_id}).single()
            return None if record is None else self._concept(record["c"])

        return self._read("concept lookup", work)

    def find_concepts(self, name: str, *, limit: int = 10) -> list[Concept]:
        """Concepts named (or with a synonym) ``name``, case-insensitive; then prefix matches."""
        key = name.strip().lower()
        if not key or limit <= 0:
            return []

        def work(tx: ManagedTransaction) -> list[Concept]:
            result = tx.run(cypher.FIND_CONCEPTS, {"key": key, "limit": limit})
            return [self._concept(record["c"]) for record in result]

        return self._read("concept search", work)

    def get_relation(self, fact_id: str) -> Relation | None:
        """One relation by fact id, with its evidence, or None."""
        candidates = [t for t in RELATION_TYPES if f"|{t}|" in fact_id]

        def work(tx: ManagedTransaction) -> Relation | None:
            for t in candidates:
                record = tx.run(cypher.relation_by_id(RELATIONSHIP_TYPES[t]), {"id": fact_id})
                found = record.single()
                if found is not None:
                    return self._relation(
                        found["r"], found["type"], found["source_id"], found["target_id"]
                    )
            return None

        return self._read("relation lookup", work) if candidates else None

    def _stored_neighbours(self, concept_id: str, query: NeighbourQuery) -> list[Neighbour]:
        types = (
            None
            if query.relation_types is None
            else [relationship_type_for(check_relation_type(t)) for t in query.relation_types]
        )
        params = {
            "id": concept_id,
            "types": types,
            "min_weight": query.min_weight,
            "min_count": int(query.min_count),
            "limit": query.limit,
        }

        def work(tx: ManagedTransaction) -> list[Neighbour]:
            return [
                Neighbour(
                    relation=self._relation(
                        rec["r"], rec["type"], rec["source_id"], rec["target_id"]
                    ),
                    concept=self._concept(rec["o"]),
                    direction=rec["direction"],
                )
                for rec in tx.run(cypher.NEIGHBOURS, params)
            ]

        if query.limit <= 0:
            return []
        return self._read("neighbour lookup", work)

    def _stream(self, query: str) -> Iterator[Any]:
        with self.driver.session(
            database=self.database, fetch_size=1000, notifications_min_severity="OFF"
        ) as session:
            yield from session.run(query)

    def iter_counted_documents(self) -> Iterator[tuple[str, str, str]]:
        """``(content key, source, document id)`` of every counted article, by key."""
        for record in self._stream(cypher.COUNTED_DOCUMENTS_ALL):
            yield record["key"], record["source"], record["document_id"]

    def iter_concepts(self) -> Iterator[Concept]:
        """Every concept in id order (streamed from one query)."""
        for record in self._stream(cypher.CONCEPT_PAGE):
            yield self._concept(record["c"])

    def iter_relations(self, *, with_evidence: bool = True) -> Iterator[Relation]:
        """Every relation in fact-id order (streamed from one query)."""
        for record in self._stream(cypher.RELATIONS_ALL):
            rel = self._relation(
                record["r"], record["type"], record["source_id"], record["target_id"]
            )
            if not with_evidence:
                rel.evidence = []
            yield rel

    def stats(self) -> GraphStats:
        """Counts of concepts, relations, evidence, chunks and corpus totals."""

        def work(tx: ManagedTransaction) -> GraphStats:
            def scalar(query: str) -> int:
                record = tx.run(query).single()
                return int(record["n"]) if record is not None else 0

            meta = tx.run(cypher.META_READ).single()
            by_type = {
                r["type"]: r["n"] for r in tx.run(cypher.CONCEPT_COUNTS_BY_TYPE) if r["type"]
            }
            rel_by_type = {
                relation_type_for(r["type"]): r["n"]
                for r in tx.run(cypher.RELATION_COUNTS_BY_TYPE)
                if r["type"] in _KNOWN_REL_TYPES
            }
            return GraphStats(
                concepts=scalar(cypher.COUNT_CONCEPTS),
                relations=sum(rel_by_type.values()),
                evidence=scalar(cypher.EVIDENCE_COUNT),
                sentences=meta["sentences"] if meta else 0,
                documents=meta["documents"] if meta else 0,
                chunks=scalar(cypher.COUNT_CHUNKS),
                concepts_by_type=dict(sorted(by_type.items())),
                relations_by_type=dict(sorted(rel_by_type.items())),
            )

        return self._read("stats", work)

    def close(self) -> None:
        """Close the driver."""
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def __repr__(self) -> str:
        return f"Neo4jStore({self.uri!r}, database={self.database!r})"
