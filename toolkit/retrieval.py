"""Retrievers: what a teacher prompt is grounded on.

A retriever turns one admission (:class:`RetrievalQuery`: its note, lab anomaly
captions, the concepts found in them and, at training time, the true diagnoses)
into ranked :class:`EvidenceRecord` objects, each with its provenance: the graph
fact or evidence chunk id a rationale may cite, the source (``pubmed``,
``wikipedia``, ``text``, ``graph``), the PMID or page, and a score.

Every retriever subclasses :class:`Retriever` and is registered under the
entry-point group ``ctk.retrievers`` (ctk's own built-ins included)::

    [project.entry-points."ctk.retrievers"]
    my-retriever = "my_package.module:MyRetriever"

The public :meth:`Retriever.retrieve` is a template method: it checks ``k``,
calls the plugin's :meth:`Retriever._retrieve`, validates and stamps what comes
back, drops duplicate ids, sorts by score and truncates to ``k``. A plugin error
that is not a :class:`~ctk.errors.CtkError` is wrapped in
:class:`~ctk.errors.RetrievalError` naming the retriever.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import ConfigError, RetrievalError
from ctk.plugin import Plugin

if TYPE_CHECKING:
    from ctk.graph import GraphReader
    from ctk.records import Relation

__all__ = [
    "CHUNK_SEPARATOR",
    "EvidenceRecord",
    "RetrievalQuery",
    "Retriever",
    "chunk_id",
    "fact_id_of",
]

#: Separator between a fact id and an evidence index in a chunk id (``FACT#e0``).
CHUNK_SEPARATOR = "#e"


def chunk_id(fact_id: str, evidence_index: int) -> str:
    """The id of one evidence sentence of a graph fact (``a|causes|b#e0``).

    Chunk ids embed the fact id so that a rationale citing a sentence can be
    checked against the graph without the retriever's index.

    Args:
        fact_id: The relation's fact id (:meth:`ctk.records.Relation.make_id`).
        evidence_index: Position of the sentence in the relation's evidence list.

    Returns:
        The chunk id.
    """
    return f"{fact_id}{CHUNK_SEPARATOR}{evidence_index}"


def fact_id_of(evidence_id: str) -> tuple[str, int | None]:
    """Split an evidence id into the graph fact id and the evidence index, if any.

    Args:
        evidence_id: A fact id or a chunk id made by :func:`chunk_id`.

    Returns:
        ``(fact_id, index)``; ``index`` is None for a plain fact id.
    """
    head, sep, tail = evidence_id.rpartition(CHUNK_SEPARATOR)
    if sep and head and tail.isdigit():
        return head, int(tail)
    return evidence_id, None


class RetrievalQuery(BaseModel):
    """What a retriever is asked about one admission.

    Attributes:
        admission_id: The admission (for logs and provenance, never sent anywhere).
        note_text: The note section the teacher reads.
        anomaly_captions: Lab anomaly captions ("Heart rate is higher than normal ...").
        concept_names: Concept names already found in the note and labs, if any.
        concept_ids: Graph concept ids already found, if any.
        diagnoses: True diagnoses (phenotype names), given at training time only.
    """

    model_config = ConfigDict(extra="forbid")

    admission_id: str = ""
    note_text: str = ""
    anomaly_captions: list[str] = Field(default_factory=list)
    concept_names: list[str] = Field(default_factory=list)
    concept_ids: list[str] = Field(default_factory=list)
    diagnoses: list[str] = Field(default_factory=list)

    def text(self) -> str:
        """Note, captions and diagnoses joined: the text lexical/dense retrievers search with."""
        parts = [self.note_text, *self.anomaly_captions, *self.concept_names, *self.diagnoses]
        return "\n".join(p for p in parts if p)


class EvidenceRecord(BaseModel):
    """One piece of retrieved evidence with its provenance.

    Attributes:
        id: Graph fact id (``a|causes|b``) or evidence chunk id (``a|causes|b#e0``);
            what a rationale cites.
        text: The fact as a sentence, or the evidence sentence.
        source: ``graph``, ``pubmed``, ``wikipedia``, ``text`` or a plugin's own.
        document_id: PMID or Wikipedia page title, where known.
        score: Retrieval score (higher is better; scales differ by retriever).
        retriever: Name of the retriever that produced it (stamped by ``retrieve``).
        concept_ids: Graph concepts the evidence is about.
        fact_ids: Graph facts the evidence supports.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str
    source: str = "graph"
    document_id: str | None = None
    score: float = 0.0
    retriever: str = ""
    concept_ids: list[str] = Field(default_factory=list)
    fact_ids: list[str] = Field(default_factory=list)

    @classmethod
    def from_fact(cls, relation: Relation, text: str, *, score: float) -> EvidenceRecord:
        """A graph fact as evidence: it cites the fact, is about the fact's two concepts and
        comes from the document of the fact's first evidence sentence (``graph`` without one).

        Args:
            relation: The fact.
            text: How the record states it (e.g. :func:`ctk.graph.fact_sentence`).
            score: Retrieval score.

        Example:
            >>> from ctk.records import Relation
            >>> rel = Relation(id="fever|symptom_of|sepsis", source_id="fever",
            ...                target_id="sepsis", type="symptom_of")
            >>> EvidenceRecord.from_fact(rel, "Fever is a symptom of sepsis.", score=0.4).source
            'graph'
        """
        first = relation.evidence[0] if relation.evidence else None
        return cls(
            id=relation.id,
            text=text,
            source=first.source if first is not None else "graph",
            document_id=first.document_id if first is not None else None,
            score=score,
            concept_ids=[relation.source_id, relation.target_id],
            fact_ids=[relation.id],
        )


class Retriever(Plugin, ABC):
    """Base class of every retriever plugin.

    Subclasses set :attr:`name` and :attr:`Options` (a pydantic model of their
    settings, ``extra="forbid"``) and implement :meth:`_retrieve`. Every retriever
    is built the same way, ``cls(store=..., index_dir=..., options=...)``, so that
    the CLI can build any plugin: ``store`` is the knowledge graph (a
    :class:`~ctk.graph.GraphReader`: any store of ``ctk.kg.stores``), ``index_dir`` a
    folder the retriever may keep an index in (its own sub-folder, named after it),
    ``options`` a dict or an :attr:`Options` instance.

    Example:
        >>> class Keyword(Retriever):  # doctest: +SKIP
        ...     name = "keyword"
        ...     def _retrieve(self, query, k):
        ...         return [EvidenceRecord(id="x", text="...", score=1.0)]
    """

    kind: ClassVar[str] = "retriever"
    #: Whether :meth:`retrieve` needs a knowledge graph (``store``). Constructors must
    #: not touch the store, so a retriever can be built (and checked) without one.
    needs_store: ClassVar[bool] = False

    def __init__(
        self,
        *,
        store: GraphReader | None = None,
        index_dir: str | Path | None = None,
        options: BaseModel | dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self.options = self.parse_options(options)

    def require_store(self) -> GraphReader:
        """The graph store this retriever was given.

        Raises:
            ConfigError: It was given none.
        """
        if self.store is None:
            raise ConfigError(
                f"retriever {self.name!r} needs a knowledge graph",
                hint="pass --store STORE (an embedded store file or a neo4j:// URI)",
            )
        return self.store

    def retrieve(self, query: RetrievalQuery, k: int = 10) -> list[EvidenceRecord]:
        """Return up to ``k`` evidence records, best first, without duplicate ids.

        Args:
            query: The admission to find evidence for.
            k: How many records at most (>= 1).

        Returns:
            Evidence records stamped with this retriever's name.

        Raises:
            ConfigError: ``k`` < 1.
            RetrievalError: The plugin failed or returned something that is not evidence.
        """
        if k < 1:
            raise ConfigError(f"k must be at least 1, got {k}")
        with self.reraise_as(RetrievalError):
            found = list(self._retrieve(query, k))
        seen: set[str] = set()
        out: list[EvidenceRecord] = []
        for rec in found:
            if not isinstance(rec, EvidenceRecord):
                raise RetrievalError(
                    f"retriever {self.name!r} returned {type(rec).__name__}, not EvidenceRecord"
                )
            if rec.id in seen:
                continue
            seen.add(rec.id)
            out.append(rec if rec.retriever else rec.model_copy(update={"retriever": self.name}))
        out.sort(key=lambda r: r.score, reverse=True)
        return out[:k]

    @abstractmethod
    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        """Find evidence for ``query``; may return more than ``k`` (the base truncates)."""

    def close(self) -> None:
        """Release files or connections (default: nothing)."""
