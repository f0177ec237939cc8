"""Two-stage retrieval: a cheap first stage proposes candidates, ColBERT MaxSim re-orders them.

Only the first stage's index is stored (BM25's inverted index or a bi-encoder's one vector per
document). ColBERT token embeddings of the candidates are computed when a query needs them (and
memoised, unless ``cache_embeddings=False``), then scored exactly with :func:`plait.rank.rerank`::

    from plait import retrieve
    from plait.baselines import BM25

    pipeline = retrieve.RerankPipeline(BM25(), model=colbert_model, candidates=100)
    pipeline.index(collection=texts, document_ids=ids)
    pipeline.retrieve(queries=["..."], top_k=10)  # [[{"id", "score"}, ...], ...]

Scores are ColBERT MaxSim scores. A query gets at most ``candidates`` hits (fewer when the first
stage returns fewer, e.g. BM25 finds no shared term).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from plait.baselines.inputs import check_queries, resolve_k

if TYPE_CHECKING:
    from plait.rank import RerankResult

__all__ = ["RerankPipeline"]


def _check_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class RerankPipeline:
    """First-stage top-``candidates`` re-ranked by exact ColBERT MaxSim.

    Parameters
    ----------
    first_stage
        Any retriever with the seed's API (``index(collection, document_ids, batch_size)`` and
        ``retrieve(queries, top_k=...)``), e.g. :class:`plait.baselines.BM25` or
        :class:`plait.baselines.BiEncoder`.
    model
        A :class:`plait.models.ColBERT`; ``None`` loads the offline default model on first use.
    candidates
        How many first-stage hits are re-scored per query.
    cache_embeddings
        Keep the ColBERT embeddings of documents once computed (memory grows with the documents
        seen); ``False`` encodes the candidates again for every query.
    """

    def __init__(
        self,
        first_stage: Any,
        model: Any = None,
        *,
        candidates: int = 100,
        cache_embeddings: bool = True,
    ) -> None:
        for method in ("index", "retrieve"):
            if not callable(getattr(first_stage, method, None)):
                raise TypeError(
                    f"first_stage must be a retriever with index() and retrieve(), "
                    f"got {type(first_stage).__name__}"
                )
        self.first_stage = first_stage
        self.candidates = _check_positive("candidates", candidates)
        self.cache_embeddings = bool(cache_embeddings)
        self._model = model
        self._texts: dict[str, str] = {}
        self._embeddings: dict[str, np.ndarray] = {}

    @property
    def model(self) -> Any:
        """The ColBERT encoder; the default model is loaded on first use when none was given."""
        if self._model is None:
            from plait.models import ColBERT as ColBERTModel

            self._model = ColBERTModel()
        return self._model

    def __len__(self) -> int:
        return len(self._texts)

    def __repr__(self) -> str:
        return (
            f"retrieve.RerankPipeline(first_stage={type(self.first_stage).__name__}, "
            f"candidates={self.candidates}, {len(self)} documents)"
        )

    def index(
        self,
        collection: Sequence[str],
        document_ids: Sequence[str],
        batch_size: int = 32,
        *,
        index_first_stage: bool = True,
    ) -> RerankPipeline:
        """Index ``collection`` in the first stage and keep the texts for re-ranking.

        With ``index_first_stage=False`` the first stage is assumed to hold these documents already
        (only the texts are recorded). Ids must be new and unique.
        """
        from plait.baselines.inputs import check_corpus

        texts, ids = check_corpus(collection, document_ids, existing=list(self._texts))
        if index_first_stage:
            self.first_stage.index(collection=texts, document_ids=ids, batch_size=batch_size)
        self._texts.update(zip(ids, texts, strict=True))
        return self

    def add_documents_embeddings(
        self, document_ids: Sequence[str], embeddings: Sequence[Any]
    ) -> None:
        """Provide ColBERT document embeddings computed elsewhere (``(n_tokens, dim)`` each).

        They are used instead of encoding the texts; ids must already be indexed.
        """
        from plait.utils.tensor import as_matrices

        matrices = as_matrices(embeddings, "embeddings")
        if len(matrices) != len(document_ids):
            raise ValueError(
                f"{len(document_ids)} document ids but {len(matrices)} embedding matrices"
            )
        unknown = [str(i) for i in document_ids if str(i) not in self._texts]
        if unknown:
            raise KeyError(f"{len(unknown)} id(s) not indexed in this pipeline: {unknown[:5]}")
        for document_id, matrix in zip(document_ids, matrices, strict=True):
            self._embeddings[str(document_id)] = matrix

    def _documents_embeddings(self, ids: list[str], batch_size: int) -> list[np.ndarray]:
        missing = [i for i in dict.fromkeys(ids) if i not in self._embeddings]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            encoded = self.model.encode(
                [self._texts[i] for i in missing],
                is_query=False,
                batch_size=batch_size,
                show_progress_bar=False,
            )
            fresh = dict(zip(missing, encoded, strict=True))
            if self.cache_embeddings:
                self._embeddings.update(fresh)
        return [self._embeddings[i] if i in self._embeddings else fresh[i] for i in ids]

    def retrieve(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        top_k: int | None = None,
        batch_size: int = 32,
    ) -> list[list[RerankResult]]:
        """Per query, up to ``min(k, candidates)`` hits ``{"id", "score"}`` by MaxSim, best first."""
        from plait.rank import rerank

        texts = check_queries(
            queries, ": a re-rank pipeline needs query texts (its first stage searches text)"
        )
        k = resolve_k(k, top_k)
        _check_positive("batch_size", batch_size)
        if not self._texts:
            return [[] for _ in texts]
        proposals = self.first_stage.retrieve(texts, top_k=self.candidates)
        if len(proposals) != len(texts):
            raise RuntimeError(
                f"first stage returned {len(proposals)} result lists for {len(texts)} queries"
            )
        candidate_ids = [[str(hit["id"]) for hit in hits] for hits in proposals]
        unknown = {i for ids in candidate_ids for i in ids if i not in self._texts}
        if unknown:
            raise RuntimeError(
                f"first stage returned {len(unknown)} id(s) this pipeline has no text for "
                f"(e.g. {sorted(unknown)[0]!r}): index documents through the pipeline"
            )
        queries_embeddings = self.model.encode(
            texts, is_query=True, batch_size=batch_size, show_progress_bar=False
        )
        flat = [i for ids in candidate_ids for i in ids]
        embeddings = self._documents_embeddings(flat, batch_size) if flat else []
        per_query, start = [], 0
        for ids in candidate_ids:
            per_query.append(embeddings[start : start + len(ids)])
            start += len(ids)
        ranked = rerank(candidate_ids, list(queries_embeddings), per_query)
        return [hits[:k] for hits in ranked]
