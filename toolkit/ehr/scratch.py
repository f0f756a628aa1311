"""A scratch SQLite file for loaders whose working set is larger than memory.

The raw-MIMIC loaders stream tables of several GB once and look rows up later by
admission; :class:`ScratchDatabase` is the temporary file they keep those rows in.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from ctk.closeable import Closeable

__all__ = ["ScratchDatabase"]


class ScratchDatabase(Closeable):
    """A SQLite file with one table in its own temporary folder, deleted on :meth:`close`.

    Journal and fsync are off: the file lives only as long as the loader, so a crash
    loses nothing worth keeping.

    Args:
        name: Short name of the contents (``notes``): the folder's prefix and file name.
        schema: The ``CREATE TABLE`` statement of its table.
        folder: Where the temporary folder goes (default: the system temp folder).
    """

    def __init__(self, name: str, schema: str, folder: Path | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix=f"ctk-{name}-", dir=folder)
        self._db = sqlite3.connect(Path(self._dir.name) / f"{name}.sqlite")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(schema)

    def close(self) -> None:
        """Delete the temporary file."""
        self._db.close()
        self._dir.cleanup()
