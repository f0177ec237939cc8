"""Incremental maintenance of a PLAID codebook: new centroids for the tokens the old ones fit badly.

A PLAID index keeps only compressed vectors, so it never re-trains behind the user's back: a codec
trained on decoded vectors would compound the compression error with every cycle. An add instead
follows one documented policy, on the ORIGINAL vectors of the documents being added (WARP's
``min_outliers`` / ``max_growth_rate``):

1. every new token is assigned to its nearest centroid; its residual norm is compared with
   ``outlier_residual_norm``, the 99th percentile of the residual norms the codec was trained on
   (indexes trained before it was recorded use twice the mean training norm);
2. when at least ``min_outliers`` tokens are outliers, k-means on those tokens alone adds
   ``ceil(outliers / tokens_per_centroid)`` centroids (``tokens_per_centroid``: the training ratio),
   at most ``max_growth_rate`` times the current number, and the outliers are assigned again;
3. every new token is encoded with the unchanged residual codec. Stored tokens are never touched:
   their codes still name the same centroids, which keep their positions.

The cost is proportional to what is added. What happened is returned in an :class:`AddReport`
(``PLAID.last_add``; ``plait add`` prints it). When even after growing the new tokens' mean residual
norm exceeds ``codec_drift_threshold`` times the training one, the report says the codec no longer
fits; re-training is then the user's explicit decision (:meth:`plait.indexes.PLAID.retrain`, which
asks for the original embeddings).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from plait.indexes.plaid.centroids import CentroidQuantizer

OUTLIER_QUANTILE = 0.99  # of the training residual norms: the outlier threshold
FALLBACK_OUTLIER_FACTOR = 2.0  # times the mean training norm, for indexes without the quantile


@dataclass(frozen=True)
class GrowthPolicy:
    """When an add may grow the codebook, and by how much.

    ``min_outliers``: fewest outlier tokens that make new centroids; ``max_growth_rate``: most new
    centroids per add, as a fraction of the current number (``0`` never grows).
    """

    min_outliers: int = 64
    max_growth_rate: float = 0.25

    def __post_init__(self) -> None:
        if not isinstance(self.min_outliers, int) or self.min_outliers < 1:
            raise ValueError(f"min_outliers must be a positive integer, got {self.min_outliers!r}")
        rate = self.max_growth_rate
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ValueError(f"max_growth_rate must be between 0 and 1, got {rate!r}")


@dataclass(frozen=True)
class AddReport:
    """What one ``add_documents`` call did to a PLAID index (``PLAID.last_add``).

    ``trained``: the call trained the codebook (the index's first documents); ``new_centroids``:
    centroids added for ``outliers`` tokens (:mod:`plait.indexes.plaid.growth`); ``codec_drift``:
    the new tokens' mean residual norm over the training one; ``codec_fits``: drift within the
    index's ``codec_drift_threshold``.
    """

    documents: int
    tokens: int
    trained: bool
    outliers: int
    new_centroids: int
    n_centroids: int
    residual_norm: float
    codec_drift: float
    codec_fits: bool
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return asdict(self)

    def summary(self) -> str:
        """Return one line for a user: what was added and what the codebook did."""
        head = f"added {self.documents:,} documents ({self.tokens:,} tokens) in {self.seconds:.2f}s"
        if self.trained:
            return f"{head}; trained {self.n_centroids:,} centroids on them"
        parts = [head]
        if self.new_centroids:
            parts.append(
                f"{self.new_centroids:,} new centroids for {self.outliers:,} outlier tokens "
                f"(now {self.n_centroids:,})"
            )
        if not self.codec_fits:
            parts.append(
                f"the codec no longer fits these documents (residual norm {self.codec_drift:.2f}x "
                "the trained one): re-train with PLAID.retrain(documents_embeddings=...) for "
                "full quality"
            )
        return "; ".join(parts)


def outlier_threshold(stats: dict[str, Any]) -> float | None:
    """Return the residual norm above which a new token is an outlier (``None``: not known)."""
    value = stats.get("outlier_residual_norm")
    if value:
        return float(value)
    mean = stats.get("train_residual_norm")
    return FALLBACK_OUTLIER_FACTOR * float(mean) if mean else None


def grow(
    quantizer: CentroidQuantizer,
    tokens: np.ndarray,
    threshold: float | None,
    tokens_per_centroid: float,
    policy: GrowthPolicy,
    *,
    niters: int,
    seed: int,
) -> tuple[CentroidQuantizer, int, int]:
    """Return ``(quantizer, outliers, new_centroids)`` for adding ``tokens`` (original vectors).

    The returned quantizer is ``quantizer`` itself when nothing grows, else the same centroids
    followed by the new ones (stored the same way: int8 rows when the old ones are).
    """
    if threshold is None or not len(tokens):
        return quantizer, 0, 0
    nearest = quantizer.centroids[quantizer.assign(tokens)]
    far = tokens[np.linalg.norm(tokens - nearest, axis=1) > threshold]
    cap = math.floor(policy.max_growth_rate * quantizer.n_centroids)
    if len(far) < policy.min_outliers or cap < 1:
        return quantizer, int(len(far)), 0
    k = min(cap, math.ceil(len(far) / max(tokens_per_centroid, 1.0)), len(far))
    added = CentroidQuantizer.train(
        far, k, niters=niters, seed=seed, int8_storage=quantizer.int8 is not None
    )
    centroids = np.concatenate([quantizer.centroids, added.centroids])
    if quantizer.int8 is not None and added.int8 is not None:
        int8 = (
            np.concatenate([quantizer.int8[0], added.int8[0]]),
            np.concatenate([quantizer.int8[1], added.int8[1]]),
        )
        return CentroidQuantizer(centroids, int8=int8), int(len(far)), added.n_centroids
    return CentroidQuantizer(centroids), int(len(far)), added.n_centroids
