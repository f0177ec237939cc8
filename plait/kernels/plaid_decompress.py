"""Exact MaxSim against PLAID-compressed documents without materialising their vectors.

A stored token is ``centroids[code] + decoded residual``; the residual is ``bytes_per_token`` packed
bytes, and ``lut[b, byte]`` holds the ``8 // nbits`` decoded dimensions of byte value ``byte`` at
byte position ``b`` (:attr:`plait.indexes.plaid.codec.ResidualCodec.lut`). A query token's score
against a stored token splits the same way (WARP's implicit decompression):

    q . (centroid[code] + residual) = S[code, q] + sum_b T[b, byte_b, q]

where ``S = centroids @ query.T`` are the centroid scores the search computed anyway and
``T[b, v, q] = lut[b, v] . query[q, dims of byte b]`` is a small per-query table
(``bytes_per_token * 256 * n_query_tokens`` floats: 1 MiB for 32 query tokens at nbits=2, built
with one batched matrix product). Per stored token the kernel then does one table lookup-add per
byte and query token (32 * 32 adds at nbits=2, dim=128) instead of decoding ``dim`` floats and
``dim * n_query_tokens`` multiply-adds, and nothing larger than the table is ever written.

When the index's vectors were unit-norm (ColBERT's case), each decoded token is divided by its
norm before MaxSim, as ColBERTv2's decompression does: quantisation moves a token off
the unit sphere, and the norm error alone then reorders close documents (measured on 100k synthetic
documents: recall@10 against exact 0.922 -> 0.942 at nbits=2). The norms do not depend on the
query: :func:`token_inverse_norms` computes them once per segment without decoding
(``|c + r|^2 = |c|^2 + sum_i r_i (2 c_i + r_i)``), and the kernel multiplies by them, ``n_query_tokens``
multiplies per token against the ``1024`` lookup-adds above. (Computing them inside the kernel on
every search cost 25% of SciFact's batched throughput.)

``compressed_maxsim`` (numba) must equal ``compressed_maxsim_reference`` (numpy decode + matrix
product) up to float32 rounding; a test compares them. A document with no tokens scores 0.
"""

from __future__ import annotations

import numba
import numpy as np

NORM_FLOOR = 1e-6  # a decoded token shorter than this is divided by it instead (no division by 0)


def compressed_maxsim_reference(
    query: np.ndarray,
    centroids: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    lut: np.ndarray,
    normalize: bool = False,
) -> np.ndarray:
    """Slow reference: MaxSim of ``query`` ``(Lq, dim)`` against documents ``docs``.

    Returns ``(len(docs),)`` scores. ``docs`` are local indices into ``doc_offsets``; tokens are
    decoded as ``centroids[codes] + lut`` lookups (and divided by their norm with ``normalize``).
    """
    out = np.zeros(len(docs), dtype=np.float32)
    n_bytes = residuals.shape[1]
    for i, d in enumerate(docs):
        rows = np.arange(doc_offsets[d], doc_offsets[d + 1])
        if not len(rows):
            continue
        packed = np.asarray(residuals[rows])
        decoded = lut[np.arange(n_bytes), packed].reshape(len(rows), -1)
        vectors = centroids[np.asarray(codes[rows], dtype=np.int64)] + decoded
        if normalize:
            vectors = vectors / np.maximum(
                np.linalg.norm(vectors, axis=1, keepdims=True), NORM_FLOOR
            )
        out[i] = (query @ vectors.T).max(axis=1).sum(dtype=np.float32)
    return out


def query_byte_table(query: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Return ``T``, ``(n_bytes, 256, n_query_tokens)`` float32, the query's per-byte dot products.

    ``T[b, v, q]`` is the dot product of query token ``q`` with the residual dimensions that byte
    value ``v`` at byte position ``b`` decodes to.
    """
    n_bytes, _, per_byte = lut.shape
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(query.shape[0], n_bytes, per_byte)
    return np.ascontiguousarray(np.matmul(lut, q.transpose(1, 2, 0)), dtype=np.float32)


@numba.njit(cache=True, nogil=True, fastmath=True)
def _table_maxsim(
    scores_t: np.ndarray,
    table: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    out: np.ndarray,
    inv_norms: np.ndarray,
) -> None:  # pragma: no cover
    n_q = scores_t.shape[1]
    n_bytes = residuals.shape[1]
    normalize = inv_norms.shape[0] > 0
    acc = np.empty(n_q, dtype=np.float32)
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
            for q in range(n_q):
                acc[q] = scores_t[c, q]
            for b in range(n_bytes):
                v = residuals[t, b]
                for q in range(n_q):
                    acc[q] += table[b, v, q]
            if normalize:
                inv = inv_norms[t]
                for q in range(n_q):
                    acc[q] *= inv
            for q in range(n_q):
                if acc[q] > best[q]:
                    best[q] = acc[q]
        total = np.float32(0.0)
        for q in range(n_q):
            total += best[q]
        out[i] = total


@numba.njit(cache=True, nogil=True)
def _inverse_norms(
    centroids: np.ndarray,
    centroid_sq: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    lut: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover
    n_bytes = residuals.shape[1]
    per_byte = lut.shape[2]
    for t in range(residuals.shape[0]):
        c = codes[t]
        sq = centroid_sq[c]
        for b in range(n_bytes):
            v = residuals[t, b]
            for k in range(per_byte):
                r = lut[b, v, k]
                sq += r * (2.0 * centroids[c, b * per_byte + k] + r)
        out[t] = np.float32(1.0) / max(np.sqrt(max(sq, np.float32(0.0))), np.float32(NORM_FLOOR))


def token_inverse_norms(
    centroids: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    lut: np.ndarray,
    centroid_sq: np.ndarray | None = None,
) -> np.ndarray:
    """Return ``1 / |centroids[code] + decoded residual|`` of every stored token, without decoding.

    The result is ``(n_tokens,)`` float32, from ``|c + r|^2 = |c|^2 + sum_i r_i (2 c_i + r_i)``.
    ``centroid_sq``: the centroids' squared norms, when cached. A PLAID segment computes this
    once, on first search.
    """
    centroids = np.ascontiguousarray(centroids, dtype=np.float32)
    if centroid_sq is None:
        centroid_sq = np.einsum("ij,ij->i", centroids, centroids)
    out = np.empty(residuals.shape[0], dtype=np.float32)
    _inverse_norms(
        centroids,
        np.ascontiguousarray(centroid_sq, dtype=np.float32),
        np.asarray(codes),
        np.asarray(residuals),
        np.ascontiguousarray(lut, dtype=np.float32),
        out,
    )
    return out


def compressed_maxsim(
    query: np.ndarray,
    centroids: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    doc_offsets: np.ndarray,
    docs: np.ndarray,
    lut: np.ndarray,
    scores_t: np.ndarray | None = None,
    inv_norms: np.ndarray | None = None,
) -> np.ndarray:
    """Compiled :func:`compressed_maxsim_reference` (same arguments; float32 rounding may differ).

    ``scores_t``: the ``(n_centroids, n_query_tokens)`` centroid scores ``centroids @ query.T`` when
    the caller has them already (a PLAID search does); computed here otherwise. ``inv_norms``: every
    stored token's :func:`token_inverse_norms`, to score tokens divided by their norm
    (``compressed_maxsim_reference(..., normalize=True)``); ``None`` scores them as stored.
    """
    out = np.zeros(len(docs), dtype=np.float32)
    if len(docs) and query.shape[0]:
        query = np.ascontiguousarray(query, dtype=np.float32)
        if scores_t is None:
            scores_t = np.asarray(centroids, dtype=np.float32) @ query.T
        _table_maxsim(
            np.ascontiguousarray(scores_t, dtype=np.float32),
            query_byte_table(query, np.asarray(lut, dtype=np.float32)),
            np.asarray(codes),
            np.asarray(residuals),
            np.asarray(doc_offsets, dtype=np.int64),
            np.asarray(docs, dtype=np.int64),
            out,
            np.zeros(0, np.float32)
            if inv_norms is None
            else np.asarray(inv_norms, dtype=np.float32),
        )
    return out
