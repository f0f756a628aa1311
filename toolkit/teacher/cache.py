"""The rationale cache: finished rationales keyed by the hash of their full input."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import ValidationError

from ctk.records import Rationale

__all__ = ["RationaleCache"]


logger = logging.getLogger(__name__)


class RationaleCache:
    """Finished rationales keyed by input hash: one small JSON file each.

    Files are written to a temporary name and renamed, so a kill never leaves a
    half file. Only ``ok`` rationales are cached.

    Args:
        folder: The cache folder (created on first write).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Rationale | None:
        """The cached rationale for ``key``, or None (an unreadable entry counts as a miss)."""
        path = self._path(key)
        try:
            return Rationale.model_validate_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (ValidationError, OSError, UnicodeDecodeError) as e:
            logger.warning("ignoring unreadable cache entry %s (%s)", path, type(e).__name__)
            return None

    def put(self, rationale: Rationale) -> None:
        """Store an ``ok`` rationale under its input hash."""
        if rationale.status != "ok" or not rationale.input_hash:
            return
        path = self._path(rationale.input_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(rationale.model_dump_json(exclude_none=True), encoding="utf-8")
        tmp.replace(path)
