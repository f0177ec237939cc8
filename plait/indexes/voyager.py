"""PyLate's ``indexes.Voyager``: the exact index, answering PyLate's token-candidate call.

PyLate's Voyager is an HNSW graph over token vectors (the ``voyager`` package); calling it,
``index(queries_embeddings, k)``, returns per query token the ``k`` nearest stored tokens, and its
retriever reranks their documents by MaxSim. plait's :class:`Voyager` stores documents as
:class:`~plait.indexes.exact.Exact` does, so :meth:`~plait.indexes.exact.Exact.search` and the
retrievers give exact MaxSim results; the call returns the same token candidates as PyLate's
(exact nearest neighbours instead of HNSW approximations).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from plait.indexes.exact import Exact
from plait.indexes.validation import check_k, check_queries

_CHUNK_DOCUMENTS = 4096  # documents' tokens scored per step of the nearest-token scan


class Voyager(Exact):
    """The exact index under PyLate's ``indexes.Voyager`` name.

    Parameters
    ----------
    index_folder, index_name, override
        Where the index lives, as for :class:`~plait.indexes.exact.Exact`.
    embedding_size
        Checked against the stored dimension when given.
    M, ef_construction, ef_search
        PyLate's HNSW settings: accepted and ignored (there is no graph).
    dtype, index_path, device
        As for :class:`~plait.indexes.exact.Exact`.
    """

    def __init__(
        self,
        index_folder: str | os.PathLike[str] | None = "indexes",
        index_name: str = "voyager",
        override: bool = False,
        embedding_size: int | None = None,
        M: int | None = None,
        ef_construction: int | None = None,
        ef_search: int | None = None,
        dtype: str | None = None,
        *,
        index_path: str | os.PathLike[str] | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(
            index_folder, index_name, override, dtype, index_path=index_path, device=device
        )
        if embedding_size is not None and self.dim is not None and embedding_size != self.dim:
            raise ValueError(
                f"embedding_size={embedding_size} but the index holds {self.dim}-dimensional embeddings"
            )

    def __call__(  # type: ignore[override]
        self, queries_embeddings: Any, k: int = 10, *args: Any, **kwargs: Any
    ) -> dict[str, list[Any]]:
        """Return the ``k`` nearest stored tokens of every query token (PyLate's Voyager call).

        Parameters
        ----------
        queries_embeddings
            One ``(n_tokens, dim)`` matrix, a list of them or a 3-D batch.
        k
            Tokens per query token (at most the number of stored tokens).
        *args, **kwargs
            Accepted and ignored (PyLate's call takes none).

        Returns
        -------
        dict
            ``"documents_ids"``: per query, per query token, the ids of the documents owning
            the ``k`` nearest tokens, nearest first; ``"distances"``: per query, per query token,
            their cosine distances (``1 - cosine``) as a float32 array.

        Raises
        ------
        ValueError
            The index is empty (PyLate's message).
        """
        k = check_k(k)
        queries = check_queries(queries_embeddings, self.dim)
        ids = self.documents_ids
        if not ids:
            raise ValueError("Index is empty, add documents before querying.")
        documents, distances = [], []
        for query in queries:
            owners, nearest = _nearest_tokens(_unit(query), self._token_chunks(ids), k)
            documents.append([[ids[o] for o in row] for row in owners.tolist()])
            distances.append(list((1.0 - nearest).astype(np.float32)))
        return {"documents_ids": documents, "distances": distances}

    def _token_chunks(self, ids: list[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (unit-norm tokens, position in ``ids`` of each token's document) in chunks."""
        for start in range(0, len(ids), _CHUNK_DOCUMENTS):
            matrices = self._matrices(ids[start : start + _CHUNK_DOCUMENTS])
            owners = np.repeat(np.arange(start, start + len(matrices)), [len(m) for m in matrices])
            yield _unit(np.concatenate(matrices).astype(np.float32)), owners


def _unit(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def _nearest_tokens(
    query: np.ndarray, chunks: Iterator[tuple[np.ndarray, np.ndarray]], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per query row, the owners and cosines of the ``k`` most similar tokens, best first.

    Examples
    --------
    >>> tokens = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], np.float32)
    >>> owners, cosines = _nearest_tokens(np.array([[1.0, 0.0]]), iter([(tokens, np.arange(3))]), 2)
    >>> owners.tolist(), [round(float(c), 2) for c in cosines[0]]
    ([[0, 2]], [1.0, 0.6])
    """
    best = np.full((len(query), 0), -np.inf, np.float32)
    best_owners = np.zeros((len(query), 0), np.int64)
    for tokens, owners in chunks:
        sims = np.concatenate([best, (query @ tokens.T).astype(np.float32)], axis=1)
        pool = np.concatenate([best_owners, np.broadcast_to(owners, (len(query), len(owners)))], 1)
        keep = min(k, sims.shape[1])
        top = np.argpartition(-sims, keep - 1, axis=1)[:, :keep]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        best = np.take_along_axis(sims, top, axis=1)
        best_owners = np.take_along_axis(pool, top, axis=1)
    return best_owners, best
