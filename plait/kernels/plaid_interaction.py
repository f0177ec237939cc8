"""PLAID centroid interaction: approximate MaxSim from centroid codes only.

For a query with centroid scores ``S[q, c] = query_token_q . centroid_c`` and a document whose tokens
have codes ``codes[t]``, the approximate score is ``sum_q max_t S[q, codes[t]]``. With pruning, tokens
whose centroid is not in ``keep`` are ignored (PLAID drops centroids whose best score over all query
tokens is below a threshold); a query token with no kept document token contributes 0.

``centroid_interaction`` (numba) must equal ``centroid_interaction_reference`` (numpy); a test compares
them on random inputs.
"""

from __future__ import annotations

import numba
import numpy as np


def centroid_interaction_reference(
    codes: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    scores_t: np.ndarray,
    keep: np.ndarray,
) -> np.ndarray:
    """Slow reference.

    ``codes``: ``(n_tokens,)`` centroid code per token; ``doc_offsets``: ``(n_docs + 1,)`` token
    offsets; ``docs``: local document indices to score; ``scores_t``: ``(n_centroids, n_query_tokens)``
    centroid scores, transposed; ``keep``: ``(n_centroids,)`` bool. Returns ``(len(docs),)`` float32.
    """
    out = np.zeros(len(docs), dtype=np.float32)
    for i, d in enumerate(docs):
        doc_codes = np.asarray(codes[doc_offsets[d] : doc_offsets[d + 1]], dtype=np.int64)
        doc_codes = doc_codes[keep[doc_codes]]
        if doc_codes.size:
            out[i] = scores_t[doc_codes].max(axis=0).sum(dtype=np.float32)
    return out


@numba.njit(cache=True, nogil=True)
def _interaction(
    codes: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    scores_t: np.ndarray,
    keep: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    n_q = scores_t.shape[1]
    best = np.empty(n_q, dtype=np.float32)
    for i in range(docs.shape[0]):
        d = docs[i]
        found = False
        for t in range(doc_offsets[d], doc_offsets[d + 1]):
            c = codes[t]
            if not keep[c]:
                continue
            if not found:
                for q in range(n_q):
                    best[q] = scores_t[c, q]
                found = True
            else:
                for q in range(n_q):
                    v = scores_t[c, q]
                    if v > best[q]:
                        best[q] = v
        total = np.float32(0.0)
        if found:
            for q in range(n_q):
                total += best[q]
        out[i] = total


def centroid_interaction(
    codes: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    scores_t: np.ndarray,
    keep: np.ndarray,
) -> np.ndarray:
    """Compiled version of :func:`centroid_interaction_reference` (same arguments, same result)."""
    out = np.empty(len(docs), dtype=np.float32)
    if len(docs):
        _interaction(
            np.asarray(codes),
            np.asarray(doc_offsets, dtype=np.int64),
            np.asarray(docs, dtype=np.int64),
            np.ascontiguousarray(scores_t, dtype=np.float32),
            np.asarray(keep, dtype=np.bool_),
            out,
        )
    return out
