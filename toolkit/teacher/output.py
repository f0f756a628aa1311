"""The rationale JSONL: read it, append to it durably, resume from it."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from ctk.closeable import Closeable
from ctk.errors import ConfigError, DataError
from ctk.jsonl import read_jsonl
from ctk.records import PluginStamp, Rationale

__all__ = ["RationaleWriter", "read_rationales"]


logger = logging.getLogger(__name__)


def read_rationales(path: str | Path) -> Iterator[Rationale]:
    """Yield the rationales of a JSONL file (an incomplete last line is ignored).

    Raises:
        DataError: The file is missing or is a folder.
        RecordParseError: A complete line is not a valid rationale (names file and line).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"rationale file {p} does not exist", hint="check the path")
    if p.is_dir():
        raise DataError(
            f"{p} is a folder, not a rationale file",
            hint="give the JSONL that `ctk rationale generate --out` wrote",
        )
    yield from read_jsonl(p, Rationale, what="rationale", torn_tail="skip")


class RationaleWriter(Closeable):
    """Append-only JSONL of rationales, durable record by record.

    Opening an existing file reads the admission ids already written (resume),
    drops an incomplete last line left by a killed run, and, with
    ``retry_failed`` (``retry_rejected``), removes the ``failed`` (``rejected``)
    records so they are generated again.

    Given the ``retriever`` and ``llm`` stamps of the run, it also compares them
    with the provenance of the records already in the file: records made with
    another plugin or other options are refused (:class:`~ctk.errors.ConfigError`,
    before the file is touched) unless ``allow_mixed``; a different plugin version
    only warns. The warnings are kept in :attr:`warnings`, what ``allow_mixed`` let through in
    :attr:`notes`; both are logged at INFO (callers report them).

    Args:
        path: The output file.
        retry_failed: Forget failed records (rewrites the file atomically first).
        retry_rejected: Forget records the quality gate rejected (the same way).
        retriever: The stamp of this run's retriever.
        llm: The stamp of this run's LLM backend.
        allow_mixed: Append even when earlier records were made differently.

    Attributes:
        done: Admission ids already written (skipped on resume).
        failed_kept: Failed records already in the file and kept (not retried).
        rejected_kept: Rejected records already in the file and kept (not retried).
        warnings: Provenance differences found in the file.
        notes: Differences appended anyway because ``allow_mixed`` was given.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        retry_failed: bool = False,
        retry_rejected: bool = False,
        retriever: PluginStamp | None = None,
        llm: PluginStamp | None = None,
        allow_mixed: bool = False,
    ) -> None:
        self.path = Path(path)
        self.done: set[str] = set()
        self.dropped_failed = 0
        self.failed_kept = 0
        self.rejected_kept = 0
        self.repaired_tail = False
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self._stamps = {"retriever": retriever, "llm": llm}
        self._allow_mixed = allow_mixed
        retry = {"failed"} if retry_failed else set()
        if retry_rejected:
            retry.add("rejected")
        self._prepare(retry)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("ab")
        self._dirty = threading.Event()
        self._closing = False
        self._sync_error: OSError | None = None
        self._syncer = threading.Thread(target=self._sync_loop, name="rationale-fsync", daemon=True)
        self._syncer.start()

    def _sync_loop(self) -> None:
        # group commit: one fsync covers every line written since the last one
        while True:
            self._dirty.wait()
            self._dirty.clear()
            if self._fh.closed:
                return
            try:
                os.fsync(self._fh.fileno())
            except ValueError:  # closed between the check and the call: close() fsyncs
                return
            except OSError as e:  # the disk refused: every later write must say so
                logger.error("%s: fsync failed (%s)", self.path, e)
                self._sync_error = e
                return
            if self._closing:
                return

    def _prepare(self, retry: set[str]) -> None:
        # streamed: a file of millions of records is never read into memory at once
        if not self.path.exists():
            return
        good_end = 0  # offset just after the last complete line
        failed_lines: list[int] = []
        seen_stamps: dict[str, dict[str, tuple[int, int]]] = {"retriever": {}, "llm": {}}
        with self.path.open("rb") as fh:
            for line_no, line in enumerate(fh, start=1):
                if not line.endswith(b"\n"):
                    break  # a torn last line: dropped below
                good_end += len(line)
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                    admission_id = str(raw["admission_id"])
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise DataError(
                        f"{self.path} line {line_no}: not a rationale record ({type(e).__name__})",
                        hint="pass a new --out file, or fix or remove that line",
                    ) from e
                if raw.get("status") in retry:
                    failed_lines.append(line_no)
                    continue
                self.done.add(admission_id)
                self.failed_kept += raw.get("status") == "failed"
                self.rejected_kept += raw.get("status") == "rejected"
                for role, seen in seen_stamps.items():
                    key = json.dumps(raw.get(role), sort_keys=True)
                    count, first = seen.get(key, (0, line_no))
                    seen[key] = (count + 1, first)
        self._check_provenance(seen_stamps)
        if good_end < self.path.stat().st_size:
            logger.warning("%s: dropping an incomplete last line (interrupted run)", self.path)
            with self.path.open("r+b") as fh:
                fh.truncate(good_end)
                fh.flush()
                os.fsync(fh.fileno())
            self.repaired_tail = True
        if failed_lines:
            self.dropped_failed = len(failed_lines)
            drop = set(failed_lines)
            tmp = self.path.with_suffix(self.path.suffix + ".tmp")
            with self.path.open("rb") as src, tmp.open("wb") as dst:
                dst.writelines(line for n, line in enumerate(src, start=1) if n not in drop)
                dst.flush()
                os.fsync(dst.fileno())
            tmp.replace(self.path)

    def _check_provenance(self, seen_stamps: dict[str, dict[str, tuple[int, int]]]) -> None:
        refusals: list[str] = []
        for role, seen in seen_stamps.items():
            mine = self._stamps[role]
            if mine is None:
                continue
            for key, (count, first) in sorted(seen.items(), key=lambda kv: kv[1][1]):
                raw = json.loads(key)
                if raw is None:
                    self.warnings.append(
                        f"{count} record(s) from line {first} of {self.path} do not say which "
                        f"{role} made them (written by an older ctk)"
                    )
                    continue
                theirs = PluginStamp.model_validate(raw)
                if not theirs.same_setup(mine):
                    refusals.append(
                        f"{count} record(s) from line {first} were made with {role} "
                        f"{_describe(theirs)}; this run uses {_describe(mine)}"
                    )
                elif theirs.version != mine.version:
                    self.warnings.append(
                        f"{count} record(s) from line {first} of {self.path} were made with "
                        f"{role} {mine.name!r} version {theirs.version}; this run uses "
                        f"version {mine.version}"
                    )
        if refusals and not self._allow_mixed:
            raise ConfigError(
                f"{self.path} holds records made differently: " + "; ".join(refusals),
                hint="resume with the same plugins and options, write to a new --out file, "
                "or pass --allow-mixed to append anyway (each record keeps its own provenance)",
            )
        # asked for with --allow-mixed: worth saying, not a warning
        self.notes.extend(f"appended as allowed: {r}" for r in refusals)
        # the caller reports these (GenerationSummary.warnings/.notes); logged at INFO
        # so that a CLI run does not print them twice
        for line in (*self.warnings, *self.notes):
            logger.info("%s", line)

    def write(self, rationale: Rationale) -> None:
        """Append one record as one ``write`` and flush it to the OS.

        Once this returns the line survives a kill of the process; a background
        thread fsyncs soon after (group commit), and :meth:`close` fsyncs, for
        durability against power loss without an fsync per record on the event loop.
        """
        self._raise_sync_error()
        line = rationale.model_dump_json(exclude_none=True).encode("utf-8") + b"\n"
        self._fh.write(line)
        self._fh.flush()
        self.done.add(rationale.admission_id)
        self._dirty.set()

    def _raise_sync_error(self) -> None:
        if self._sync_error is not None:
            raise DataError(
                f"{self.path}: fsync failed ({self._sync_error}); records written since the "
                "last good sync may not survive a power loss",
                hint="check the disk (full? read-only? network file system?), then re-run: "
                "the run resumes from the records on disk",
            ) from self._sync_error

    def close(self) -> None:
        """Fsync and close the file.

        Raises:
            DataError: An fsync failed (in the background or now).
        """
        if self._fh.closed:
            return
        self._closing = True
        self._dirty.set()
        self._syncer.join(timeout=30)
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as e:
            self._sync_error = self._sync_error or e
        finally:
            self._fh.close()
        self._raise_sync_error()


def _describe(stamp: PluginStamp) -> str:
    options = json.dumps(stamp.options, sort_keys=True)
    return f"{stamp.name!r} (options {options})"
