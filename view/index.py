"""An index of a cohort and its rationales, so the viewer never loads them whole.

The cohort's ``admissions.jsonl`` is scanned once: each admission's byte offset,
id, split and labels go into a small SQLite file in a cache folder OUTSIDE the
inputs (the viewer never writes beside the cohort). The rationale JSONL is
indexed the same way (offset and status of each admission's record). A page of
the admission list is one SQL query; one admission is one ``seek`` and one parse.

The index file is named by a hash of the inputs' paths, sizes and modification
times: a changed input gets a new index, an unchanged one is reused at the next
start. A gzip-compressed cohort cannot be read at an offset, so its lines are
kept in the index file, compressed (the cache then holds a copy of the cohort:
keep the cache folder where the data may live).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from pydantic import ValidationError

from ctk.cohort import ADMISSIONS_FILE, read_manifest
from ctk.errors import ConfigError, DataError, RecordParseError
from ctk.jsonl import open_text
from ctk.records import Admission, Rationale
from ctk.retrieval import fact_id_of

__all__ = ["INDEX_VERSION", "AdmissionIndex", "AdmissionRow", "IndexSummary", "cohort_file"]

logger = logging.getLogger(__name__)

#: Bumped when the index layout changes (old index files are then rebuilt).
INDEX_VERSION = 2

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE admissions (
    pos INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    split TEXT,
    n_labels INTEGER NOT NULL,
    labels TEXT NOT NULL,
    offset INTEGER,
    length INTEGER,
    line BLOB,
    status TEXT NOT NULL DEFAULT 'none',
    r_offset INTEGER,
    r_length INTEGER
);
CREATE TABLE labels (pos INTEGER NOT NULL, phenotype TEXT NOT NULL);
CREATE TABLE citations (fact_id TEXT NOT NULL, pos INTEGER NOT NULL);
"""
_AFTER_LOAD = """
CREATE INDEX labels_by_phenotype ON labels (phenotype, pos);
CREATE INDEX citations_by_fact ON citations (fact_id, pos);
CREATE INDEX admissions_by_split ON admissions (split, pos);
CREATE INDEX admissions_by_status ON admissions (status, pos);
"""


@dataclass(frozen=True, slots=True)
class AdmissionRow:
    """One line of the admission list.

    Attributes:
        admission_id: The admission.
        split: Its split, where assigned.
        phenotypes: Its true phenotypes.
        status: Its rationale's status (``ok``, ``failed``, ``rejected``), or ``none``.
    """

    admission_id: str
    split: str | None
    phenotypes: tuple[str, ...]
    status: str


@dataclass(frozen=True, slots=True)
class IndexSummary:
    """What the index found in the inputs.

    Attributes:
        admissions: Admissions in the cohort.
        rationales: Rationale records read.
        unmatched_rationales: Rationale records whose admission is not in the cohort.
        matched_rationales: Admissions of the cohort that have a rationale.
        statuses: Rationale status -> admissions.
        splits: Split -> admissions.
    """

    admissions: int
    rationales: int
    unmatched_rationales: int
    matched_rationales: int
    statuses: dict[str, int]
    splits: dict[str, int]


def cohort_file(cohort: Path) -> Path:
    """The admissions file of a cohort folder (or the file itself).

    Raises:
        DataError: The path does not exist or holds no admissions file.
    """
    if not cohort.exists():
        raise DataError(f"cohort {cohort} does not exist", hint="check the --cohort path")
    read_manifest(cohort)  # refuses a newer cohort format
    if cohort.is_file():
        return cohort
    for name in (ADMISSIONS_FILE, ADMISSIONS_FILE + ".gz"):
        if (cohort / name).exists():
            return cohort / name
    raise DataError(
        f"{cohort} is not a cohort: no {ADMISSIONS_FILE}(.gz) in it",
        hint="make one with `ctk data import`, or pass the folder `ctk data import --out` wrote",
    )


def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _iter_lines(path: Path) -> Iterator[tuple[int, int, int, bytes]]:
    """(line number, offset, length, bytes) of each non-blank line; offsets of the raw file."""
    if path.suffix == ".gz":
        with open_text(path, "r") as fh:
            for n, text in enumerate(fh, start=1):
                if text.strip():
                    yield n, -1, -1, text.encode("utf-8")
        return
    offset = 0
    with path.open("rb") as fh:
        for n, line in enumerate(fh, start=1):
            if line.strip():
                yield n, offset, len(line), line
            offset += len(line)


def _parse(line: bytes, model: type[Admission] | type[Rationale], path: Path, n: int) -> object:
    try:
        return model.model_validate_json(line)
    except ValidationError as e:
        err = e.errors()[0]
        what = "admission" if model is Admission else "rationale"
        if err["type"] == "json_invalid":
            message = f"not JSON ({str(err['msg']).removeprefix('Invalid JSON: ')})"
        else:
            message = f"invalid {what}: {err['msg']} at {err['loc']}"
        raise RecordParseError(message, source=str(path), position=f"line {n}") from e


class AdmissionIndex:
    """The admission list of a cohort (with its rationales), on disk, read by page.

    Open it with :meth:`open` (builds the index file once, reuses it later).

    Args:
        db: The index file.
        cohort_path: The cohort's admissions file.
        rationale_path: The rationale file, if any.
    """

    def __init__(self, db: Path, cohort_path: Path, rationale_path: Path | None) -> None:
        self.db_path = db
        self.cohort_path = cohort_path
        self.rationale_path = rationale_path
        self._db = sqlite3.connect(f"file:{db}?mode=ro", uri=True, check_same_thread=False)
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        self.summary = IndexSummary(**json.loads(meta["summary"]))

    @classmethod
    def open(
        cls, cohort: str | Path, *, rationales: str | Path | None = None, cache_dir: str | Path
    ) -> AdmissionIndex:
        """The index of a cohort and a rationale file, built on first use.

        Args:
            cohort: A cohort folder, or a ``.jsonl``/``.jsonl.gz`` file of admissions.
            rationales: A rationale JSONL (``ctk rationale generate --out``).
            cache_dir: Where index files live; must not be inside an input folder.

        Raises:
            DataError: A path does not exist, or the rationale file matches no admission.
            RecordParseError: A line of the cohort or the rationale file is not valid.
            ConfigError: ``cache_dir`` lies inside the cohort folder.
        """
        cohort_dir = Path(cohort)
        cpath = cohort_file(cohort_dir)
        rpath = Path(rationales) if rationales is not None else None
        if rpath is not None and not rpath.is_file():
            raise DataError(f"rationale file {rpath} does not exist", hint="check --rationales")
        cache = Path(cache_dir)
        if cohort_dir.is_dir() and _is_inside(cache, cohort_dir):
            raise ConfigError(
                f"cache folder {cache} is inside the cohort folder {cohort_dir}",
                hint="the viewer never writes into its inputs: pass another --cache-dir",
            )
        key = f"v{INDEX_VERSION}|{_fingerprint(cpath)}|" + (
            _fingerprint(rpath) if rpath is not None else "-"
        )
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
        db = cache / f"index-{digest}.sqlite"
        if not db.exists():
            cache.mkdir(parents=True, exist_ok=True)
            _build(db, cpath, rpath)
        return cls(db, cpath, rpath)

    def close(self) -> None:
        """Close the index file."""
        self._db.close()

    def _where(
        self, phenotype: str | None, split: str | None, status: str | None
    ) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        if phenotype:
            clauses.append("pos IN (SELECT pos FROM labels WHERE phenotype = ?)")
            params.append(phenotype)
        if split:
            clauses.append("split = ?")
            params.append(split)
        if status:
            clauses.append("status = ?")
            params.append(status)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def page(
        self,
        *,
        phenotype: str | None = None,
        split: str | None = None,
        status: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[AdmissionRow], int]:
        """One page of the admission list, in cohort order, and how many match the filters."""
        where, params = self._where(phenotype, split, status)
        total = int(
            self._db.execute(f"SELECT COUNT(*) FROM admissions{where}", params).fetchone()[0]
        )
        rows = self._db.execute(
            f"SELECT id, split, labels, status FROM admissions{where} "
            "ORDER BY pos LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        return [
            AdmissionRow(
                admission_id=r[0],
                split=r[1],
                phenotypes=tuple(json.loads(r[2])),
                status=r[3],
            )
            for r in rows
        ], total

    def contains(self, admission_id: str) -> bool:
        """Whether the cohort holds this admission."""
        row = self._db.execute("SELECT 1 FROM admissions WHERE id = ?", (admission_id,))
        return row.fetchone() is not None

    def citing(self, fact_id: str, *, limit: int = 50) -> tuple[list[AdmissionRow], int]:
        """Admissions whose rationale cites a fact (any of its evidence sentences), and how many."""
        total = int(
            self._db.execute(
                "SELECT COUNT(*) FROM citations WHERE fact_id = ?", (fact_id,)
            ).fetchone()[0]
        )
        rows = self._db.execute(
            "SELECT a.id, a.split, a.labels, a.status FROM citations c "
            "JOIN admissions a ON a.pos = c.pos WHERE c.fact_id = ? ORDER BY c.pos LIMIT ?",
            (fact_id, limit),
        ).fetchall()
        return [AdmissionRow(r[0], r[1], tuple(json.loads(r[2])), r[3]) for r in rows], total

    def neighbours_of(self, admission_id: str) -> tuple[str | None, str | None]:
        """The ids of the admissions before and after this one in the cohort."""
        row = self._db.execute(
            "SELECT pos FROM admissions WHERE id = ?", (admission_id,)
        ).fetchone()
        if row is None:
            return None, None
        prev = self._db.execute("SELECT id FROM admissions WHERE pos = ?", (row[0] - 1,)).fetchone()
        nxt = self._db.execute("SELECT id FROM admissions WHERE pos = ?", (row[0] + 1,)).fetchone()
        return (prev[0] if prev else None), (nxt[0] if nxt else None)

    def admission(self, admission_id: str) -> Admission | None:
        """One admission, read from the cohort at its offset (None: not in the cohort)."""
        row = self._db.execute(
            "SELECT offset, length, line FROM admissions WHERE id = ?", (admission_id,)
        ).fetchone()
        if row is None:
            return None
        line = zlib.decompress(row[2]) if row[2] is not None else self._read(self.cohort_path, row)
        return Admission.model_validate_json(line)

    def rationale(self, admission_id: str) -> Rationale | None:
        """The admission's rationale record (None: it has none)."""
        row = self._db.execute(
            "SELECT r_offset, r_length FROM admissions WHERE id = ?", (admission_id,)
        ).fetchone()
        if row is None or row[0] is None or self.rationale_path is None:
            return None
        return Rationale.model_validate_json(self._read(self.rationale_path, row))

    @staticmethod
    def _read(path: Path, row: tuple[int, int, object]) -> bytes:
        with path.open("rb") as fh:
            fh.seek(row[0])
            return fh.read(row[1])


def _build(db: Path, cohort: Path, rationales: Path | None) -> None:
    """Write the index file (to a temporary name, renamed when complete)."""
    tmp = db.with_name(f"{db.name}.{os.getpid()}.partial")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript(_SCHEMA)
        compressed = cohort.suffix == ".gz"
        positions: dict[str, int] = {}
        splits: dict[str, int] = {}
        rows: list[tuple[object, ...]] = []
        label_rows: list[tuple[int, str]] = []
        for n, offset, length, line in _iter_lines(cohort):
            adm = _parse(line, Admission, cohort, n)
            assert isinstance(adm, Admission)
            if adm.admission_id in positions:
                raise DataError(
                    f"{cohort} line {n}: admission id {adm.admission_id!r} appears twice",
                    hint="re-import the cohort with `ctk data import`",
                )
            pos = len(positions)
            positions[adm.admission_id] = pos
            splits[adm.split or "none"] = splits.get(adm.split or "none", 0) + 1
            rows.append(
                (
                    pos,
                    adm.admission_id,
                    adm.split,
                    len(adm.phenotypes),
                    json.dumps(adm.phenotypes),
                    None if compressed else offset,
                    None if compressed else length,
                    zlib.compress(line) if compressed else None,
                )
            )
            label_rows.extend((pos, p) for p in adm.phenotypes)
            if len(rows) >= 5000:
                _flush(conn, rows, label_rows)
        _flush(conn, rows, label_rows)
        if not positions:
            raise DataError(f"cohort {cohort} holds no admissions", hint="check the import")
        read, unmatched, statuses = _index_rationales(conn, rationales, positions)
        matched = sum(statuses.values())
        if rationales is not None and read and not matched:
            raise DataError(
                f"none of the {read} rationale records of {rationales} matches an admission "
                f"of {cohort}",
                hint="the rationale file was made from another cohort: pass the cohort it was "
                "generated from",
            )
        if rationales is not None and not read:
            raise DataError(
                f"rationale file {rationales} holds no records",
                hint="generate some with `ctk rationale generate`",
            )
        conn.executescript(_AFTER_LOAD)
        summary = IndexSummary(
            admissions=len(positions),
            rationales=read,
            unmatched_rationales=unmatched,
            matched_rationales=matched,
            statuses=statuses,
            splits=splits,
        )
        conn.execute(
            "INSERT INTO meta VALUES ('summary', ?)",
            (json.dumps(asdict(summary)),),
        )
        conn.commit()
    except BaseException:
        conn.close()
        tmp.unlink(missing_ok=True)
        raise
    conn.close()
    tmp.replace(db)
    logger.info("indexed %d admissions into %s", len(positions), db)


def _flush(
    conn: sqlite3.Connection, rows: list[tuple[object, ...]], label_rows: list[tuple[int, str]]
) -> None:
    conn.executemany(
        "INSERT INTO admissions (pos, id, split, n_labels, labels, offset, length, line) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany("INSERT INTO labels VALUES (?, ?)", label_rows)
    rows.clear()
    label_rows.clear()


def _index_rationales(
    conn: sqlite3.Connection, rationales: Path | None, positions: dict[str, int]
) -> tuple[int, int, dict[str, int]]:
    """Record each admission's rationale; (records read, unmatched records, status counts)."""
    if rationales is None:
        return 0, 0, {}
    if rationales.suffix == ".gz":
        raise DataError(
            f"{rationales}: a compressed rationale file cannot be viewed in place",
            hint="decompress it (gunzip -k) and pass the .jsonl",
        )
    latest: dict[str, tuple[str, int, int, list[str]]] = {}
    read = unmatched = 0
    for n, offset, length, line in _iter_lines(rationales):
        if not line.endswith(b"\n"):
            logger.warning("%s: ignoring an incomplete last line (interrupted run)", rationales)
            break
        record = _parse(line, Rationale, rationales, n)
        assert isinstance(record, Rationale)
        read += 1
        if record.admission_id not in positions:
            unmatched += 1
            continue
        cited = sorted({fact_id_of(cf.fact_id)[0] for cf in record.cited_facts})
        latest[record.admission_id] = (record.status, offset, length, cited)  # the last one wins
    statuses: dict[str, int] = {}
    for status, _, _, _ in latest.values():
        statuses[status] = statuses.get(status, 0) + 1
    conn.executemany(
        "UPDATE admissions SET status = ?, r_offset = ?, r_length = ? WHERE id = ?",
        [(s, o, ln, aid) for aid, (s, o, ln, _) in latest.items()],
    )
    conn.executemany(
        "INSERT INTO citations VALUES (?, ?)",
        [(f, positions[aid]) for aid, (_, _, _, cited) in latest.items() for f in cited],
    )
    return read, unmatched, statuses
