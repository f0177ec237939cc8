"""The numba centroid-interaction kernel equals its numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from plait.kernels.plaid_interaction import centroid_interaction, centroid_interaction_reference


@pytest.mark.parametrize("code_dtype", [np.uint16, np.int32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_equals_reference(code_dtype, seed, tmp_path):
    rng = np.random.default_rng(seed)
    n_centroids, n_q = 40, int(rng.integers(1, 12))
    doclens = rng.integers(0, 25, size=70)
    offsets = np.r_[0, np.cumsum(doclens)]
    codes = rng.integers(0, n_centroids, size=int(offsets[-1])).astype(code_dtype)
    np.save(tmp_path / "codes.npy", codes)
    mapped = np.load(tmp_path / "codes.npy", mmap_mode="r")  # the index passes memory maps
    scores_t = rng.normal(size=(n_centroids, n_q)).astype(np.float32)
    keep = rng.random(n_centroids) > 0.4
    docs = rng.permutation(70)[:50]
    got = centroid_interaction(mapped, offsets, docs, scores_t, keep)
    want = centroid_interaction_reference(codes, offsets, docs, scores_t, keep)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert np.all(got[doclens[docs] == 0] == 0)


def test_no_documents():
    out = centroid_interaction(
        np.zeros(0, np.uint16),
        np.zeros(1, np.int64),
        np.zeros(0, np.int64),
        np.zeros((3, 2), np.float32),
        np.ones(3, bool),
    )
    assert out.shape == (0,)
