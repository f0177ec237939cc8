"""Naive loop implementations of :mod:`plait.scores`, the oracle the fast versions are tested against.

Written for clarity only: python loops, float64, masks read one token at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.utils.tensor import to_numpy


def maxsim_reference(
    query: Any, document: Any, query_mask: Any = None, document_mask: Any = None
) -> float:
    """Sum over real query tokens of the max dot product with any real document token (0 if none)."""
    q = to_numpy(query, np.float64)
    d = to_numpy(document, np.float64)
    qm = np.ones(len(q), bool) if query_mask is None else to_numpy(query_mask, None) != 0
    dm = np.ones(len(d), bool) if document_mask is None else to_numpy(document_mask, None) != 0
    total = 0.0
    for i in range(len(q)):
        if not qm[i]:
            continue
        best = None
        for j in range(len(d)):
            if dm[j]:
                s = float(np.dot(q[i], d[j]))
                best = s if best is None or s > best else best
        total += 0.0 if best is None else best
    return total


def _mask_at(mask: Any, *index: int) -> Any:
    return None if mask is None else to_numpy(mask, None)[index]


def colbert_scores_reference(
    queries: Any, documents: Any, queries_mask: Any = None, documents_mask: Any = None
) -> np.ndarray:
    """``(nq, nd)`` float64 MaxSim of every query against every document (padded inputs)."""
    out = np.zeros((len(queries), len(documents)))
    for a in range(len(queries)):
        for b in range(len(documents)):
            out[a, b] = maxsim_reference(
                queries[a], documents[b], _mask_at(queries_mask, a), _mask_at(documents_mask, b)
            )
    return out


def colbert_scores_pairwise_reference(
    queries: Any, documents: Any, queries_mask: Any = None, documents_mask: Any = None
) -> np.ndarray:
    """``(n,)`` MaxSim of query ``i`` against document ``i``."""
    return np.array(
        [
            maxsim_reference(
                queries[i], documents[i], _mask_at(queries_mask, i), _mask_at(documents_mask, i)
            )
            for i in range(len(queries))
        ]
    )


def colbert_kd_scores_reference(
    queries: Any, documents: Any, queries_mask: Any = None, documents_mask: Any = None
) -> np.ndarray:
    """``(nq, nd)`` MaxSim of query ``i`` against its candidates ``documents[i, j]``."""
    out = np.zeros((len(queries), len(documents[0]) if len(documents) else 0))
    for i in range(len(queries)):
        for j in range(out.shape[1]):
            out[i, j] = maxsim_reference(
                queries[i],
                documents[i][j],
                _mask_at(queries_mask, i),
                _mask_at(documents_mask, i, j),
            )
    return out


def maxsim_ragged_reference(query: Any, documents: list[Any]) -> np.ndarray:
    """``(n,)`` MaxSim of one query against ragged documents."""
    return np.array([maxsim_reference(query, doc) for doc in documents])
