"""Exact MaxSim against PLAID-compressed documents without materialising their vectors.

A stored token is ``centroids[code] + decoded residual``; the residual is ``bytes_per_token`` packed
bytes, and ``lut[b, byte]`` holds the ``8 // nbits`` decoded dimensions of byte value ``byte`` at
byte position ``b`` (:attr:`plait.indexes.plaid.codec.ResidualCodec.lut`). For every candidate
document the kernel decodes one token at a time into a ``dim``-float buffer, dots it with every
query token and keeps each query token's maximum, so the work per token is ``dim * n_query_tokens``
multiply-adds and nothing larger than one token is ever written. The numpy path it replaces
gathered and decoded every candidate token into a fresh ``(n_tokens, dim)`` array first.

``compressed_maxsim`` (numba) must equal ``compressed_maxsim_reference`` (numpy decode + matrix
product) up to float32 rounding; a test compares them. A document with no tokens scores 0.
"""

from __future__ import annotations

import numba
import numpy as np


def compressed_maxsim_reference(
    query: np.ndarray,
    centroids: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    lut: np.ndarray,
) -> np.ndarray:
    """Slow reference: MaxSim of ``query`` ``(Lq, dim)`` against documents ``docs`` (local indices
    into ``doc_offsets``), tokens decoded as ``centroids[codes] + lut`` lookups. ``(len(docs),)``."""
    out = np.zeros(len(docs), dtype=np.float32)
    n_bytes = residuals.shape[1]
    for i, d in enumerate(docs):
        rows = np.arange(doc_offsets[d], doc_offsets[d + 1])
        if not len(rows):
            continue
        packed = np.asarray(residuals[rows])
        decoded = lut[np.arange(n_bytes), packed].reshape(len(rows), -1)
        vectors = centroids[np.asarray(codes[rows], dtype=np.int64)] + decoded
        out[i] = (query @ vectors.T).max(axis=1).sum(dtype=np.float32)
    return out


@numba.njit(cache=True, nogil=True, fastmath=True)
def _compressed_maxsim(query, centroids, codes, residuals, doc_offsets, docs, lut, out):  # pragma: no cover
    n_q, dim = query.shape
    n_bytes = residuals.shape[1]
    per_byte = lut.shape[2]
    vec = np.empty(dim, dtype=np.float32)
    best = np.empty(n_q, dtype=np.float32)
    for i in range(docs.shape[0]):
        d = docs[i]
        start, stop = doc_offsets[d], doc_offsets[d + 1]
        if stop <= start:
            out[i] = 0.0
            continue
        for q in range(n_q):
            best[q] = -np.inf
        for t in range(start, stop):
            c = codes[t]
            for b in range(n_bytes):
                v = residuals[t, b]
                for j in range(per_byte):
                    vec[b * per_byte + j] = centroids[c, b * per_byte + j] + lut[b, v, j]
            for q in range(n_q):
                s = np.float32(0.0)
                for j in range(dim):
                    s += query[q, j] * vec[j]
                if s > best[q]:
                    best[q] = s
        total = np.float32(0.0)
        for q in range(n_q):
            total += best[q]
        out[i] = total


def compressed_maxsim(
    query: np.ndarray,
    centroids: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    lut: np.ndarray,
) -> np.ndarray:
    """Compiled :func:`compressed_maxsim_reference` (same arguments; float32 rounding may differ)."""
    out = np.zeros(len(docs), dtype=np.float32)
    if len(docs) and query.shape[0]:
        _compressed_maxsim(
            np.ascontiguousarray(query, dtype=np.float32),
            np.ascontiguousarray(centroids, dtype=np.float32),
            np.asarray(codes),
            np.asarray(residuals),
            np.asarray(doc_offsets, dtype=np.int64),
            np.asarray(docs, dtype=np.int64),
            np.ascontiguousarray(lut, dtype=np.float32),
            out,
        )
    return out
