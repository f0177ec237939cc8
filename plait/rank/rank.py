"""Exact MaxSim reranking of given candidates (knows nothing about indexes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

import numpy as np

from plait.utils.tensor import as_matrices, is_array


class RerankResult(TypedDict):
    """One ranked document, as :func:`rerank` and the indexes' call shape return it (PyLate's).

    Parameters
    ----------
    id
        The document id.
    score
        Its MaxSim score.
    """

    id: Any
    score: float


def _is_flat_ids(ids: Any) -> bool:
    return (
        isinstance(ids, Sequence)
        and not isinstance(ids, str)
        and all(isinstance(i, (str, int, np.integer)) for i in ids)
    )


def _score(query: np.ndarray, documents: list[np.ndarray], device: str | None) -> np.ndarray:
    if device is None:
        from plait.scores import maxsim

        return maxsim(query, documents)
    import torch

    from plait.scores import colbert_scores

    q = torch.from_numpy(query)[None].to(device)
    docs = [torch.from_numpy(d.reshape(-1, query.shape[1])).to(device) for d in documents]
    return colbert_scores(q, docs)[0].cpu().numpy()


def rerank(
    documents_ids: Sequence[Sequence[Any]],
    queries_embeddings: Any,
    documents_embeddings: Sequence[Sequence[Any]],
    device: str | None = None,
) -> list[list[RerankResult]]:
    """Rerank each query's candidates by exact MaxSim (PyLate's ``rank.rerank``).

    ``documents_ids[i]`` and ``documents_embeddings[i]`` are query ``i``'s candidates (ragged
    ``(n_tokens, dim)`` matrices). Returns, per query, ``[{"id", "score"}, ...]`` sorted by score,
    descending (ties keep the candidates' order). ``device=None`` scores on CPU with the MaxSim
    kernel; a torch device (e.g. ``"cuda"``) scores there with :func:`plait.scores.colbert_scores`.
    Padding never wins the max (documents are masked with ``-inf``, not zero-padded as in PyLate;
    all-zero rows of a 3-D padded batch are dropped).

    >>> q = np.array([[1.0, 0.0]], np.float32)
    >>> docs = [np.array([[0.25, 0.0]], np.float32), np.array([[0.5, 0.0], [0.0, 1.0]], np.float32)]
    >>> rerank([["a", "b"]], [q], [docs])
    [[{'id': 'b', 'score': 0.5}, {'id': 'a', 'score': 0.25}]]
    """
    queries = as_matrices(queries_embeddings, "queries_embeddings")
    if len(queries) == 1 and _is_flat_ids(documents_ids):  # one query given without nesting
        documents_ids = [documents_ids]
        if is_array(documents_embeddings) and np.ndim(documents_embeddings) == 3:
            documents_embeddings = [documents_embeddings]
        elif (
            documents_embeddings
            and is_array(documents_embeddings[0])
            and np.ndim(documents_embeddings[0]) == 2
        ):
            documents_embeddings = [documents_embeddings]
    if not (len(queries) == len(documents_ids) == len(documents_embeddings)):
        raise ValueError(
            f"rerank needs one candidate list per query: {len(queries)} queries, "
            f"{len(documents_ids)} documents_ids lists, {len(documents_embeddings)} documents_embeddings lists"
        )
    results: list[list[RerankResult]] = []
    for i, (query, ids, embeddings) in enumerate(
        zip(queries, documents_ids, documents_embeddings, strict=True)
    ):
        docs = as_matrices(embeddings, f"documents_embeddings[{i}]") if len(embeddings) else []
        if is_array(embeddings):  # a zero-padded batch: padding rows are never tokens
            docs = [d[np.any(d != 0, axis=1)] for d in docs]
        if len(ids) != len(docs):
            raise ValueError(
                f"query {i} has {len(ids)} candidate ids but {len(docs)} candidate embeddings"
            )
        for j, doc in enumerate(docs):
            if len(doc) and doc.shape[1] != query.shape[1]:
                raise ValueError(
                    f"query {i} has dimension {query.shape[1]} but its candidate {ids[j]!r} has {doc.shape[1]}"
                )
        if not docs:
            results.append([])
            continue
        scores = _score(query, docs, device)
        order = np.argsort(-scores, kind="stable")
        results.append([RerankResult(id=ids[j], score=float(scores[j])) for j in order.tolist()])
    return results
