"""BM25 baseline (bm25s), with the seed's retriever API so it runs through the same evaluation path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from plait.baselines.inputs import check_corpus, check_queries, resolve_k

__all__ = ["BM25"]


def _english_stemmer() -> Any:
    import Stemmer  # PyStemmer (the bm25 extra; checked by require_extra before this runs)

    return Stemmer.Stemmer("english").stemWord


class BM25:
    """Okapi BM25 (Lucene variant) over lower-cased word tokens, English stopwords and stemming.

    Documents that share no term with a query are not returned, so a result may hold fewer than
    ``top_k`` hits.

    Parameters
    ----------
    k1, b
        BM25 saturation and length normalisation.
    method
        bm25s scoring variant (``"lucene"``, ``"robertson"``, ``"atire"``, ``"bm25l"``, ``"bm25+"``).
    stemmer
        ``"english"`` (Snowball, needs PyStemmer; silently skipped when it is absent) or ``None``.

    Examples
    --------
    >>> bm25 = BM25().index(["cats purr", "dogs bark loudly"], ["a", "b"])  # returns itself
    >>> len(bm25)
    2
    >>> [hit["id"] for hit in bm25.retrieve(["barking dogs"], top_k=2)[0]]
    ['b']
    """

    def __init__(
        self,
        k1: float = 1.5,
        b: float = 0.75,
        method: str = "lucene",
        stemmer: str | None = "english",
        show_progress_bar: bool = False,
    ) -> None:
        if stemmer not in ("english", None):
            raise ValueError(f"stemmer must be 'english' or None, got {stemmer!r}")
        from plait.extras import require_extra

        require_extra("bm25", "the BM25 baseline (plait.baselines.BM25)")
        self.k1, self.b, self.method = k1, b, method
        self.stemmer = _english_stemmer() if stemmer == "english" else None
        self.show_progress_bar = show_progress_bar
        self._texts: list[str] = []
        self._ids: list[str] = []
        self._model: Any = None
        self._tokenizer: Any = None

    def __len__(self) -> int:
        return len(self._ids)

    def index(
        self,
        collection: Sequence[str],
        document_ids: Sequence[str],
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
    ) -> BM25:
        """Add documents (``batch_size`` is accepted for API parity and unused)."""
        show = self.show_progress_bar if show_progress_bar is None else show_progress_bar
        import bm25s
        from bm25s.tokenization import Tokenizer

        texts, ids = check_corpus(collection, document_ids, existing=self._ids)
        self._texts += texts
        self._ids += ids
        self._tokenizer = Tokenizer(stopwords="english", stemmer=self.stemmer)
        tokens = self._tokenizer.tokenize(
            self._texts, update_vocab=True, return_as="ids", show_progress=show
        )
        self._model = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
        self._model.index(tokens, show_progress=show)
        return self

    def index_bytes(self) -> int:
        """Return the bytes of the index; 0 before :meth:`index`.

        That is bm25s's sparse score matrix (data, indices, indptr arrays) plus the vocabulary
        serialised as JSON (what ``bm25s`` saves to disk).
        """
        import json

        if self._model is None:
            return 0
        total = sum(
            int(getattr(array, "nbytes", 0))
            for key, array in self._model.scores.items()
            if key in ("data", "indices", "indptr")
        )
        vocabulary = getattr(self._tokenizer, "word_to_id", None) or {}
        return total + len(
            json.dumps({str(k): int(v) for k, v in vocabulary.items()}).encode("utf-8")
        )

    def retrieve(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        top_k: int | None = None,
        batch_size: int = 32,
    ) -> list[list[dict[str, Any]]]:
        """Top documents per query as ``[{"id", "score"}, ...]``, best first."""
        texts = check_queries(queries)
        k = resolve_k(k, top_k)
        if self._model is None:
            return [[] for _ in texts]
        tokens = self._tokenizer.tokenize(
            texts, update_vocab=False, return_as="ids", show_progress=False
        )
        results: list[list[dict[str, Any]]] = []
        for query_tokens in tokens:
            query = [token for token in query_tokens if token != self._unknown_token()]
            if not query:
                results.append([])
                continue
            scores = np.asarray(self._model.get_scores(query), dtype=np.float32)
            results.append(_top_positive(scores, self._ids, k))
        return results

    def _unknown_token(self) -> int:
        return int(self._tokenizer.word_to_id.get("", -1))


def _top_positive(scores: np.ndarray, ids: list[str], k: int) -> list[dict[str, Any]]:
    k = min(k, scores.shape[0])
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return [{"id": ids[i], "score": float(scores[i])} for i in top if scores[i] > 0]
