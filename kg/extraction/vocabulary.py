"""The medical vocabulary shipped with ctk (``ctk/kg/data/vocabulary.tsv.gz``).

Built by ``tools/build_vocabulary.py`` from openly licensed sources (see
``kg/data/LICENSES.md``): one row per canonical concept with its id, name, type,
synonyms and cross-references.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from ctk.errors import RecordParseError
from ctk.records import CONCEPT_TYPES, Concept

__all__ = ["VocabularyEntry", "load_vocabulary"]

_COLUMNS = ("id", "name", "type", "synonyms", "xrefs", "origin")
_HEADER = "\t".join(_COLUMNS)


@dataclass(frozen=True, slots=True)
class VocabularyEntry:
    """One canonical concept of the extraction vocabulary.

    Attributes:
        id: Concept id (``ctk:congestive_heart_failure``).
        name: Canonical name.
        type: Concept type.
        synonyms: Other surface forms.
        xrefs: Cross-references (``icd9:4280``, ``HP:0001945``, ``ccs:108``).
        origin: Which source it came from.
    """

    id: str
    name: str
    type: str
    synonyms: tuple[str, ...]
    xrefs: tuple[str, ...]
    origin: str

    def to_concept(self, mentions: int = 0) -> Concept:
        """As a graph :class:`~ctk.records.Concept`."""
        return Concept(
            id=self.id,
            name=self.name,
            type=self.type,  # type: ignore[arg-type]
            synonyms=list(self.synonyms),
            mentions=mentions,
        )


def _read(text: str, source: str) -> tuple[VocabularyEntry, ...]:
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None or tuple(header[: len(_COLUMNS)]) != _COLUMNS:
        raise RecordParseError(
            f"vocabulary header must be {_HEADER!r}", source=source, position="line 1"
        )
    out: list[VocabularyEntry] = []
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) < 3 or row[2] not in CONCEPT_TYPES or not row[0] or not row[1]:
            raise RecordParseError(
                "a vocabulary row needs id, name and a known type",
                source=source,
                position=f"line {line_no}",
                hint=f"types: {', '.join(CONCEPT_TYPES)}",
            )
        row = row + [""] * (len(_COLUMNS) - len(row))
        out.append(
            VocabularyEntry(
                id=row[0],
                name=row[1],
                type=row[2],
                synonyms=tuple(s for s in row[3].split("|") if s),
                xrefs=tuple(x for x in row[4].split("|") if x),
                origin=row[5],
            )
        )
    return tuple(out)


@cache
def load_vocabulary(path: Path | None = None) -> tuple[VocabularyEntry, ...]:
    """Read a vocabulary file (TSV, optionally gzip); the bundled one by default.

    Args:
        path: A TSV with columns ``id name type synonyms xrefs origin``; None for
            the vocabulary shipped with ctk.

    Returns:
        The entries, in file order.

    Raises:
        RecordParseError: The header or a row is malformed.
    """
    if path is None:
        data = resources.files("ctk.kg.data").joinpath("vocabulary.tsv.gz").read_bytes()
        source = "ctk.kg.data/vocabulary.tsv.gz"
    else:
        data = path.read_bytes()
        source = str(path)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return _read(data.decode("utf-8"), source)
