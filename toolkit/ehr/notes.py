"""Discharge summaries: section splitting, and a disk-backed store of notes by key.

MIMIC discharge summaries are free text with headings at the start of a line
("Brief Hospital Course:", "Discharge Medications:"). :func:`split_sections` cuts a
note at the *known* top-level headings only: the Brief Hospital Course is itself often
organised by problem ("# Pneumonia: ...", "CHF: ..."), and a generic "Word:" rule would
cut it short.
"""

from __future__ import annotations

import re
from pathlib import Path

from ctk.ehr.scratch import ScratchDatabase
from ctk.records import ClinicalNote

__all__ = ["SECTION_HEADINGS", "NoteStore", "make_note", "split_sections"]

#: Top-level headings of MIMIC-III/IV discharge summaries (lower case).
SECTION_HEADINGS: tuple[str, ...] = (
    "admission date",
    "discharge date",
    "date of birth",
    "service",
    "allergies",
    "attending",
    "chief complaint",
    "major surgical or invasive procedure",
    "history of present illness",
    "history of the present illness",
    "past medical history",
    "social history",
    "family history",
    "physical exam",
    "physical examination",
    "admission exam",
    "discharge exam",
    "pertinent results",
    "brief hospital course",
    "hospital course",
    "summary of hospital course",
    "medications on admission",
    "discharge medications",
    "discharge disposition",
    "discharge diagnosis",
    "discharge diagnoses",
    "discharge condition",
    "discharge instructions",
    "followup instructions",
    "follow-up instructions",
    "facility",
    "condition at discharge",
    "impression",
)

_HEADING = re.compile(
    r"^[ \t]*(" + "|".join(re.escape(h) for h in SECTION_HEADINGS) + r")[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_ALIASES = {
    "hospital course": "brief hospital course",
    "summary of hospital course": "brief hospital course",
    "history of the present illness": "history of present illness",
    "physical examination": "physical exam",
    "discharge diagnoses": "discharge diagnosis",
    "follow-up instructions": "followup instructions",
}


def split_sections(text: str) -> dict[str, str]:
    """Split a discharge summary into its sections.

    Args:
        text: The note.

    Returns:
        Lower-case section title -> section body (stripped). Common variants are
        folded ("Hospital Course" -> ``"brief hospital course"``); when a heading
        repeats, the bodies are joined with a blank line.

    Example:
        >>> split_sections("Service: MED\\nBrief Hospital Course:\\nDiuresed.\\n"
        ...                "Discharge Medications:\\nLasix")["brief hospital course"]
        'Diuresed.'
    """
    matches = list(_HEADING.finditer(text))
    sections: dict[str, str] = {}
    for i, m in enumerate(matches):
        title = " ".join(m.group(1).lower().split())
        title = _ALIASES.get(title, title)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[m.end() : end].strip()
        if title in sections and body:
            sections[title] = (sections[title] + "\n\n" + body).strip()
        else:
            sections.setdefault(title, body)
    return sections


def make_note(text: str, category: str | None = "Discharge summary") -> ClinicalNote:
    """A :class:`~ctk.records.ClinicalNote` with its sections split."""
    return ClinicalNote(text=text, sections=split_sections(text), category=category)


class NoteStore(ScratchDatabase):
    """Notes by key (stay name or hadm_id) in a temporary SQLite file.

    A loader streams a notes table once, keeping only the notes of interest here,
    then looks them up admission by admission: memory stays flat however large the
    notes table is (NOTEEVENTS is about 4 GB). A key may be written several times:
    the note with the highest ``rank`` wins (ties: the last written).

    Example:
        >>> with NoteStore() as store:
        ...     store.put("100", "Brief Hospital Course: ok", rank=1)
        ...     store.get("100")
        'Brief Hospital Course: ok'
    """

    def __init__(self, folder: Path | None = None) -> None:
        super().__init__(
            "notes",
            "CREATE TABLE notes (key TEXT PRIMARY KEY, rank REAL NOT NULL, text TEXT NOT NULL)",
            folder,
        )
        self._pending = 0

    def put(self, key: str, text: str, *, rank: float = 0.0) -> None:
        """Store a note unless a note with a higher rank is already stored for the key."""
        self._db.execute(
            "INSERT INTO notes (key, rank, text) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET rank = excluded.rank, text = excluded.text "
            "WHERE excluded.rank >= notes.rank",
            (key, rank, text),
        )
        self._pending += 1
        if self._pending >= 1000:
            self._db.commit()
            self._pending = 0

    def get(self, key: str) -> str | None:
        """The note stored for a key, or None."""
        row = self._db.execute("SELECT text FROM notes WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM notes").fetchone()[0])
