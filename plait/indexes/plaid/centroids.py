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

from plait.kernels.kmeans import top_columns, update_best

logger = logging.getLogger(__name__)

_CHUNK_FLOATS = 1 << 23  # score-matrix floats per chunk (32 MiB)
TWO_LEVEL_FROM = 4096  # from this many centroids on, assignment uses CoarseGroups
ASSIGN_PROBES = 32  # CoarseGroups probed per token when encoding (see CoarseGroups)
_GROUP_BLOCK_ROWS = 1 << 14  # points multiplied by one group's centroids at a time


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


class CoarseGroups:
    """Two-level search structure over centroids.

    ``sqrt(K)`` groups are found by k-means on the centroids themselves. A vector is compared with
    the group centres, then only with the centroids of its ``n_probe`` best groups: about
    ``(sqrt(K) + n_probe * sqrt(K)) * dim`` multiply-adds instead of ``K * dim``, and (tested) the
    same nearest centroid on clustered data almost always.

    ``ASSIGN_PROBES`` groups are probed when tokens are encoded into an index: a token given a
    centroid that is not its nearest gets a larger residual, which the few-bit codec then stores
    badly. Measured on 6.8M synthetic tokens (32,768 centroids): 1.2% of tokens got a farther
    centroid at 8 probes, 0.05% at 32, and 2-bit recall@10 against exact rose 0.942 -> 0.946.
    k-means training, which only needs good-enough clusters, probes 4.
    """

    def __init__(self, centroids: np.ndarray, n_probe: int = ASSIGN_PROBES, seed: int = 0) -> None:
        n_groups = max(1, int(round(math.sqrt(centroids.shape[0]))))
        rng = np.random.default_rng(seed)
        centres = centroids[rng.choice(centroids.shape[0], n_groups, replace=False)].copy()
        for _ in range(10):
            centres = _lloyd_update(centroids, centres, rng)
        self.centroids = centroids
        self.half_sq = 0.5 * np.einsum("ij,ij->i", centroids, centroids)
        self.centres = centres
        self.centres_half_sq = 0.5 * np.einsum("ij,ij->i", centres, centres)
        groups = nearest(centroids, centres, self.centres_half_sq)
        self.members = [np.flatnonzero(groups == g) for g in range(n_groups)]
        self.group_centroids = [np.ascontiguousarray(centroids[m]) for m in self.members]
        self.n_probe = int(min(n_probe, n_groups))

    def nearest(self, x: np.ndarray) -> np.ndarray:
        """Nearest centroid (among the probed groups' members) of each row of ``x``, int32.

        Group-major: every point's ``n_probe`` groups are found first, then each group's points
        are multiplied by its centroids in blocks of up to ``_GROUP_BLOCK_ROWS`` (large multiplies
        run near the BLAS peak; the per-chunk blocks of ~3k rows this replaced ran at ~1/4 of it).
        """
        n = x.shape[0]
        best = np.full(n, -np.inf, dtype=np.float32)
        idx = np.zeros(n, dtype=np.int32)
        if n == 0:
            return idx
        top = np.empty((n, self.n_probe), dtype=np.int32)
        chunk = max(1, _CHUNK_FLOATS // max(1, len(self.members)))
        for start in range(0, n, chunk):
            block = np.asarray(x[start : start + chunk], dtype=np.float32)
            group_scores = block @ self.centres.T
            group_scores -= self.centres_half_sq
            top[start : start + len(block)] = top_columns(group_scores, self.n_probe)
        flat = top.ravel()
        order = np.argsort(flat, kind="stable")
        rows = order // self.n_probe
        bounds = np.searchsorted(flat[order], np.arange(len(self.members) + 1))
        for g, members in enumerate(self.members):
            if not len(members):
                continue
            group = self.group_centroids[g]
            step = max(1, min(_GROUP_BLOCK_ROWS, _CHUNK_FLOATS // len(members)))
            for start in range(bounds[g], bounds[g + 1], step):
                r = rows[start : min(start + step, bounds[g + 1])]
                scores = np.asarray(x[r], dtype=np.float32) @ group.T
                update_best(scores, self.half_sq[members], r, members, best, idx)
        return idx


def int8_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 quantisation with one float32 scale per row: ``x ~ q * scale[:, None]``."""
    scale = (np.abs(x).max(axis=1) / 127.0).astype(np.float32)
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(x / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale


def from_int8_rows(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Return the float32 rows ``q * scale[:, None]`` (the inverse of :func:`int8_rows`)."""
    return q.astype(np.float32) * scale.astype(np.float32)[:, None]


@dataclass(frozen=True)
class CentroidQuantizer:
    """The centroids of a PLAID index (its coarse quantizer) and the nearest-centroid search.

    Attributes
    ----------
    centroids
        ``(n_centroids, dim)`` float32.
    int8
        When set, ``(q, scale)`` with ``centroids == q * scale[:, None]`` exactly: the compact form
        the index stores (about 1 byte per centroid dimension instead of 4).

    Notes
    -----
    ``unit_norm`` is true when every centroid has unit norm, which :meth:`train` arranges exactly
    when the training vectors were unit-norm (ColBERT's case): decoded tokens are then divided by
    their norm (see :mod:`plait.kernels.plaid_decompress`). Derived, so indexes written before the
    flag existed get it too.
    """

    centroids: np.ndarray
    int8: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        c = np.ascontiguousarray(self.centroids, dtype=np.float32)
        if c.ndim != 2 or c.shape[0] == 0:
            raise ValueError(f"centroids must be a non-empty 2-D array, got shape {c.shape}")
        object.__setattr__(self, "centroids", c)
        sq = np.einsum("ij,ij->i", c, c)
        object.__setattr__(self, "_sq", sq)
        object.__setattr__(self, "_half_sq", 0.5 * sq)
        object.__setattr__(self, "_unit", _is_unit_norm(c))

    @property
    def sq_norms(self) -> np.ndarray:
        """``(n_centroids,)`` float32 squared norms."""
        return self._sq  # type: ignore[attr-defined,no-any-return]

    @property
    def unit_norm(self) -> bool:
        """Whether every centroid has unit norm (decoded tokens are then renormalised)."""
        return bool(self._unit)  # type: ignore[attr-defined]

    @property
    def n_centroids(self) -> int:
        """Number of centroids."""
        return int(self.centroids.shape[0])

    @property
    def dim(self) -> int:
        """Dimension of the centroids."""
        return int(self.centroids.shape[1])

    def assign(self, x: np.ndarray, *, exact: bool | None = None) -> np.ndarray:
        """Return the nearest centroid of each row: ``(n, dim)`` -> ``(n,)`` int32.

        ``exact=None`` searches all centroids below ``TWO_LEVEL_FROM`` centroids and uses the
        two-level :class:`CoarseGroups` search above (``True`` / ``False`` force either).
        """
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {x.shape}")
        if exact is None:
            exact = self.n_centroids < TWO_LEVEL_FROM
        if exact:
            return nearest(x, self.centroids, self._half_sq)  # type: ignore[attr-defined]
        groups = self.__dict__.get("_groups")
        if groups is None:
            groups = CoarseGroups(self.centroids)
            object.__setattr__(self, "_groups", groups)
        return groups.nearest(x)

    @classmethod
    def train(
        cls,
        x: np.ndarray,
        n_centroids: int,
        *,
        niters: int = 4,
        max_points_per_centroid: int = 256,
        seed: int = 0,
        int8_storage: bool = True,
    ) -> CentroidQuantizer:
        """Lloyd's k-means on (a sample of) ``x``.

        ``int8_storage`` rounds the final centroids to int8 values with a per-centroid scale (what
        the index stores), so residuals are computed against exactly the stored centroids.
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
        if int8_storage:
            q, scale = int8_rows(centroids)
            return cls(from_int8_rows(q, scale), int8=(q, scale))
        return cls(centroids)


def _lloyd_step(x: np.ndarray, centroids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One assignment (two-level when there are many centroids) + update."""
    if centroids.shape[0] >= TWO_LEVEL_FROM:  # 4 probes suffice while training
        codes = CoarseGroups(centroids, n_probe=4).nearest(x)
    else:
        codes = nearest(x, centroids, 0.5 * np.einsum("ij,ij->i", centroids, centroids))
    return _update(x, centroids, codes, rng)


def _lloyd_update(x: np.ndarray, centroids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    codes = nearest(x, centroids, 0.5 * np.einsum("ij,ij->i", centroids, centroids))
    return _update(x, centroids, codes, rng)


def _update(
    x: np.ndarray, centroids: np.ndarray, codes: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Cluster means; empty clusters are re-seeded with random points."""
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
