"""What every source format implements: split a file into records, parse one record."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from ctk.kg.sources.document import Deletion, Document
from ctk.kg.sources.xml_records import RawRecord
from ctk.report import ProblemReport

__all__ = ["SourceFormat"]


class SourceFormat(ABC):
    """A corpus format: how to cut a file into records and how to read one.

    Splitting only finds record boundaries, so it is cheap; in a build, splitting and
    parsing both run in the worker that reads the file (see :mod:`ctk.kg.engines`).
    Instances must be picklable (plain attributes only).
    """

    #: The prefix of a source spec (``pubmed`` in ``pubmed:PATH``).
    name: ClassVar[str]
    #: File name endings picked from a directory (compression suffixes are added).
    suffixes: ClassVar[tuple[str, ...]]

    @abstractmethod
    def records(self, path: Path, report: ProblemReport) -> Iterator[RawRecord]:
        """Yield the raw records of one file; truncation goes to ``report``."""

    @abstractmethod
    def parse(
        self, record: RawRecord, report: ProblemReport, skipped: Counter[str]
    ) -> list[Document | Deletion]:
        """Read one record.

        Args:
            record: The raw record.
            report: Where a malformed record is reported (with its file and position).
            skipped: Counts of records left out on purpose (redirects, filtered pages).

        Returns:
            The documents or deletions the record holds (empty when skipped).
        """

    def iter_documents(
        self, path: Path, report: ProblemReport, skipped: Counter[str] | None = None
    ) -> Iterator[Document | Deletion]:
        """Stream one file's documents in this process.

        Args:
            path: The file.
            report: Where malformed records and truncation are reported.
            skipped: Counts of records left out on purpose, if wanted.
        """
        counts: Counter[str] = skipped if skipped is not None else Counter()
        for record in self.records(path, report):
            yield from self.parse(record, report, counts)
