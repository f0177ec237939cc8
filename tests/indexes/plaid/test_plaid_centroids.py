"""k-means quantiser: PLAID's centroid-count rule, assignment = brute force, clusters recovered."""

from __future__ import annotations

import numpy as np
import pytest

from plait.indexes.plaid.centroids import (
    CentroidQuantizer,
    default_n_centroids,
    sample_documents_count,
)


def test_centroid_count_rule():
    assert default_n_centroids(820_000) == 8192  # 16 * sqrt(0.82M) = 14,488 -> 2**13
    assert default_n_centroids(10_000_000) == 32768
    assert default_n_centroids(30) == 16  # clamped: at most the number of tokens
    assert default_n_centroids(1) == 1
    assert sample_documents_count(100) == 100
    assert sample_documents_count(1_000_000) == int(np.ceil(16 * np.sqrt(120e6)))
    with pytest.raises(ValueError):
        default_n_centroids(0)


def test_assign_equals_brute_force():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(700, 16)).astype(np.float32)
    q = CentroidQuantizer(rng.normal(size=(37, 16)).astype(np.float32))
    dist = ((x[:, None, :] - q.centroids[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(q.assign(x), dist.argmin(1))


def test_kmeans_recovers_separated_clusters():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(8, 16)) * 10
    labels = rng.integers(0, 8, size=2000)
    x = (centres[labels] + rng.normal(size=(2000, 16))).astype(np.float32)
    q = CentroidQuantizer.train(x, 8, niters=10, seed=0, int8_storage=False)
    codes = q.assign(x)
    # every found cluster is pure (one true label), up to the rare bad init merging two
    purity = sum(np.bincount(labels[codes == c]).max() for c in np.unique(codes)) / len(x)
    assert purity > 0.85


def test_unit_norm_data_gives_unit_centroids_and_tiny_inputs_clamp():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = CentroidQuantizer.train(x, 64, niters=4)
    assert q.n_centroids == 5
    np.testing.assert_allclose(np.linalg.norm(q.centroids, axis=1), 1.0, atol=1e-2)  # int8-rounded


def test_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        CentroidQuantizer.train(np.full((4, 2), np.nan, dtype=np.float32), 2)
    q = CentroidQuantizer(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        q.assign(np.zeros((3, 5), dtype=np.float32))


def test_two_level_assignment_agrees_with_brute_force_on_clustered_data():
    rng = np.random.default_rng(4)
    topics = rng.normal(size=(40, 32))
    words = topics[rng.integers(40, size=2000)] + 0.6 * rng.normal(size=(2000, 32))
    x = (words[rng.integers(2000, size=6000)] + 0.1 * rng.normal(size=(6000, 32))).astype(
        np.float32
    )
    q = CentroidQuantizer.train(x, 1024, niters=3, seed=0, int8_storage=False)
    exact = q.assign(x, exact=True)
    approx = q.assign(x, exact=False)
    assert (approx == exact).mean() > 0.97
    dist = lambda codes: np.linalg.norm(x - q.centroids[codes], axis=1).mean()  # noqa: E731
    assert dist(approx) < 1.01 * dist(exact)
