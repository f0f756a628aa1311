"""Bulk load of a fresh Neo4j database with Neo4j's own offline importer.

Two steps, because the importer writes the store files of a database that no
server holds open:

1. :func:`import_full` runs ``neo4j-admin database import full`` on a folder
   written by :func:`ctk.kg.export.neo4j_import.write_neo4j_import` (the server
   stopped, or the database not yet created);
2. once the server runs, :func:`open_imported` connects, creates ctk's
   constraints and indexes, stores the empty synonym lists the importer cannot
   write, waits until every index is online and checks the database's counts
   against the folder's manifest.

Later updates (PubMed update files, deletions) go through the batched ``MERGE``
path of :class:`~ctk.kg.stores.neo4j.Neo4jStore` as before: the ``BuildChunk``
nodes of the export tell a resumed build which chunks are in.

``neo4j-admin`` is found, in order: the ``admin`` argument (a path, or a
command line such as ``java -cp "jars/*" org.neo4j.cli.AdminTool``; the CLI takes
it from ``--neo4j-admin`` or ``CTK_NEO4J_ADMIN``), ``NEO4J_HOME/bin/neo4j-admin``,
then ``neo4j-admin`` on the ``PATH`` of ``environment``. Like the rest of the
library this module reads no environment variable: the caller passes the
importer's environment (the CLI passes its own). The tests and benchmarks use
the Neo4j 5.26 jars that Maven resolves for the test server
(``tools/neo4j-test-server``), which hold the importer
(``org.neo4j:neo4j-import-tool``) and ``org.neo4j.cli.AdminTool``.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from ctk import errors
from ctk.graph import GraphStats
from ctk.kg.export.neo4j_import import Neo4jImportManifest, read_manifest
from ctk.retry import RetryPolicy

__all__ = ["ImportResult", "import_full", "open_imported", "resolve_admin"]

logger = logging.getLogger(__name__)

#: Log of the importer's output, written into the import folder.
IMPORT_LOG = "neo4j-admin-import.log"
_IMPORTED = re.compile(r"^\s*(\d+)\s+(nodes|relationships)\s*$", re.MULTILINE)


class ImportResult(BaseModel):
    """What one ``neo4j-admin database import full`` run did.

    Attributes:
        database: The database written.
        nodes: Nodes the importer reports.
        relationships: Relationships the importer reports.
        elapsed_s: Wall time of the importer.
        log: The importer's output.
    """

    model_config = ConfigDict(extra="forbid")

    database: str
    nodes: int
    relationships: int
    elapsed_s: float
    log: str


def resolve_admin(
    admin: str | Sequence[str] | None,
    neo4j_home: str | Path,
    *,
    environment: Mapping[str, str] | None = None,
) -> list[str]:
    """The command line that runs ``neo4j-admin``.

    Args:
        admin: A path or command line (parsed like a shell would, without
            expansion), or None to look in the Neo4j home, then on ``PATH``.
        neo4j_home: The Neo4j home folder.
        environment: Whose ``PATH`` to search (None: the system's default path).

    Raises:
        ConfigError: No ``neo4j-admin`` was found.
    """
    if isinstance(admin, str):
        admin = shlex.split(admin)
    if admin:
        return list(admin)
    in_home = Path(neo4j_home) / "bin" / "neo4j-admin"
    if in_home.is_file():
        return [str(in_home)]
    on_path = shutil.which("neo4j-admin", path=(environment or {}).get("PATH", os.defpath))
    if on_path:
        return [on_path]
    raise errors.ConfigError(
        f"neo4j-admin not found (not in {in_home.parent}, not on PATH)",
        hint="pass --neo4j-admin PATH (or a command such as "
        "'java -cp \"deps/*\" org.neo4j.cli.AdminTool'), or set CTK_NEO4J_ADMIN",
    )


def _arguments(
    folder: Path,
    manifest: Neo4jImportManifest,
    *,
    database: str,
    overwrite: bool,
    threads: int | None,
    max_off_heap_memory: str | None,
) -> list[str]:
    args = ["database", "import", "full"]
    for f in manifest.files:
        args.append(f"--{f.kind}={(folder / f.path).resolve()}")
    args += [
        f"--array-delimiter={manifest.array_delimiter}",
        f"--overwrite-destination={'true' if overwrite else 'false'}",
        f"--report-file={(folder / 'import.report').resolve()}",
    ]
    if manifest.multiline_fields:
        args.append("--multiline-fields=true")
    if threads is not None:
        args.append(f"--threads={threads}")
    if max_off_heap_memory is not None:
        args.append(f"--max-off-heap-memory={max_off_heap_memory}")
    args.append(database)
    return args


def _failure_hint(output: str) -> str:
    low = output.lower()
    if "already exists" in low or "--overwrite-destination" in low:
        return "the database already has data: pass --overwrite to replace it (stop the server)"
    if "in use" in low or "lock" in low:
        return "stop the Neo4j server first (the importer needs the database closed)"
    return f"see {IMPORT_LOG} in the import folder and the importer's report"


def import_full(
    folder: str | Path,
    *,
    neo4j_home: str | Path,
    database: str = "neo4j",
    admin: str | Sequence[str] | None = None,
    overwrite: bool = False,
    threads: int | None = None,
    max_off_heap_memory: str | None = None,
    timeout_s: float | None = None,
    environment: Mapping[str, str] | None = None,
) -> ImportResult:
    """Run ``neo4j-admin database import full`` on a neo4j-import folder.

    The server must not hold the database open (stop it, or import into a
    database that does not exist yet and ``CREATE DATABASE`` it afterwards on
    Enterprise Edition).

    Args:
        folder: A folder written by ``ctk kg export --format neo4j-import``.
        neo4j_home: The Neo4j home (``NEO4J_HOME``; its ``conf/`` is used if present).
        database: Database to create.
        admin: How to run ``neo4j-admin`` (see :func:`resolve_admin`).
        overwrite: Delete the database's existing files first.
        threads: Importer threads (default: the processors the JVM sees).
        max_off_heap_memory: Importer memory, e.g. ``2G`` or ``50%``.
        timeout_s: Give up (and kill the importer) after this long.
        environment: The importer's environment (``PATH``, ``JAVA_HOME``,
            ``HEAP_SIZE``...); ctk adds ``NEO4J_HOME`` and, where the home has a
            ``conf/``, ``NEO4J_CONF``. None: no other variable (the system's
            default ``PATH``). The CLI passes its own environment.

    Returns:
        What the importer did.

    Raises:
        ConfigError: The folder is not a finished export, or neo4j-admin is missing.
        StoreWriteError: The importer failed, or imported other counts than the
            manifest lists (its output is in ``folder/neo4j-admin-import.log``).
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    home = Path(neo4j_home).resolve()
    command = resolve_admin(admin, home, environment=environment) + _arguments(
        folder,
        manifest,
        database=database,
        overwrite=overwrite,
        threads=threads,
        max_off_heap_memory=max_off_heap_memory,
    )
    env = {**(environment or {}), "NEO4J_HOME": str(home)}
    if (home / "conf").is_dir():
        env.setdefault("NEO4J_CONF", str(home / "conf"))
    home.mkdir(parents=True, exist_ok=True)
    logger.info("running %s", " ".join(shlex.quote(part) for part in command))
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError as e:
        raise errors.ConfigError(
            f"cannot run {command[0]!r}: {e.strerror}",
            hint="pass --neo4j-admin with the path of neo4j-admin",
        ) from e
    except subprocess.TimeoutExpired as e:
        raise errors.StoreWriteError(
            f"neo4j-admin import did not finish within {timeout_s:g}s",
            hint="give it more time, more --max-off-heap-memory or more --threads",
        ) from e
    elapsed = time.perf_counter() - started
    output = (proc.stdout or "") + (proc.stderr or "")
    (folder / IMPORT_LOG).write_text(output, encoding="utf-8")
    if proc.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise errors.StoreWriteError(
            f"neo4j-admin database import failed (exit {proc.returncode}):\n{tail}",
            hint=_failure_hint(output),
        )
    counts = {kind: int(n) for n, kind in _IMPORTED.findall(output)}
    result = ImportResult(
        database=database,
        nodes=counts.get("nodes", -1),
        relationships=counts.get("relationships", -1),
        elapsed_s=elapsed,
        log=output,
    )
    want_nodes = manifest.concepts + manifest.chunks + manifest.counted_documents + 1
    if (result.nodes, result.relationships) != (want_nodes, manifest.relations):
        raise errors.StoreWriteError(
            f"neo4j-admin imported {result.nodes} nodes and {result.relationships} relationships; "
            f"the export holds {want_nodes} nodes and {manifest.relations} relationships",
            hint=f"see {folder / IMPORT_LOG} and {folder / 'import.report'}",
        )
    logger.info(
        "imported %d nodes and %d relationships into %s in %.1f s",
        result.nodes,
        result.relationships,
        database,
        elapsed,
    )
    return result


def open_imported(
    uri: str,
    manifest: Neo4jImportManifest | str | Path,
    *,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    wait_s: float = 120.0,
    **store_options: Any,
) -> GraphStats:
    """Finish a bulk load on the running server and check it against the manifest.

    Waits up to ``wait_s`` for the server, then creates ctk's constraints and
    indexes, stores the empty synonym lists, waits for the indexes and compares
    the store's counts with the manifest.

    Args:
        uri: Bolt or neo4j URI of the server now serving the imported database.
        manifest: The export's manifest, or its folder.
        user: Neo4j user.
        password: Neo4j password (never logged).
        database: Database name (None: the server's default).
        wait_s: How long to wait for the server to answer.
        **store_options: Other :class:`~ctk.kg.stores.neo4j.Neo4jStore` options.

    Returns:
        The database's counts.

    Raises:
        StoreUnavailableError: The server did not answer within ``wait_s``.
        StoreWriteError: The counts differ from the manifest.
    """
    from ctk.kg.stores.neo4j import Neo4jStore

    if not isinstance(manifest, Neo4jImportManifest):
        manifest = read_manifest(manifest)
    retry = store_options.pop("retry", None) or RetryPolicy(max_retries=5)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            store = Neo4jStore(
                uri,
                user=user,
                password=password,
                database=database,
                create_schema=False,
                retry=RetryPolicy(max_retries=0),  # this loop waits for the server
                **store_options,
            )
            break
        except errors.StoreUnavailableError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1.0)
    with store:
        store.retry = retry
        store.prepare_imported(timeout_s=max(wait_s, 300.0))
        stats = store.stats()
    want = {
        "concepts": manifest.concepts,
        "relations": manifest.relations,
        "evidence": manifest.evidence,
        "chunks": manifest.chunks,
        "sentences": manifest.sentences,
        "documents": manifest.documents,
    }
    got = {key: getattr(stats, key) for key in want}
    if got != want:
        diff = ", ".join(f"{k} {got[k]} (export: {want[k]})" for k in want if got[k] != want[k])
        raise errors.StoreWriteError(
            f"the database at {uri} differs from the export: {diff}",
            hint="was the import into the database this server serves? re-run the load with "
            "--overwrite on the stopped server",
        )
    return stats
