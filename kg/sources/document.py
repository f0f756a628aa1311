"""The document model every source yields, and the deletion marker."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Deletion", "Document", "Section"]


class Section(BaseModel):
    """One labelled part of a document (a structured-abstract part, a wiki section).

    Attributes:
        label: The label as written (``BACKGROUND``, ``Signs and symptoms``), or ``""``.
        category: NLM's normalised category (``BACKGROUND``, ``METHODS``...), where given.
        text: The section's plain text.
    """

    model_config = ConfigDict(extra="forbid")

    label: str = ""
    category: str | None = None
    text: str


class Document(BaseModel):
    """One document of a corpus, as plain text.

    Attributes:
        source: ``pubmed``, ``wikipedia`` or ``text``.
        doc_id: PMID, Wikipedia page title, or the text document's id.
        title: Article or page title.
        text: The body as plain text (an abstract's sections joined).
        sections: The labelled parts of the body, in order (empty when unlabelled).
        year: Publication year, where known.
        mesh_terms: MeSH descriptor names (PubMed).
        mesh_ids: The MeSH descriptor UIs of ``mesh_terms`` (``D006333``), in the
            same order; empty when the source gives none.
        version: Article version (PubMed ``PMID/@Version``), where given.
        position: Where the record is in its file (line and record number), for reports.
    """

    model_config = ConfigDict(extra="forbid")

    source: str
    doc_id: str
    title: str = ""
    text: str = ""
    sections: list[Section] = Field(default_factory=list)
    year: int | None = None
    mesh_terms: list[str] = Field(default_factory=list)
    mesh_ids: list[str] = Field(default_factory=list)
    version: int | None = None
    position: str = ""

    def passages(self) -> list[str]:
        """The title then each section (or the whole text): what extraction reads."""
        parts = [self.title] if self.title else []
        if self.sections:
            parts.extend(s.text for s in self.sections if s.text)
        elif self.text:
            parts.append(self.text)
        return parts


class Deletion(BaseModel):
    """A source retracted a document (PubMed ``DeleteCitation``).

    Attributes:
        source: The source that retracts it.
        doc_id: The retracted document's id.
        position: Where the deletion is in its file.
    """

    model_config = ConfigDict(extra="forbid")

    source: str
    doc_id: str
    position: str = ""
