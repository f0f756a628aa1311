"""The ``bm25`` retriever: BM25 over the graph's evidence sentences (bm25s).

The index is built from the store on first use (English stop words removed) and,
when an index folder is given, saved to ``INDEX/bm25`` with a fingerprint of the
graph, so later runs load it and a changed graph triggers a rebuild. The query is
the note section, the anomaly captions and the diagnoses.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import MissingDependencyError
from ctk.plugins.retrievers.sentences import EvidenceSentence, corpus_signature, iter_sentences
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever

__all__ = ["BM25Retriever", "BM25RetrieverOptions"]

logger = logging.getLogger(__name__)

_SIGNATURE_FILE = "ctk-signature.json"


class BM25RetrieverOptions(BaseModel):
    """Settings of the ``bm25`` retriever.

    Attributes:
        k1: BM25 term-frequency saturation.
        b: BM25 length normalisation.
        max_query_chars: Characters of the query text used (long notes are cut).
    """

    model_config = ConfigDict(extra="forbid")

    k1: float = Field(default=1.5, gt=0)
    b: float = Field(default=0.75, ge=0, le=1)
    max_query_chars: int = Field(default=4000, ge=100)


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as e:
        raise MissingDependencyError("bm25s", "retrieval") from e
    # bm25s forces its logger to DEBUG on import; let it inherit the application's level
    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


class BM25Retriever(Retriever):
    """Lexical retrieval of evidence sentences.

    Args:
        store: The knowledge graph whose evidence sentences are indexed.
        index_dir: Folder to keep the index in (``INDEX/bm25``); in memory when None.
        options: :class:`BM25RetrieverOptions`.
    """

    name: ClassVar[str] = "bm25"
    needs_store: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = BM25RetrieverOptions
    options: BM25RetrieverOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._index: Any = None
        self._docs: list[EvidenceSentence] = []

    def _folder(self) -> Path | None:
        return self.index_dir / "bm25" if self.index_dir is not None else None

    def build(self) -> int:
        """Build (or load) the index now; returns the number of sentences."""
        with self._lock:
            if self._index is None:
                self._load_or_build()
            return len(self._docs)

    def _load_or_build(self) -> None:
        bm25s = _bm25s()
        store = self.require_store()
        signature = corpus_signature(store)
        folder = self._folder()
        if folder is not None and (folder / _SIGNATURE_FILE).exists():
            saved = json.loads((folder / _SIGNATURE_FILE).read_text(encoding="utf-8"))
            if saved.get("signature") == signature and saved.get("params") == self._params():
                self._index = bm25s.BM25.load(str(folder), load_corpus=False)
                docs = json.loads((folder / "ctk-docs.json").read_text(encoding="utf-8"))
                self._docs = [EvidenceSentence(**d) for d in docs]
                logger.info("bm25: loaded %d sentences from %s", len(self._docs), folder)
                return
            logger.info("bm25: the graph changed since %s was built; rebuilding", folder)
        self._docs = list(iter_sentences(store))
        index = bm25s.BM25(k1=self.options.k1, b=self.options.b)
        if self._docs:
            tokens = bm25s.tokenize(
                [d.text for d in self._docs], stopwords="en", show_progress=False
            )
            index.index(tokens, show_progress=False)
        self._index = index
        logger.info("bm25: indexed %d sentences", len(self._docs))
        if folder is not None and self._docs:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
            index.save(str(folder), show_progress=False)
            (folder / "ctk-docs.json").write_text(
                json.dumps([d.__dict__ for d in self._docs]), encoding="utf-8"
            )
            (folder / _SIGNATURE_FILE).write_text(
                json.dumps({"signature": signature, "params": self._params()}), encoding="utf-8"
            )

    def _params(self) -> dict[str, float]:
        return {"k1": self.options.k1, "b": self.options.b}

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        self.build()
        if not self._docs:
            return []
        bm25s = _bm25s()
        text = query.text()[: self.options.max_query_chars]
        tokens = bm25s.tokenize([text], stopwords="en", return_ids=False, show_progress=False)
        if not tokens or not tokens[0]:
            return []
        with self._lock:
            ids, scores = self._index.retrieve(
                tokens, k=min(k, len(self._docs)), show_progress=False, n_threads=1
            )
        out: list[EvidenceRecord] = []
        for i, score in zip(ids[0].tolist(), scores[0].tolist(), strict=True):
            if score > 0:
                out.append(self._docs[int(i)].record(float(score)))
        return out
