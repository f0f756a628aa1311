"""One base for objects that hold files, connections or processes and close them.

A subclass implements :meth:`Closeable.close`; ``with obj:`` closes it on the way out.
When the block raises, :meth:`Closeable.abort` runs instead: the same as ``close`` unless
the subclass commits something in ``close`` that a failed block must not leave behind
(as :class:`~ctk.cohort.CohortWriter` renames its finished file into place only there).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["Closeable"]


class Closeable(ABC):
    """A context manager whose exit calls :meth:`close` (:meth:`abort` after an error)."""

    @abstractmethod
    def close(self) -> None:
        """Release what this object holds (safe to call twice)."""

    def abort(self) -> None:
        """Release what this object holds after a failure; by default :meth:`close`."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
