"""Residual codec: packing round trips, decode = bucket weights, error shrinks with nbits."""

from __future__ import annotations

import numpy as np
import pytest

from plait.indexes.plaid.codec import ResidualCodec, pack_buckets, unpack_buckets


@pytest.mark.parametrize("nbits", [1, 2, 4, 8])
def test_pack_unpack_round_trip(nbits):
    rng = np.random.default_rng(nbits)
    buckets = rng.integers(0, 1 << nbits, size=(50, 24)).astype(np.uint8)
    packed = pack_buckets(buckets, nbits)
    assert packed.shape == (50, 24 * nbits // 8) and packed.dtype == np.uint8
    np.testing.assert_array_equal(unpack_buckets(packed, nbits, 24), buckets)


@pytest.mark.parametrize("nbits", [1, 2, 4, 8])
def test_decode_is_bucket_weight_lookup(nbits):
    rng = np.random.default_rng(0)
    residuals = rng.normal(scale=0.1, size=(400, 16)).astype(np.float32)
    codec = ResidualCodec.train(residuals, nbits)
    buckets = codec.buckets(residuals)
    # slow reference: bucket = number of cutoffs <= value, per dimension
    ref = np.array([[np.sum(codec.cutoffs[d] <= r[d]) for d in range(16)] for r in residuals])
    np.testing.assert_array_equal(buckets, ref)
    decoded = codec.decode(codec.encode(residuals))
    np.testing.assert_array_equal(decoded, codec.weights[np.arange(16)[None, :], ref])


def test_round_trip_error_shrinks_with_nbits():
    rng = np.random.default_rng(1)
    residuals = rng.normal(scale=0.1, size=(2000, 32)).astype(np.float32)
    errors = []
    for nbits in (1, 2, 4, 8):
        codec = ResidualCodec.train(residuals, nbits)
        errors.append(float(np.abs(codec.decode(codec.encode(residuals)) - residuals).mean()))
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] < 0.05 * errors[0]


def test_cutoffs_are_per_dimension():
    rng = np.random.default_rng(2)
    scales = np.linspace(0.01, 1.0, 8, dtype=np.float32)
    residuals = (rng.normal(size=(3000, 8)) * scales).astype(np.float32)
    codec = ResidualCodec.train(residuals, 2)
    spread = codec.weights[:, -1] - codec.weights[:, 0]
    assert np.all(np.diff(spread) > 0)  # wider dimensions get wider buckets


def test_bad_arguments_are_named():
    residuals = np.zeros((10, 12), dtype=np.float32)
    with pytest.raises(ValueError, match="nbits"):
        ResidualCodec.train(residuals, 3)
    with pytest.raises(ValueError, match="multiple of 8"):
        ResidualCodec.train(np.zeros((10, 5), dtype=np.float32), 1)
    codec = ResidualCodec.train(
        np.random.default_rng(0).normal(size=(10, 16)).astype(np.float32), 2
    )
    with pytest.raises(ValueError, match="packed residuals"):
        codec.decode(np.zeros((3, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="residuals must have shape"):
        codec.encode(np.zeros((3, 8), dtype=np.float32))


def test_small_samples_pool_the_quantile_shape_but_keep_per_dimension_scale():
    rng = np.random.default_rng(3)
    scales = np.array([0.01, 0.1, 1.0, 0.5], dtype=np.float32)
    residuals = (rng.normal(size=(100, 4)) * scales).astype(np.float32)  # < POOL_BELOW samples
    codec = ResidualCodec.train(residuals, 4)
    spread = codec.weights[:, -1] - codec.weights[:, 0]
    np.testing.assert_allclose(spread / spread[2], scales / scales[2], rtol=0.35)
    fresh = (rng.normal(size=(2000, 4)) * scales).astype(np.float32)
    error = np.abs(codec.decode(codec.encode(fresh)) - fresh).max(axis=0)
    assert np.all(error < 2.5 * scales)  # unseen values: only true outliers (> 3.5 sigma) clip far


@pytest.mark.parametrize("nbits", [1, 2, 4])
def test_lloyd_max_refinement_lowers_the_error(nbits):
    rng = np.random.default_rng(5)
    residuals = (rng.standard_t(5, size=(5000, 16)) * 0.05).astype(np.float32)
    errors = []
    for iters in (0, 10):
        codec = ResidualCodec.train(residuals, nbits, lloyd_iters=iters)
        assert np.all(np.diff(codec.weights, axis=1) >= 0) and np.all(
            np.diff(codec.cutoffs, axis=1) >= 0
        )
        errors.append(float(((codec.decode(codec.encode(residuals)) - residuals) ** 2).mean()))
    assert errors[1] < 0.95 * errors[0]
