"""``example-keyword``: rank snippets by the words they share with the admission.

Snippets come from a JSONL file of your own (``{"id", "text", "source",
"document_id"}`` per line: guideline paragraphs, a formulary, ...) or, without
one, from the evidence sentences of the knowledge graph ctk passes in. The score
is the number of distinct shared words (4+ letters) over the square root of the
snippet's length.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from ctk.errors import ConfigError
from ctk.plugin import PluginOptions
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever, chunk_id

__all__ = ["KeywordRetriever", "KeywordRetrieverOptions"]

_WORD = re.compile(r"[a-z]{4,}")


class KeywordRetrieverOptions(PluginOptions):
    """Settings of ``example-keyword`` (``PluginOptions`` refuses unknown keys).

    Attributes:
        snippets: A JSONL file of snippets; the graph's evidence sentences when None.
        min_shared: Fewest shared words for a snippet to count.
    """

    snippets: str | None = None
    min_shared: int = Field(default=1, ge=1)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


class KeywordRetriever(Retriever):
    """Keyword-overlap retrieval: a minimal, complete ctk retriever plugin."""

    name: ClassVar[str] = "example-keyword"
    Options: ClassVar[type[BaseModel]] = KeywordRetrieverOptions
    options: KeywordRetrieverOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._snippets: list[EvidenceRecord] | None = None

    def _load(self) -> list[EvidenceRecord]:
        if self._snippets is not None:
            return self._snippets
        snippets: list[EvidenceRecord] = []
        if self.options.snippets:
            path = Path(self.options.snippets)
            if not path.exists():
                raise ConfigError(f"snippet file {path} does not exist")
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    raw = json.loads(line)
                    snippets.append(
                        EvidenceRecord(
                            id=str(raw["id"]),
                            text=str(raw["text"]),
                            source=str(raw.get("source", "snippet")),
                            document_id=raw.get("document_id"),
                        )
                    )
                except (ValueError, KeyError) as e:
                    raise ConfigError(f"{path} line {n}: not a snippet ({e})") from e
        else:  # the graph, read through ctk.graph.GraphReader (any store of ctk.kg.stores)
            for rel in self.require_store().iter_relations(with_evidence=True):
                for i, ev in enumerate(rel.evidence):
                    snippets.append(
                        EvidenceRecord(
                            id=chunk_id(rel.id, i),
                            text=ev.sentence,
                            source=ev.source,
                            document_id=ev.document_id,
                            concept_ids=[rel.source_id, rel.target_id],
                            fact_ids=[rel.id],
                        )
                    )
        self._snippets = snippets
        return snippets

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        wanted = _words(query.text())
        scored: list[EvidenceRecord] = []
        for snippet in self._load():
            words = _words(snippet.text)
            shared = len(wanted & words)
            if shared >= self.options.min_shared:
                score = shared / math.sqrt(max(len(words), 1))
                scored.append(snippet.model_copy(update={"score": score}))
        scored.sort(key=lambda r: (-r.score, r.id))
        return scored[:k]
