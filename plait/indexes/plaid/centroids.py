"""Coarse quantiser: k-means centroids and nearest-centroid assignment.

PLAID picks ``2 ** floor(log2(16 * sqrt(n_tokens)))`` centroids and trains k-means on a sample of
documents (about ``16 * sqrt(120 * n_documents)`` of them). Our k-means is plain Lloyd on float32 with
chunked matrix products, so memory stays bounded by ``chunk * n_centroids`` floats whatever the sample
size; the sample is capped at ``max_points_per_centroid * n_centroids`` points (faiss's rule). When
the training tokens are unit-norm (ColBERT's case) the centroids are re-normalised, so centroid scores
``q . c`` are cosines as PLAID expects.

>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)
>>> quantizer = CentroidQuantizer.train(x, n_centroids=16, niters=4, seed=0)
>>> quantizer.centroids.shape, quantizer.assign(x).dtype
((16, 8), dtype('int32'))
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

logger = logging.getLogger(__name__)

_CHUNK_FLOATS = 1 << 23  # score-matrix floats per chunk (32 MiB)


def default_n_centroids(n_tokens: int) -> int:
    """PLAID's rule, clamped so that every centroid can own at least one training token."""
    if n_tokens <= 0:
        raise ValueError("cannot choose a centroid count for zero tokens")
    n = 2 ** int(math.floor(math.log2(16 * math.sqrt(n_tokens))))
    cap = 2 ** int(math.floor(math.log2(n_tokens)))
    return int(max(1, min(n, cap)))


def sample_documents_count(n_documents: int) -> int:
    """PLAID's k-means sample size in documents: ``16 * sqrt(120 * n)`` (at most all of them)."""
    return int(min(n_documents, max(1, math.ceil(16 * math.sqrt(120 * n_documents)))))


def _is_unit_norm(x: np.ndarray) -> bool:
    norms = np.linalg.norm(x, axis=1)
    return bool(norms.size) and bool(np.all(np.abs(norms - 1.0) < 1e-2))


def nearest(x: np.ndarray, centroids: np.ndarray, half_sq_norms: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid (Euclidean) of each row of ``x``, int32, chunked."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.int32)
    chunk = max(1, _CHUNK_FLOATS // max(1, centroids.shape[0]))
    for start in range(0, n, chunk):
        block = np.asarray(x[start : start + chunk], dtype=np.float32)
        scores = block @ centroids.T
        scores -= half_sq_norms
        out[start : start + len(block)] = scores.argmax(axis=1)
    return out


@dataclass(frozen=True)
class CentroidQuantizer:
    """``centroids``: ``(n_centroids, dim)`` float32."""

    centroids: np.ndarray

    def __post_init__(self) -> None:
        c = np.ascontiguousarray(self.centroids, dtype=np.float32)
        if c.ndim != 2 or c.shape[0] == 0:
            raise ValueError(f"centroids must be a non-empty 2-D array, got shape {c.shape}")
        object.__setattr__(self, "centroids", c)
        object.__setattr__(self, "_half_sq", 0.5 * np.einsum("ij,ij->i", c, c))

    @property
    def n_centroids(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.centroids.shape[1])

    def assign(self, x: np.ndarray) -> np.ndarray:
        """Nearest centroid of each row: ``(n, dim)`` -> ``(n,)`` int32."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {x.shape}")
        return nearest(x, self.centroids, self._half_sq)  # type: ignore[attr-defined]

    @classmethod
    def train(
        cls,
        x: np.ndarray,
        n_centroids: int,
        *,
        niters: int = 4,
        max_points_per_centroid: int = 256,
        seed: int = 0,
        half_precision: bool = True,
    ) -> CentroidQuantizer:
        """Lloyd's k-means on (a sample of) ``x``.

        ``half_precision`` rounds the final centroids to float16 values (the index stores them as
        float16), so residuals are computed against exactly the centroids that will be stored.
        """
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[0] == 0:
            raise ValueError(f"k-means needs a non-empty (n, dim) array, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("k-means input contains NaN or infinite values")
        n_centroids = int(min(n_centroids, x.shape[0]))
        rng = np.random.default_rng(seed)
        cap = max_points_per_centroid * n_centroids
        if x.shape[0] > cap:
            x = x[np.sort(rng.choice(x.shape[0], cap, replace=False))]
        centroids = x[rng.choice(x.shape[0], n_centroids, replace=False)].copy()
        for it in range(niters):
            centroids = _lloyd_step(x, centroids, rng)
            logger.debug("k-means iteration %d/%d done", it + 1, niters)
        if _is_unit_norm(x):
            norms = np.linalg.norm(centroids, axis=1, keepdims=True)
            centroids = centroids / np.maximum(norms, 1e-12)
        if half_precision and np.all(np.abs(centroids) < 6e4):
            centroids = centroids.astype(np.float16).astype(np.float32)
        return cls(centroids)


def _lloyd_step(x: np.ndarray, centroids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One assignment + update; empty clusters are re-seeded with random points."""
    half_sq = 0.5 * np.einsum("ij,ij->i", centroids, centroids)
    codes = nearest(x, centroids, half_sq)
    k = centroids.shape[0]
    n = x.shape[0]
    # cluster sums as a sparse (k, n) one-hot matrix times x: no (n, dim) temporary copies
    onehot = sparse.csr_matrix((np.ones(n, dtype=np.float32), (codes, np.arange(n))), shape=(k, n))
    sums = np.asarray(onehot @ x, dtype=np.float32)
    counts = np.bincount(codes, minlength=k)
    new = centroids.copy()
    filled = counts > 0
    new[filled] = sums[filled] / counts[filled, None].astype(np.float32)
    empty = np.flatnonzero(~filled)
    if empty.size:
        new[empty] = x[rng.choice(n, empty.size, replace=empty.size > n)]
    return new
