"""Source specs: ``pubmed:PATH``, ``wikipedia:PATH``, ``text:PATH``.

``PATH`` is a file, a glob (``baseline/*.xml.gz``) or a directory (every file in it
whose name ends in one of the format's suffixes, optionally ``.gz``/``.bz2``),
expanded in sorted order so that a build is deterministic.
"""

from __future__ import annotations

import glob
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ctk.errors import ConfigError
from ctk.kg.sources.base import SourceFormat
from ctk.kg.sources.document import Deletion, Document
from ctk.kg.sources.pubmed import PubMedFormat
from ctk.kg.sources.text import TextFormat
from ctk.kg.sources.wikipedia import WikipediaFormat
from ctk.report import ProblemReport

__all__ = ["FORMATS", "Source", "open_source"]

#: Format name -> class.
FORMATS: dict[str, type[SourceFormat]] = {
    "pubmed": PubMedFormat,
    "wikipedia": WikipediaFormat,
    "text": TextFormat,
}
_COMPRESSIONS = ("", ".gz", ".bz2")


@dataclass(frozen=True)
class Source:
    """A format and the files it reads.

    Attributes:
        spec: The spec as given.
        format: How to read the files.
        files: The input files, sorted.
    """

    spec: str
    format: SourceFormat
    files: tuple[Path, ...]

    def iter_documents(
        self, report: ProblemReport | None = None, skipped: Counter[str] | None = None
    ) -> Iterator[Document | Deletion]:
        """Stream every document (and deletion) of every file, in this process.

        Args:
            report: Where malformed records and truncation are reported.
            skipped: Counts of records left out on purpose.
        """
        rep = report if report is not None else ProblemReport()
        for path in self.files:
            yield from self.format.iter_documents(path, rep, skipped)


def _expand(path_text: str, fmt: type[SourceFormat]) -> list[Path]:
    path = Path(path_text).expanduser()
    if any(ch in path_text for ch in "*?["):
        matches = glob.glob(str(path), recursive=True)  # noqa: PTH207 (absolute patterns)
        return sorted(Path(p) for p in matches if Path(p).is_file())
    if path.is_dir():
        endings = tuple(s + c for s in fmt.suffixes for c in _COMPRESSIONS)
        return sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(endings))
    return [path] if path.is_file() else []


def open_source(
    spec: str,
    *,
    wiki_categories: Sequence[str] | None = None,
    wiki_title_pattern: str | None = None,
) -> Source:
    """Parse a source spec and list its files.

    Args:
        spec: ``FORMAT:PATH`` with FORMAT one of ``pubmed``, ``wikipedia``, ``text``.
        wiki_categories: Category filter of Wikipedia sources (see
            :class:`~ctk.kg.sources.wikipedia.WikipediaFormat`).
        wiki_title_pattern: Title filter of Wikipedia sources.

    Returns:
        The source.

    Raises:
        ConfigError: Unknown format, or no file matches PATH.

    Example:
        >>> src = open_source("pubmed:samples/corpora/pubmed_efetch_sample.xml")
    """
    kind, sep, path_text = spec.partition(":")
    if not sep or kind not in FORMATS or not path_text:
        raise ConfigError(
            f"bad source spec {spec!r}",
            hint="write FORMAT:PATH with FORMAT one of "
            + ", ".join(FORMATS)
            + " (e.g. pubmed:baseline/*.xml.gz)",
        )
    fmt: SourceFormat
    if kind == "wikipedia":
        fmt = WikipediaFormat(categories=wiki_categories, title_pattern=wiki_title_pattern)
    else:
        fmt = FORMATS[kind]()
    files = _expand(path_text, FORMATS[kind])
    if not files:
        raise ConfigError(
            f"no input file matches {path_text!r} (source {spec!r})",
            hint="give an existing file, directory or glob",
        )
    return Source(spec=spec, format=fmt, files=tuple(files))
