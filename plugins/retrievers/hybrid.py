"""The ``hybrid`` retriever: reciprocal rank fusion of other retrievers.

Each member retriever (any registered name, ``graph`` and ``bm25`` by default)
returns its top ``per_retriever_k``; a record's fused score is the sum over
members of ``1 / (rrf_k + rank)`` (Cormack et al. 2009). Records are fused by
id, so a graph fact and a sentence supporting it stay separate items.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import ConfigError
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever

__all__ = ["HybridRetriever", "HybridRetrieverOptions", "reciprocal_rank_fusion"]


class HybridRetrieverOptions(BaseModel):
    """Settings of the ``hybrid`` retriever.

    Attributes:
        retrievers: Names of the member retrievers (registered plugins).
        rrf_k: The RRF constant (60 in the original paper).
        per_retriever_k: Records asked of each member (default 2 x k).
        member_options: Options per member name.
    """

    model_config = ConfigDict(extra="forbid")

    retrievers: list[str] = Field(default_factory=lambda: ["graph", "bm25"], min_length=1)
    rrf_k: float = Field(default=60.0, gt=0)
    per_retriever_k: int | None = Field(default=None, ge=1)
    member_options: dict[str, dict[str, Any]] = Field(default_factory=dict)


def reciprocal_rank_fusion(
    rankings: list[list[EvidenceRecord]], *, rrf_k: float = 60.0
) -> list[EvidenceRecord]:
    """Fuse ranked lists by reciprocal rank; best first, ties by id.

    Args:
        rankings: One ranked list per retriever.
        rrf_k: The RRF constant.

    Returns:
        The fused records, each with its fused score; the first member's copy of a
        record is kept, with the names of all members that found it.
    """
    scores: dict[str, float] = {}
    first: dict[str, EvidenceRecord] = {}
    members: dict[str, list[str]] = {}
    for ranking in rankings:
        for rank, rec in enumerate(ranking, start=1):
            scores[rec.id] = scores.get(rec.id, 0.0) + 1.0 / (rrf_k + rank)
            first.setdefault(rec.id, rec)
            names = members.setdefault(rec.id, [])
            if rec.retriever and rec.retriever not in names:
                names.append(rec.retriever)
    ordered = sorted(scores, key=lambda i: (-scores[i], i))
    return [
        first[i].model_copy(
            update={"score": scores[i], "retriever": "hybrid:" + "+".join(members[i])}
        )
        for i in ordered
    ]


class HybridRetriever(Retriever):
    """Reciprocal rank fusion of several retrievers.

    Args:
        members: Ready retriever instances; when None they are built from the
            registry by name with the same ``store`` and ``index_dir``.
        store: The knowledge graph (passed to the members).
        index_dir: Index folder (passed to the members).
        options: :class:`HybridRetrieverOptions`.
    """

    name: ClassVar[str] = "hybrid"
    Options: ClassVar[type[BaseModel]] = HybridRetrieverOptions
    options: HybridRetrieverOptions

    def __init__(self, *, members: list[Retriever] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if members is None:
            from ctk.registry import RETRIEVERS

            members = []
            for member in self.options.retrievers:
                if member == self.name:
                    raise ConfigError("the hybrid retriever cannot contain itself")
                cls = RETRIEVERS.get(member)
                members.append(
                    cls(
                        store=self.store,
                        index_dir=self.index_dir,
                        options=self.options.member_options.get(member),
                    )
                )
        self.members = members

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        per = self.options.per_retriever_k or 2 * k
        rankings = [m.retrieve(query, per) for m in self.members]
        return reciprocal_rank_fusion(rankings, rrf_k=self.options.rrf_k)[:k]

    def close(self) -> None:
        """Close the members."""
        for m in self.members:
            m.close()
