"""One base for objects that hold files, connections or processes and close them.

A subclass implements :meth:`Closeable.close`; ``with obj:`` closes it on the way out,
whatever happened inside.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

__all__ = ["Closeable"]


class Closeable(ABC):
    """A context manager whose exit calls :meth:`close`."""

    @abstractmethod
    def close(self) -> None:
        """Release what this object holds (safe to call twice)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
