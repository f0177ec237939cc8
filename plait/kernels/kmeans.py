"""Kernels of nearest-centroid assignment (k-means training and PLAID encoding).

The two-level search in :class:`plait.indexes.plaid.centroids.CoarseGroups` multiplies blocks of
points by the centroids of one group (BLAS) and needs two small steps around those multiplies:

* :func:`top_columns`: the ``p`` best columns of every row of a score matrix (the ``p`` groups a
  point probes); one pass per row keeping a tiny sorted list, instead of ``np.argpartition``,
  which costs more than the group multiply itself at ``p = 4`` of ~90 columns;
* :func:`update_best`: for a block of points (``rows``) scored against a group's centroids, the
  best ``score - half_sq`` per point, written into the running ``best`` / ``idx`` arrays when it
  beats them (a fused argmax + scatter; numpy needs five passes and temporaries for it).

Each has a ``*_reference`` numpy version; tests compare them on random inputs.
"""

from __future__ import annotations

import numba
import numpy as np


# ----------------------------------------------------------------------------- top columns
def top_columns_reference(scores: np.ndarray, p: int) -> np.ndarray:
    """``(n, p)`` int32: the ``p`` largest columns of each row, best first (ties: lower column)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :p]
    return order.astype(np.int32)


@numba.njit(cache=True, nogil=True)
def _top_columns(
    scores: np.ndarray, p: int, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    n, m = scores.shape
    vals = np.empty(p, dtype=np.float32)
    for i in range(n):
        filled = 0
        for j in range(m):
            v = scores[i, j]
            if filled == p and v <= vals[p - 1]:
                continue
            pos = filled if filled < p else p - 1
            while pos > 0 and vals[pos - 1] < v:  # insertion: strictly better moves up
                vals[pos] = vals[pos - 1]
                out[i, pos] = out[i, pos - 1]
                pos -= 1
            vals[pos] = v
            out[i, pos] = j
            if filled < p:
                filled += 1


def top_columns(scores: np.ndarray, p: int) -> np.ndarray:
    """Compiled :func:`top_columns_reference` (same result; ``p`` is clipped to the column count)."""
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    p = int(min(p, scores.shape[1]))
    out = np.zeros((scores.shape[0], p), dtype=np.int32)
    if scores.shape[0] and p:
        _top_columns(scores, p, out)
    return out


# ----------------------------------------------------------------------------- fused argmax + update
def update_best_reference(
    scores: np.ndarray,
    half_sq: np.ndarray,
    rows: np.ndarray,
    members: np.ndarray,
    best: np.ndarray,
    idx: np.ndarray,
) -> None:
    """Update ``best`` and ``idx`` in place from one block of scores (the reference).

    For block row ``i`` (point ``rows[i]``), ``j = argmax(scores[i] - half_sq)`` (first on ties);
    if that value beats ``best[rows[i]]``, set it there and ``idx[rows[i]] = members[j]``.
    """
    shifted = scores - half_sq
    arg = shifted.argmax(axis=1)
    value = shifted[np.arange(len(rows)), arg]
    better = value > best[rows]
    best[rows[better]] = value[better]
    idx[rows[better]] = members[arg[better]]


@numba.njit(cache=True, nogil=True)
def _update_best(
    scores: np.ndarray,
    half_sq: np.ndarray,
    rows: np.ndarray,
    members: np.ndarray,
    best: np.ndarray,
    idx: np.ndarray,
) -> None:  # pragma: no cover - compiled
    n, m = scores.shape
    for i in range(n):
        top = scores[i, 0] - half_sq[0]
        arg = 0
        for j in range(1, m):
            v = scores[i, j] - half_sq[j]
            if v > top:
                top = v
                arg = j
        r = rows[i]
        if top > best[r]:
            best[r] = top
            idx[r] = members[arg]


def update_best(
    scores: np.ndarray,
    half_sq: np.ndarray,
    rows: np.ndarray,
    members: np.ndarray,
    best: np.ndarray,
    idx: np.ndarray,
) -> None:
    """Compiled :func:`update_best_reference` (``best`` float32, ``idx`` int32, updated in place)."""
    if scores.shape[0] and scores.shape[1]:
        _update_best(
            np.ascontiguousarray(scores, dtype=np.float32),
            np.ascontiguousarray(half_sq, dtype=np.float32),
            np.asarray(rows, dtype=np.int64),
            np.asarray(members, dtype=np.int64),
            best,
            idx,
        )
