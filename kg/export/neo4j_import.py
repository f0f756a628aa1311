"""CSV files for Neo4j's offline importer (``neo4j-admin database import full``).

A fresh database loads about two orders of magnitude faster through Neo4j's own
importer than through Cypher ``MERGE`` (benchmarks/RESULTS.md). This module
writes a folder the importer reads, with the graph model of
:class:`ctk.kg.stores.neo4j.Neo4jStore` (same labels, keys, properties and
evidence lists), so a database loaded either way answers the same queries;
:mod:`ctk.kg.export.neo4j_admin` runs the importer and opens the result.

Files (UTF-8, RFC 4180 quoting, header on the first line)::

    concepts.csv       id:ID(Concept),:LABEL,name,name_lower,type,synonyms:string[],
                       synonyms_lower:string[],mentions:long
    chunks.csv         id:ID(BuildChunk),:LABEL,applied_at
    counted_documents.csv  key:ID(CountedDocument),:LABEL,source,document_id
    meta.csv           id:ID(GraphMeta),:LABEL,sentences:long,documents:long
    relationships.csv  :START_ID(Concept),:END_ID(Concept),:TYPE,id,count:long,
                       weight:double,ev_key:string[],ev_source:string[],
                       ev_document:string[],ev_sentence:string[],ev_year:long[]
    manifest.json      what was written (:class:`Neo4jImportManifest`), written last

``:LABEL`` holds ``Concept`` and the type label (``Disease``...); ``:TYPE`` the
upper-case relationship type. Array elements are separated by U+001F (the ASCII
unit separator, :data:`ARRAY_DELIMITER`), which no sentence of a real corpus
holds; a value that does is refused (:class:`~ctk.errors.DataError`) rather than
split silently. An edge without evidence has empty ``ev_*`` fields, which the
importer stores as no property, as the ``MERGE`` path does. The importer cannot
store an empty list, so a concept without synonyms has no ``synonyms`` property
in the files; :func:`ctk.kg.export.neo4j_admin.open_imported` sets those to
``[]`` after the import, as the ``MERGE`` path stores them.

Evidence is deduplicated by :func:`ctk.kg.stores.base.evidence_key` and capped at
``max_evidence_per_edge`` per edge, in the order given (the ``MERGE`` path keeps
the first entries too); an unknown year is ``-1``.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ctk.errors import ConfigError, DataError, FormatVersionError, RecordParseError
from ctk.kg.schema import CONCEPT_LABEL, label_for_type, relationship_type_for
from ctk.kg.stores.base import GraphStore, evidence_key
from ctk.records import Concept, Relation

__all__ = [
    "ARRAY_DELIMITER",
    "ARRAY_DELIMITER_ARG",
    "FORMAT_VERSION",
    "MANIFEST",
    "Neo4jImportFile",
    "Neo4jImportManifest",
    "export_neo4j_import",
    "read_manifest",
    "write_neo4j_import",
]

logger = logging.getLogger(__name__)

#: Version of the folder layout and headers (2: ``counted_documents.csv``).
FORMAT_VERSION = 2
#: Separator of array elements (and of the labels in ``:LABEL``).
ARRAY_DELIMITER = "\x1f"
#: The same, as ``neo4j-admin ... --array-delimiter`` takes it.
ARRAY_DELIMITER_ARG = "U+001F"
#: Name of the manifest file, written last.
MANIFEST = "manifest.json"

_YEAR_UNKNOWN = -1

CONCEPT_HEADER = (
    "id:ID(Concept)",
    ":LABEL",
    "name",
    "name_lower",
    "type",
    "synonyms:string[]",
    "synonyms_lower:string[]",
    "mentions:long",
)
CHUNK_HEADER = ("id:ID(BuildChunk)", ":LABEL", "applied_at")
COUNTED_HEADER = ("key:ID(CountedDocument)", ":LABEL", "source", "document_id")
META_HEADER = ("id:ID(GraphMeta)", ":LABEL", "sentences:long", "documents:long")
RELATIONSHIP_HEADER = (
    ":START_ID(Concept)",
    ":END_ID(Concept)",
    ":TYPE",
    "id",
    "count:long",
    "weight:double",
    "ev_key:string[]",
    "ev_source:string[]",
    "ev_document:string[]",
    "ev_sentence:string[]",
    "ev_year:long[]",
)


class Neo4jImportFile(BaseModel):
    """One CSV file of the folder."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["nodes", "relationships"]
    path: str = Field(description="File name, relative to the folder.")
    rows: int


class Neo4jImportManifest(BaseModel):
    """What a neo4j-import folder holds; the loader checks the database against it.

    Attributes:
        kind: Always ``ctk.neo4j-import``.
        format_version: :data:`FORMAT_VERSION`.
        created_at: When the export finished (UTC, ISO 8601).
        array_delimiter: The ``--array-delimiter`` argument the files need.
        multiline_fields: Some value holds a line break (the importer then needs
            ``--multiline-fields=true``, which is slower).
        files: The CSV files, node files first.
        concepts: Concept nodes.
        relations: Relationships.
        evidence: Evidence entries over all relationships.
        chunks: ``BuildChunk`` nodes.
        counted_documents: ``CountedDocument`` nodes (content keys of counted
            articles, so that later builds count a duplicate article once).
        sentences: Corpus sentences (``GraphMeta``).
        documents: Corpus documents (``GraphMeta``).
        max_evidence_per_edge: The evidence cap applied.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["ctk.neo4j-import"] = "ctk.neo4j-import"
    format_version: int = FORMAT_VERSION
    created_at: str
    array_delimiter: str = ARRAY_DELIMITER_ARG
    multiline_fields: bool = False
    files: list[Neo4jImportFile]
    concepts: int
    relations: int
    evidence: int
    chunks: int
    counted_documents: int = 0
    sentences: int
    documents: int
    max_evidence_per_edge: int


class _Writer:
    """One CSV file: quoting, array joining, the line-break flag, row counts."""

    def __init__(self, folder: Path, name: str, kind: str, header: Iterable[str]) -> None:
        self.name = name
        self.kind = kind
        self.rows = 0
        self.multiline = False
        self._file: TextIO = (folder / name).open("w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        self._csv.writerow(header)

    def text(self, value: str, what: str) -> str:
        if ARRAY_DELIMITER in value:
            raise DataError(
                f"{what} contains the control character U+001F, the array delimiter of the "
                "neo4j-import files",
                hint="remove control characters from the corpus, or load this graph with "
                "`ctk kg build --store bolt://...` (the MERGE path)",
            )
        if not self.multiline and ("\n" in value or "\r" in value):
            self.multiline = True
        return value

    def array(self, values: Iterable[str], what: str) -> str:
        return ARRAY_DELIMITER.join(self.text(v, what) for v in values)

    def row(self, values: Iterable[Any]) -> None:
        self._csv.writerow(values)
        self.rows += 1

    def close(self) -> Neo4jImportFile:
        self._file.close()
        return Neo4jImportFile(kind=self.kind, path=self.name, rows=self.rows)  # type: ignore[arg-type]


def _double(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def _prepare_folder(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a folder", hint="choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"{out} is not empty",
                hint="choose an empty or new folder, or pass --overwrite to replace it",
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def write_neo4j_import(
    out: str | Path,
    concepts: Iterable[Concept],
    relations: Iterable[Relation],
    *,
    chunks: Mapping[str, str | None] | Iterable[str] = (),
    counted_documents: Iterable[tuple[str, str, str]] = (),
    sentences: int = 0,
    documents: int = 0,
    max_evidence_per_edge: int = 5,
    overwrite: bool = False,
) -> Neo4jImportManifest:
    """Write concepts, relations and build bookkeeping as neo4j-import CSV files.

    Streams: neither concepts nor relations are held in memory (only the concept
    ids, to check the relations' endpoints).

    Args:
        out: Folder to write (created; must be empty unless ``overwrite``).
        concepts: The concepts; ids must be unique.
        relations: The relations; both endpoints must be among ``concepts``.
        chunks: Ids of the build chunks already applied, or ``{id: applied_at}``
            (a missing time becomes the export time).
        counted_documents: ``(content key, source, document id)`` of the
            counted articles (:meth:`GraphStore.iter_counted_documents`).
        sentences: Corpus sentences (the ``GraphMeta`` total NPMI weights use).
        documents: Corpus documents.
        max_evidence_per_edge: Evidence entries kept per edge.
        overwrite: Replace a non-empty ``out``.

    Returns:
        The manifest, also written to ``out/manifest.json``.

    Raises:
        ConfigError: ``out`` is not empty (without ``overwrite``) or not a folder.
        DataError: A duplicate concept id, a relation whose endpoint is not a
            concept, or a value holding the array delimiter. The folder then has
            no manifest, so the loader refuses it.
        SchemaViolationError: A concept or relation type outside the schema.
    """
    folder = Path(out)
    _prepare_folder(folder, overwrite)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    times = dict(chunks) if isinstance(chunks, Mapping) else dict.fromkeys(chunks)
    files: list[Neo4jImportFile] = []
    multiline = False

    nodes = _Writer(folder, "concepts.csv", "nodes", CONCEPT_HEADER)
    ids: set[str] = set()
    try:
        for c in concepts:
            if c.id in ids:
                raise DataError(f"concept id {c.id!r} appears twice", hint="ids must be unique")
            ids.add(c.id)
            synonyms = list(dict.fromkeys(c.synonyms))
            what = f"concept {c.id!r}"
            nodes.row(
                (
                    nodes.text(c.id, what),
                    f"{CONCEPT_LABEL}{ARRAY_DELIMITER}{label_for_type(c.type)}",
                    nodes.text(c.name, what),
                    nodes.text(c.name.lower(), what),
                    c.type,
                    nodes.array(synonyms, what),
                    nodes.array((s.lower() for s in synonyms), what),
                    c.mentions,
                )
            )
    finally:
        files.append(nodes.close())
    multiline |= nodes.multiline

    chunk_file = _Writer(folder, "chunks.csv", "nodes", CHUNK_HEADER)
    try:
        for chunk_id in sorted(times):
            chunk_file.row(
                (
                    chunk_file.text(chunk_id, f"chunk {chunk_id!r}"),
                    "BuildChunk",
                    times[chunk_id] or now,
                )
            )
    finally:
        files.append(chunk_file.close())
    multiline |= chunk_file.multiline

    counted_file = _Writer(folder, "counted_documents.csv", "nodes", COUNTED_HEADER)
    try:
        for key, source, document_id in counted_documents:
            what = f"counted document {document_id!r}"
            counted_file.row(
                (
                    counted_file.text(key, what),
                    "CountedDocument",
                    counted_file.text(source, what),
                    counted_file.text(document_id, what),
                )
            )
    finally:
        files.append(counted_file.close())
    multiline |= counted_file.multiline

    meta = _Writer(folder, "meta.csv", "nodes", META_HEADER)
    try:
        meta.row(("graph", "GraphMeta", sentences, documents))
    finally:
        files.append(meta.close())

    rels = _Writer(folder, "relationships.csv", "relationships", RELATIONSHIP_HEADER)
    evidence_total = 0
    try:
        for r in relations:
            what = f"relation {r.id!r}"
            for end in (r.source_id, r.target_id):
                if end not in ids:
                    raise DataError(
                        f"{what} names concept {end!r}, which is not among the concepts",
                        hint="export concepts and relations of the same graph",
                    )
            kept: dict[str, Any] = {}
            for e in r.evidence:
                if len(kept) >= max_evidence_per_edge:
                    break
                kept.setdefault(evidence_key(e.document_id, e.sentence), e)
            evidence_total += len(kept)
            ev = list(kept.values())
            rels.row(
                (
                    r.source_id,
                    r.target_id,
                    relationship_type_for(r.type),
                    rels.text(r.id, what),
                    r.count,
                    _double(r.weight),
                    rels.array(kept, what),
                    rels.array((e.source for e in ev), what),
                    rels.array((e.document_id for e in ev), what),
                    rels.array((e.sentence for e in ev), what),
                    ARRAY_DELIMITER.join(
                        str(_YEAR_UNKNOWN if e.year is None else e.year) for e in ev
                    ),
                )
            )
    finally:
        files.append(rels.close())
    multiline |= rels.multiline

    manifest = Neo4jImportManifest(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        multiline_fields=multiline,
        files=files,
        concepts=nodes.rows,
        relations=rels.rows,
        evidence=evidence_total,
        chunks=chunk_file.rows,
        counted_documents=counted_file.rows,
        sentences=sentences,
        documents=documents,
        max_evidence_per_edge=max_evidence_per_edge,
    )
    (folder / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    logger.info(
        "wrote %d concepts, %d relations (%d evidence) for neo4j-admin import to %s",
        manifest.concepts,
        manifest.relations,
        manifest.evidence,
        folder,
    )
    return manifest


def export_neo4j_import(
    store: GraphStore, out: str | Path, *, overwrite: bool = False
) -> Neo4jImportManifest:
    """Write a store as neo4j-import CSV files (see :func:`write_neo4j_import`).

    Args:
        store: The graph (embedded or Neo4j), read through its streaming API.
        out: Folder to write.
        overwrite: Replace a non-empty ``out``.

    Returns:
        The manifest.

    Example:
        >>> with open_store("kg.db", read_only=True) as store:  # doctest: +SKIP
        ...     export_neo4j_import(store, "kg-import")
    """
    stats = store.stats()
    return write_neo4j_import(
        out,
        store.iter_concepts(),
        store.iter_relations(with_evidence=True),
        chunks=store.chunk_times(),
        counted_documents=store.iter_counted_documents(),
        sentences=stats.sentences,
        documents=stats.documents,
        max_evidence_per_edge=store.max_evidence_per_edge,
        overwrite=overwrite,
    )


def read_manifest(folder: str | Path) -> Neo4jImportManifest:
    """The manifest of a folder written by :func:`write_neo4j_import`.

    Raises:
        ConfigError: No such folder, or no manifest (an export that did not finish).
        FormatVersionError: A format this ctk cannot read.
        RecordParseError: The manifest is malformed.
    """
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise ConfigError(
            f"no such folder: {folder}", hint="run `ctk kg export --format neo4j-import` first"
        )
    if not path.is_file():
        raise ConfigError(
            f"{folder} has no {MANIFEST}: not a finished neo4j-import export",
            hint="run `ctk kg export --format neo4j-import --out FOLDER` again",
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise RecordParseError(f"cannot read the manifest: {e}", source=str(path)) from e
    version = raw.get("format_version") if isinstance(raw, dict) else None
    if version != FORMAT_VERSION:
        raise FormatVersionError(
            f"{path} has format version {version!r}; this ctk reads version {FORMAT_VERSION}",
            hint="export the graph again with this ctk",
        )
    try:
        manifest = Neo4jImportManifest.model_validate(raw)
    except ValidationError as e:
        raise RecordParseError(f"malformed manifest: {e}", source=str(path)) from e
    for f in manifest.files:
        if not (Path(folder) / f.path).is_file():
            raise ConfigError(f"{folder} lacks {f.path}, listed in its manifest")
    return manifest
