"""The numba nearest-codeword kernel of the product codec equals its numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from plait.kernels import threads
from plait.kernels.pq import PARALLEL_ROWS, nearest_codewords, nearest_codewords_reference


@pytest.mark.parametrize("sub_dim", [1, 2, 4, 8])
def test_kernel_equals_reference(sub_dim):
    rng = np.random.default_rng(sub_dim)
    n_sub = 32 // sub_dim
    codewords = rng.normal(size=(n_sub, 256, sub_dim)).astype(np.float32)
    x = rng.normal(size=(700, n_sub * sub_dim)).astype(np.float32)
    np.testing.assert_array_equal(
        nearest_codewords(x, codewords), nearest_codewords_reference(x, codewords)
    )


def test_threaded_blocks_equal_one_thread():
    rng = np.random.default_rng(0)
    codewords = rng.normal(size=(4, 64, 2)).astype(np.float32)
    x = rng.normal(size=(3 * PARALLEL_ROWS + 17, 8)).astype(np.float32)
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(3)
        many = nearest_codewords(x, codewords)
        threads.set_num_threads(1)
        one = nearest_codewords(x, codewords)
    finally:
        threads.set_num_threads(before)
    np.testing.assert_array_equal(many, one)
    np.testing.assert_array_equal(one[:500], nearest_codewords_reference(x[:500], codewords))


def test_ties_go_to_the_lower_codeword_and_limits_hold():
    codewords = np.zeros((1, 3, 2), dtype=np.float32)  # three identical codewords
    assert nearest_codewords(np.ones((2, 2), np.float32), codewords).tolist() == [[0], [0]]
    assert nearest_codewords(np.zeros((0, 2), np.float32), codewords).shape == (0, 1)
    with pytest.raises(ValueError, match="at most 256"):
        nearest_codewords(np.ones((1, 2), np.float32), np.zeros((1, 257, 2), np.float32))
