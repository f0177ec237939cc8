"""The numba k-means assignment kernels equal their numpy references."""

from __future__ import annotations

import numpy as np
import pytest

from plait.kernels.kmeans import (
    top_columns,
    top_columns_reference,
    update_best,
    update_best_reference,
)


@pytest.mark.parametrize("p", [1, 3, 8, 40])
@pytest.mark.parametrize("seed", [0, 1])
def test_top_columns_equals_reference(p, seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(200, 37)).astype(np.float32)
    scores[::7, 5] = scores[::7, 9]  # ties: the lower column wins in both
    np.testing.assert_array_equal(top_columns(scores, p), top_columns_reference(scores, min(p, 37)))


def test_top_columns_empty():
    assert top_columns(np.zeros((0, 5), np.float32), 2).shape == (0, 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_update_best_equals_reference(seed):
    rng = np.random.default_rng(seed)
    n_points, block, width = 50, 30, 11
    rows = rng.choice(n_points, block, replace=False)
    members = rng.choice(1000, width, replace=False)
    scores = rng.normal(size=(block, width)).astype(np.float32)
    half_sq = rng.random(width).astype(np.float32)
    best0 = rng.normal(size=n_points).astype(np.float32) - 1.0
    best0[rows[:5]] = -np.inf  # never seen before
    idx0 = rng.integers(0, 1000, n_points).astype(np.int32)
    got_best, got_idx = best0.copy(), idx0.copy()
    want_best, want_idx = best0.copy(), idx0.copy()
    update_best(scores, half_sq, rows, members, got_best, got_idx)
    update_best_reference(scores, half_sq, rows, members, want_best, want_idx)
    np.testing.assert_array_equal(got_best, want_best)
    np.testing.assert_array_equal(got_idx, want_idx)
    assert (got_idx != idx0).any() and (got_idx == idx0).any()  # both branches taken
