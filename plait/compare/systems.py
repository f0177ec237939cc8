"""The configurations ``plait compare`` runs, and what each one costs (bytes, latency).

ColBERT configurations share one encoding of the corpus: :class:`StoredEncoder` stands in for the
model inside :class:`plait.retrieve.ColBERT`, handing out the precomputed (optionally re-pooled)
document embeddings and encoding each query text once. Search still goes through the retriever's
ordinary ``index``/``retrieve`` calls, the same path ``plait evaluate`` takes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "ALL_SYSTEMS",
    "CrossEncoderRerank",
    "StoredEncoder",
    "biencoder_bytes",
    "bm25_bytes",
    "folder_bytes",
    "plaid_class",
]

ALL_SYSTEMS: tuple[str, ...] = (
    "bm25",
    "biencoder",
    "colbert",
    "plaid-1bit",
    "plaid-2bit",
    "plaid-4bit",
    "pool-2",
    "pool-3",
    "bm25+colbert",
    "biencoder+colbert",
    "cross-encoder",
)

LABELS: dict[str, str] = {
    "bm25": "BM25",
    "biencoder": "Bi-encoder",
    "colbert": "ColBERT exact",
    "plaid-1bit": "PLAID 1-bit",
    "plaid-2bit": "PLAID 2-bit",
    "plaid-4bit": "PLAID 4-bit",
    "pool-2": "ColBERT pool 2",
    "pool-3": "ColBERT pool 3",
    "bm25+colbert": "BM25 top-100 → ColBERT",
    "biencoder+colbert": "Bi-encoder top-100 → ColBERT",
    "cross-encoder": "Bi-encoder top-50 → cross-encoder",
}

FAMILIES: dict[str, str] = {
    "bm25": "baseline",
    "biencoder": "baseline",
    "colbert": "colbert",
    "plaid-1bit": "plaid",
    "plaid-2bit": "plaid",
    "plaid-4bit": "plaid",
    "pool-2": "pooling",
    "pool-3": "pooling",
    "bm25+colbert": "rerank",
    "biencoder+colbert": "rerank",
    "cross-encoder": "rerank",
}


class StoredEncoder:
    """A ColBERT model stand-in: documents come from ``documents`` (text -> embeddings).

    Queries are encoded by ``model`` once per text and remembered in ``query_memo`` (shareable
    between stand-ins). A document text not in ``documents`` is encoded by the model.
    """

    def __init__(
        self,
        model: Any,
        documents: Mapping[str, np.ndarray],
        query_memo: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.model = model
        self.documents = documents
        self.query_memo = query_memo if query_memo is not None else {}

    def encode(
        self,
        sentences: str | Sequence[str],
        is_query: bool = True,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        **kwargs: Any,
    ) -> list[np.ndarray]:
        """Encode as :meth:`plait.models.ColBERT.encode` does (a list of matrices)."""
        texts = [sentences] if isinstance(sentences, str) else list(sentences)
        memo = self.query_memo if is_query else self.documents
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            encoded = self.model.encode(
                missing, is_query=is_query, batch_size=batch_size, show_progress_bar=False
            )
            fresh = dict(zip(missing, encoded, strict=True))
            if is_query:
                self.query_memo.update(fresh)
        return [memo[t] if t in memo else fresh[t] for t in texts]


class CrossEncoderRerank:
    """First-stage top-``candidates`` re-scored by a sentence-transformers ``CrossEncoder``."""

    def __init__(
        self, first_stage: Any, model_path: str, candidates: int = 50, device: str | None = None
    ) -> None:
        from sentence_transformers import CrossEncoder

        if not os.path.exists(model_path) and os.sep in model_path:
            raise FileNotFoundError(f"cross-encoder model folder not found: {model_path}")
        self.first_stage = first_stage
        self.candidates = candidates
        self.model = CrossEncoder(model_path, device=device)
        self._texts: dict[str, str] = {}

    def index(
        self,
        collection: Sequence[str],
        document_ids: Sequence[str],
        batch_size: int = 32,
        *,
        index_first_stage: bool = True,
    ) -> CrossEncoderRerank:
        """Record the texts (and index them in the first stage unless it holds them already)."""
        if index_first_stage:
            self.first_stage.index(collection, document_ids, batch_size=batch_size)
        self._texts.update(zip(map(str, document_ids), collection, strict=True))
        return self

    def retrieve(
        self, queries: Sequence[str], k: int = 10, *, top_k: int | None = None, batch_size: int = 32
    ) -> list[list[dict[str, Any]]]:
        """Per query, up to ``min(k, candidates)`` hits by cross-encoder score, best first."""
        k = top_k if top_k is not None else k
        proposals = self.first_stage.retrieve(list(queries), top_k=self.candidates)
        results: list[list[dict[str, Any]]] = []
        for query, hits in zip(queries, proposals, strict=True):
            ids = [str(hit["id"]) for hit in hits]
            if not ids:
                results.append([])
                continue
            pairs = [(query, self._texts[i]) for i in ids]
            scores = np.asarray(
                self.model.predict(pairs, batch_size=batch_size, show_progress_bar=False),
                dtype=np.float64,
            ).reshape(len(ids), -1)[:, -1]
            order = np.argsort(-scores, kind="stable")[:k]
            results.append([{"id": ids[j], "score": float(scores[j])} for j in order])
        return results


def plaid_class() -> Any:
    """``plait.indexes.PLAID`` if this build has it, else ``None``."""
    try:
        from plait.indexes import PLAID  # type: ignore[attr-defined]

        return PLAID
    except ImportError:
        pass
    try:
        from plait.indexes.plaid import PLAID

        return PLAID
    except ImportError:
        return None


def folder_bytes(path: str | os.PathLike[str]) -> int:
    """Total size of the files under ``path`` (the writer lock excluded)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            if name != "writer.lock":
                total += os.path.getsize(os.path.join(root, name))
    return total


def bm25_bytes(retriever: Any) -> int:
    """Return the bytes of a :class:`plait.baselines.BM25` index.

    That is bm25s's sparse score matrix (data, indices, indptr arrays) plus its vocabulary
    serialised as JSON (what ``bm25s`` saves to disk).
    """
    return int(retriever.index_bytes())


def biencoder_bytes(retriever: Any) -> int:
    """One float32 vector per document."""
    model = retriever.model
    get_dim = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(len(retriever)) * int(get_dim()) * 4
