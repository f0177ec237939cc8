"""ColBERTv2 residual codec: ``vector = centroid + quantised residual``.

Each token is stored as the code of its nearest centroid (see :mod:`.centroids`) plus its residual
``x - centroid`` quantised per dimension into ``2**nbits`` buckets. Bucket *cutoffs* (where one bucket
ends and the next begins) and bucket *weights* (the value a bucket decodes to) are learnt per
dimension from held-out residuals, at quantiles ``i / B`` and ``(i + 0.5) / B`` as in ColBERTv2.
With enough samples the tables are then refined by Lloyd-Max iterations (weights = bucket means,
cutoffs = midpoints). With fewer than ``POOL_BELOW`` samples the per-dimension tails would be poorly estimated, so the
quantiles are taken over all dimensions pooled after standardising each, then rescaled per dimension.
Bucket indices are bit-packed, ``nbits`` bits per dimension, most significant bit first, into
``dim * nbits / 8`` bytes per token.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> residuals = rng.normal(scale=0.05, size=(1000, 16)).astype(np.float32)
>>> codec = ResidualCodec.train(residuals, nbits=2)
>>> packed = codec.encode(residuals)
>>> packed.shape, packed.dtype
((1000, 4), dtype('uint8'))
>>> codec.decode(packed).shape
(1000, 16)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plait.kernels.pq import nearest_codewords

SUPPORTED_NBITS = (1, 2, 4, 8)
LLOYD_SAMPLE = 1 << 14  # rows used by the Lloyd-Max refinement
POOL_BELOW = 2048  # fewer residual samples than this: per-dimension scale, pooled quantile shape


def check_nbits(nbits: int, dim: int | None = None) -> int:
    """Validate ``nbits`` (and that ``dim * nbits`` fills whole bytes)."""
    if nbits not in SUPPORTED_NBITS:
        raise ValueError(f"nbits must be one of {SUPPORTED_NBITS}, got {nbits!r}")
    if dim is not None and (dim * nbits) % 8:
        raise ValueError(
            f"dim * nbits must be a multiple of 8 to pack residuals (dim={dim}, nbits={nbits})"
        )
    return int(nbits)


@dataclass(frozen=True)
class ResidualCodec:
    """Per-dimension bucket quantiser for residuals.

    ``cutoffs``: ``(dim, 2**nbits - 1)`` float32, ascending per row.
    ``weights``: ``(dim, 2**nbits)`` float32, the decoded value of each bucket.
    """

    nbits: int
    cutoffs: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        check_nbits(self.nbits, self.dim)
        buckets = 1 << self.nbits
        if self.cutoffs.shape != (self.dim, buckets - 1) or self.weights.shape != (
            self.dim,
            buckets,
        ):
            raise ValueError(
                f"codec tables have shapes {self.cutoffs.shape} / {self.weights.shape}, expected "
                f"({self.dim}, {buckets - 1}) / ({self.dim}, {buckets})"
            )
        object.__setattr__(self, "_lut", _byte_lut(self.weights, self.nbits))

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.weights.shape[0])

    @property
    def bytes_per_token(self) -> int:
        """Bytes of one packed residual: ``dim * nbits / 8``."""
        return self.dim * self.nbits // 8

    @classmethod
    def train(cls, residuals: np.ndarray, nbits: int, *, lloyd_iters: int = 10) -> ResidualCodec:
        """Learn cutoffs and weights from sample residuals ``(n, dim)``.

        ColBERTv2's quantile tables are the starting point; for ``nbits <= 4`` (and enough samples)
        ``lloyd_iters`` Lloyd-Max iterations per dimension then move each weight to the mean of its
        bucket and each cutoff to the midpoint of its neighbouring weights, which lowers the squared
        reconstruction error by about 30% at 2 bits on ColBERT embeddings.
        """
        residuals = np.asarray(residuals, dtype=np.float32)
        if residuals.ndim != 2 or residuals.shape[0] == 0:
            raise ValueError(
                f"residuals must be a non-empty (n, dim) array, got shape {residuals.shape}"
            )
        check_nbits(nbits, residuals.shape[1])
        buckets = 1 << nbits
        cut_q = np.arange(1, buckets, dtype=np.float64) / buckets
        weight_q = (np.arange(buckets, dtype=np.float64) + 0.5) / buckets
        if residuals.shape[0] >= POOL_BELOW:
            cutoffs = np.quantile(residuals, cut_q, axis=0).T
            weights = np.quantile(residuals, weight_q, axis=0).T
        else:  # few samples: pool the standardised dimensions so the tails are estimated well
            mean, std = residuals.mean(axis=0), residuals.std(axis=0) + 1e-12
            pooled = ((residuals - mean) / std).ravel()
            cutoffs = mean[:, None] + std[:, None] * np.quantile(pooled, cut_q)[None, :]
            weights = mean[:, None] + std[:, None] * np.quantile(pooled, weight_q)[None, :]
        cutoffs, weights = cutoffs.astype(np.float32), weights.astype(np.float32)
        if residuals.shape[0] >= POOL_BELOW and nbits <= 4 and lloyd_iters > 0:
            sample = residuals[:: max(1, residuals.shape[0] // LLOYD_SAMPLE)]
            cutoffs, weights = _lloyd_max(sample, weights, lloyd_iters)
        return cls(nbits, np.ascontiguousarray(cutoffs), np.ascontiguousarray(weights))

    # ------------------------------------------------------------------ encode / decode
    def buckets(self, residuals: np.ndarray) -> np.ndarray:
        """Bucket index ``(n, dim)`` uint8 of each residual component."""
        residuals = np.asarray(residuals, dtype=np.float32)
        if residuals.ndim != 2 or residuals.shape[1] != self.dim:
            raise ValueError(f"residuals must have shape (n, {self.dim}), got {residuals.shape}")
        out = np.zeros(residuals.shape, dtype=np.uint8)
        for j in range(self.cutoffs.shape[1]):  # 2**nbits - 1 comparisons, vectorised over (n, dim)
            out += residuals >= self.cutoffs[:, j]
        return out

    def encode(self, residuals: np.ndarray) -> np.ndarray:
        """Quantise and bit-pack: ``(n, dim)`` float -> ``(n, dim * nbits / 8)`` uint8."""
        return pack_buckets(self.buckets(residuals), self.nbits)

    def decode(self, packed: np.ndarray) -> np.ndarray:
        """Unpack to decoded residuals ``(n, dim)`` float32 (bucket weights)."""
        packed = np.asarray(packed)
        if packed.ndim != 2 or packed.shape[1] != self.bytes_per_token or packed.dtype != np.uint8:
            raise ValueError(
                f"packed residuals must be uint8 of shape (n, {self.bytes_per_token}), "
                f"got {packed.dtype} {packed.shape}"
            )
        lut: np.ndarray = self._lut  # type: ignore[attr-defined]
        cols = np.arange(packed.shape[1])
        return lut[cols, packed].reshape(packed.shape[0], self.dim)

    @property
    def lut(self) -> np.ndarray:
        """``(bytes_per_token, 256, 8 // nbits)`` float32: decoded dims of every possible byte."""
        return self._lut  # type: ignore[attr-defined,no-any-return]

    def to_codec_space(self, x: np.ndarray) -> np.ndarray:
        """Vectors in the coordinates :attr:`lut` decodes to: the embedding's own (no rotation)."""
        return np.asarray(x, dtype=np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the tables to store, by file role (read back by :func:`codec_from_arrays`)."""
        return {"bucket_cutoffs": self.cutoffs, "bucket_weights": self.weights}


def _lloyd_max(
    residuals: np.ndarray, weights: np.ndarray, iters: int
) -> tuple[np.ndarray, np.ndarray]:
    """1-D Lloyd-Max quantiser per dimension (all dimensions at once), started from ``weights``."""
    w = weights.astype(np.float64)
    for _ in range(iters):
        cut = (w[:, :-1] + w[:, 1:]) / 2
        buckets = np.zeros(residuals.shape, dtype=np.int64)
        for j in range(cut.shape[1]):
            buckets += residuals >= cut[:, j]
        for b in range(w.shape[1]):
            mask = buckets == b
            count = mask.sum(axis=0)
            total = np.where(mask, residuals, 0).sum(axis=0, dtype=np.float64)
            w[:, b] = np.where(count > 0, total / np.maximum(count, 1), w[:, b])
    w = np.sort(w, axis=1)
    return ((w[:, :-1] + w[:, 1:]) / 2).astype(np.float32), w.astype(np.float32)


def pack_buckets(buckets: np.ndarray, nbits: int) -> np.ndarray:
    """Pack ``(n, dim)`` bucket indices (< 2**nbits) into ``(n, dim * nbits / 8)`` uint8, MSB first."""
    n, dim = buckets.shape
    shifts = np.arange(nbits - 1, -1, -1, dtype=np.uint8)
    bits = (buckets[:, :, None] >> shifts) & 1  # (n, dim, nbits)
    return np.packbits(bits.reshape(n, dim * nbits).astype(np.uint8), axis=1)


def unpack_buckets(packed: np.ndarray, nbits: int, dim: int) -> np.ndarray:
    """Inverse of :func:`pack_buckets`."""
    n = packed.shape[0]
    bits = np.unpackbits(packed, axis=1)[:, : dim * nbits].reshape(n, dim, nbits)
    shifts = np.arange(nbits - 1, -1, -1, dtype=np.uint8)
    return (bits << shifts).sum(axis=2).astype(np.uint8)


def _byte_lut(weights: np.ndarray, nbits: int) -> np.ndarray:
    """Return the decoded values of every byte value at every byte position of a packed token."""
    dim = weights.shape[0]
    per_byte = 8 // nbits
    values = np.arange(256, dtype=np.uint8)[:, None]
    shifts = (8 - nbits * (np.arange(per_byte) + 1)).astype(np.uint8)
    bucket = (values >> shifts) & ((1 << nbits) - 1)  # (256, per_byte)
    lut = np.empty((dim // per_byte, 256, per_byte), dtype=np.float32)
    for b in range(dim // per_byte):
        dims = b * per_byte + np.arange(per_byte)
        lut[b] = weights[dims[None, :], bucket]
    return lut


# ---------------------------------------------------------------------------- product quantiser
PQ_CODES = 256  # codewords per sub-vector: one byte each
PQ_KMEANS_ITERS = 16
PQ_SAMPLE = 1 << 15  # residuals the codewords are learnt on, at most
PQ_MIN_SAMPLES = 4 * PQ_CODES  # fewer sample residuals: the per-dimension codec


@dataclass(frozen=True)
class ProductCodec:
    """Residuals as ``dim * nbits / 8`` one-byte codes of a product quantiser, in a rotated basis.

    The residual is rotated (``x @ rotation``; ``rotation`` orthogonal ``(dim, dim)``) and cut into
    ``bytes_per_token`` sub-vectors of ``8 // nbits`` dimensions; each is stored as the index of its
    nearest of 256 learnt codewords (``codewords``: ``(bytes_per_token, 256, 8 // nbits)``). The
    rotation is the residuals' principal axes, dealt out round-robin (sub-vector ``j`` takes axes
    ``j, j + n_sub, ...``) so every byte carries a similar share of the variance.

    Same bytes per token as :class:`ResidualCodec` at the same ``nbits``, and the same lookup
    table for scoring (``lut`` is ``codewords``: the per-byte tables of
    :mod:`plait.kernels.plaid_decompress` work unchanged, in the rotated coordinates), but about 40%
    less squared reconstruction error on ColBERT residuals: a 4-d vector quantiser places its 256
    codewords where the residuals are, where 2 bits per dimension tile a fixed grid. Measured on
    SciFact train queries (MiniLM ColBERT, 8,192 centroids, nbits=2): exact MaxSim over the decoded
    vectors has recall@10 0.937 against the original vectors' top 10, the scalar codec 0.910
    (benchmarks/log/2026-12-04.md).
    """

    nbits: int
    rotation: np.ndarray
    codewords: np.ndarray

    def __post_init__(self) -> None:
        if self.rotation.ndim != 2 or self.codewords.ndim != 3:
            raise ValueError(
                f"product codec tables must be 2-d / 3-d, got {self.rotation.ndim}-d / "
                f"{self.codewords.ndim}-d"
            )
        dim = self.dim
        check_nbits(self.nbits, dim)
        expected = (dim * self.nbits // 8, PQ_CODES, 8 // self.nbits)
        if self.rotation.shape != (dim, dim) or self.codewords.shape != expected:
            raise ValueError(
                f"product codec tables have shapes {self.rotation.shape} / {self.codewords.shape}, "
                f"expected ({dim}, {dim}) / {expected}"
            )
        if not np.all(np.isfinite(self.codewords)) or not np.allclose(
            self.rotation.T @ self.rotation, np.eye(dim), atol=1e-3
        ):
            raise ValueError(
                "the product codec's rotation is not orthogonal or its codewords are not finite"
            )

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return int(self.rotation.shape[0])

    @property
    def bytes_per_token(self) -> int:
        """Bytes of one encoded residual: one per sub-vector, ``dim * nbits / 8``."""
        return self.dim * self.nbits // 8

    @property
    def lut(self) -> np.ndarray:
        """``(bytes_per_token, 256, 8 // nbits)`` float32: the codewords, in rotated coordinates."""
        return self.codewords

    def to_codec_space(self, x: np.ndarray) -> np.ndarray:
        """Vectors in the rotated coordinates :attr:`lut` decodes to (dot products unchanged)."""
        return np.asarray(x, dtype=np.float32) @ self.rotation

    def arrays(self) -> dict[str, np.ndarray]:
        """Return the tables to store, by file role (read back by :func:`codec_from_arrays`)."""
        return {"pq_rotation": self.rotation, "pq_codewords": self.codewords}

    @classmethod
    def train(cls, residuals: np.ndarray, nbits: int, *, seed: int = 0) -> ProductCodec:
        """Learn the rotation and the codewords from sample residuals ``(n, dim)``."""
        residuals = _sample_rows(residuals, seed)
        dim = residuals.shape[1]
        check_nbits(nbits, dim)
        n_sub = dim * nbits // 8
        moments = residuals.astype(np.float64).T @ residuals.astype(np.float64)
        values, vectors = np.linalg.eigh(moments / len(residuals))
        axes = vectors[:, np.argsort(-values, kind="stable")]
        # axis a goes to sub-vector a % n_sub: the strongest axes are spread over all bytes
        order = np.argsort(np.arange(dim) % n_sub, kind="stable")
        rotation = np.ascontiguousarray(axes[:, order], dtype=np.float32)
        rotated = residuals @ rotation
        rng = np.random.default_rng(seed)
        codewords = np.stack(
            [
                _kmeans(rotated[:, j * (8 // nbits) : (j + 1) * (8 // nbits)], rng)
                for j in range(n_sub)
            ]
        )
        return cls(nbits, rotation, codewords)

    def encode(self, residuals: np.ndarray) -> np.ndarray:
        """Encode ``(n, dim)`` residuals as ``(n, bytes_per_token)`` uint8 codeword indices."""
        residuals = np.asarray(residuals, dtype=np.float32)
        if residuals.ndim != 2 or residuals.shape[1] != self.dim:
            raise ValueError(f"residuals must have shape (n, {self.dim}), got {residuals.shape}")
        return nearest_codewords(self.to_codec_space(residuals), self.codewords)

    def decode(self, packed: np.ndarray) -> np.ndarray:
        """Decode to residuals ``(n, dim)`` float32, in the embedding's own coordinates."""
        packed = np.asarray(packed)
        if packed.ndim != 2 or packed.shape[1] != self.bytes_per_token or packed.dtype != np.uint8:
            raise ValueError(
                f"encoded residuals must be uint8 of shape (n, {self.bytes_per_token}), "
                f"got {packed.dtype} {packed.shape}"
            )
        rotated = self.codewords[np.arange(packed.shape[1]), packed].reshape(len(packed), self.dim)
        return rotated @ self.rotation.T


Codec = ResidualCodec | ProductCodec
TABLE_ROLES = ("pq_rotation", "pq_codewords", "bucket_cutoffs", "bucket_weights")  # file roles


def train_residual_codec(residuals: np.ndarray, nbits: int, *, seed: int = 0) -> Codec:
    """Train the residual codec a new PLAID codebook gets.

    A :class:`ProductCodec` when there are at least ``PQ_MIN_SAMPLES`` sample residuals (4 per
    codeword); with fewer, 256 codewords per sub-vector would fit the sample rather than the data,
    and the per-dimension :class:`ResidualCodec` (2**nbits values per dimension) is used. On
    SciFact residuals (nbits=2, squared error on held-out residuals) the product codec learnt from
    1,024 samples has 0.037 against the per-dimension codec's 0.065; from 32,768, 0.028 and 0.047.
    """
    if len(residuals) >= PQ_MIN_SAMPLES:
        return ProductCodec.train(residuals, nbits, seed=seed)
    return ResidualCodec.train(residuals, nbits)


def codec_from_arrays(nbits: int, arrays: dict[str, np.ndarray]) -> Codec:
    """Rebuild a codec from :meth:`arrays` (``ValueError`` when they are incomplete or inconsistent)."""
    if "pq_codewords" in arrays or "pq_rotation" in arrays:
        if "pq_codewords" not in arrays or "pq_rotation" not in arrays:
            raise ValueError("a product codec needs both pq_rotation and pq_codewords")
        return ProductCodec(nbits, arrays["pq_rotation"], arrays["pq_codewords"])
    if "bucket_cutoffs" not in arrays or "bucket_weights" not in arrays:
        raise ValueError("no codec tables (pq_* or bucket_*)")
    return ResidualCodec(nbits, arrays["bucket_cutoffs"], arrays["bucket_weights"])


def _sample_rows(residuals: np.ndarray, seed: int) -> np.ndarray:
    residuals = np.asarray(residuals, dtype=np.float32)
    if residuals.ndim != 2 or residuals.shape[0] == 0:
        raise ValueError(
            f"residuals must be a non-empty (n, dim) array, got shape {residuals.shape}"
        )
    if len(residuals) > PQ_SAMPLE:
        rows = np.random.default_rng(seed).choice(len(residuals), PQ_SAMPLE, replace=False)
        residuals = residuals[np.sort(rows)]
    return np.ascontiguousarray(residuals)


def _kmeans(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(PQ_CODES, d)`` codewords: Lloyd's k-means on ``points`` from distinct sample points.

    With fewer distinct points than codewords, every distinct point is a codeword (the rest repeat
    them). A codeword left without points keeps its place.
    """
    distinct = np.unique(points, axis=0)
    if len(distinct) <= PQ_CODES:
        return np.ascontiguousarray(distinct[np.arange(PQ_CODES) % len(distinct)])
    centers = distinct[rng.choice(len(distinct), PQ_CODES, replace=False)].astype(np.float32)
    for _ in range(PQ_KMEANS_ITERS):
        assign = nearest_codewords(points, centers[None])[:, 0]
        counts = np.bincount(assign, minlength=PQ_CODES)
        sums = np.stack(
            [
                np.bincount(assign, weights=points[:, k], minlength=PQ_CODES)
                for k in range(points.shape[1])
            ],
            axis=1,
        )
        filled = counts > 0
        centers[filled] = (sums[filled] / counts[filled, None]).astype(np.float32)
    return np.ascontiguousarray(centers)
