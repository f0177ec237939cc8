"""Nearest-codeword assignment of a product quantiser (PLAID's residual encoding and its k-means).

A vector of ``n_sub * sub_dim`` floats is split into ``n_sub`` consecutive sub-vectors; sub-vector
``j`` is encoded as the index of its nearest (squared L2) codeword among ``codewords[j]``
(``(n_sub, n_codes, sub_dim)``, ``n_codes <= 256``).

:func:`nearest_codewords` (numba: one pass over the codewords per sub-vector, nothing the size of
``n * n_codes`` materialised) must equal :func:`nearest_codewords_reference` (numpy broadcasting);
ties go to the lower codeword index in both. A test compares them on random inputs.
"""

from __future__ import annotations

import numba
import numpy as np

from plait.kernels.threads import get_num_threads, worker_pool

PARALLEL_ROWS = 4096  # rows per thread below which one thread encodes them all


def nearest_codewords_reference(x: np.ndarray, codewords: np.ndarray) -> np.ndarray:
    """Slow reference: ``(n, n_sub)`` uint8 index of the nearest codeword of each sub-vector."""
    n_sub, _, sub_dim = codewords.shape
    parts = np.asarray(x, dtype=np.float32).reshape(len(x), n_sub, 1, sub_dim)
    dist = ((parts - codewords[None]) ** 2).sum(axis=3)  # (n, n_sub, n_codes)
    return dist.argmin(axis=2).astype(np.uint8)


@numba.njit(cache=True, nogil=True)
def _nearest(x: np.ndarray, by_dim: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    # by_dim: (n_sub, sub_dim, n_codes), so the loop over codewords runs over contiguous memory
    n_sub, sub_dim, n_codes = by_dim.shape
    dist = np.empty(n_codes, dtype=np.float32)
    for i in range(x.shape[0]):
        for j in range(n_sub):
            base = j * sub_dim
            dist[:] = 0.0
            for k in range(sub_dim):
                v = x[i, base + k]
                for c in range(n_codes):
                    diff = v - by_dim[j, k, c]
                    dist[c] += diff * diff
            best = dist[0]
            arg = 0
            for c in range(1, n_codes):
                if dist[c] < best:
                    best = dist[c]
                    arg = c
            out[i, j] = arg


def nearest_codewords(x: np.ndarray, codewords: np.ndarray) -> np.ndarray:
    """Compiled :func:`nearest_codewords_reference` (same arguments, same result)."""
    codewords = np.ascontiguousarray(codewords, dtype=np.float32)
    if codewords.shape[1] > 256:
        raise ValueError(f"at most 256 codewords per sub-vector, got {codewords.shape[1]}")
    out = np.empty((len(x), codewords.shape[0]), dtype=np.uint8)
    if not len(x):
        return out
    by_dim = np.ascontiguousarray(codewords.transpose(0, 2, 1))
    x = np.ascontiguousarray(x, dtype=np.float32)
    workers = min(get_num_threads(), len(x) // PARALLEL_ROWS)
    if workers <= 1:
        _nearest(x, by_dim, out)
        return out
    bounds = np.linspace(0, len(x), workers + 1).astype(np.int64)
    parts = list(zip(bounds[:-1], bounds[1:], strict=True))
    # rows are independent and the kernel releases the GIL: one block of rows per thread
    list(
        worker_pool("pq-encode", workers).map(
            lambda p: _nearest(x[p[0] : p[1]], by_dim, out[p[0] : p[1]]), parts
        )
    )
    return out
