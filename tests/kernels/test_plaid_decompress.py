"""The numba compressed-MaxSim kernel (centroid scores + per-byte query tables) equals decode +
matrix product (its reference), and the reference equals the codec's own decoding."""

from __future__ import annotations

import numpy as np
import pytest

from plait.indexes.plaid.codec import ResidualCodec
from plait.kernels.plaid_decompress import (
    compressed_maxsim,
    compressed_maxsim_reference,
    token_inverse_norms,
)


@pytest.mark.parametrize("nbits", [1, 2, 4, 8])
@pytest.mark.parametrize("code_dtype", [np.uint16, np.int32])
@pytest.mark.parametrize("normalize", [False, True])
def test_kernel_equals_reference_and_codec_decoding(nbits, code_dtype, normalize, tmp_path):
    rng = np.random.default_rng(nbits)
    dim, n_centroids = 16, 30
    centroids = rng.normal(size=(n_centroids, dim)).astype(np.float32)
    codec = ResidualCodec.train(rng.normal(scale=0.1, size=(3000, dim)).astype(np.float32), nbits)
    doclens = rng.integers(0, 9, size=40)
    offsets = np.r_[0, np.cumsum(doclens)]
    n_tokens = int(offsets[-1])
    codes = rng.integers(0, n_centroids, n_tokens).astype(code_dtype)
    residuals = codec.encode(rng.normal(scale=0.1, size=(n_tokens, dim)).astype(np.float32))
    np.save(tmp_path / "r.npy", residuals)
    mapped = np.load(tmp_path / "r.npy", mmap_mode="r")  # the index passes memory maps
    query = rng.normal(size=(5, dim)).astype(np.float32)
    docs = rng.permutation(40)[:30]
    inv = token_inverse_norms(centroids, codes, mapped, codec.lut) if normalize else None
    got = compressed_maxsim(
        query, centroids, codes, mapped, offsets, docs, codec.lut, inv_norms=inv
    )
    want = compressed_maxsim_reference(
        query, centroids, codes, residuals, offsets, docs, codec.lut, normalize
    )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.all(got[doclens[docs] == 0] == 0)
    scores_t = centroids @ query.T  # the centroid scores a search passes in
    given = compressed_maxsim(
        query, centroids, codes, mapped, offsets, docs, codec.lut, scores_t, inv
    )
    np.testing.assert_allclose(given, want, rtol=1e-5, atol=1e-5)
    d = int(docs[np.argmax(doclens[docs])])  # the reference decodes as the codec does
    rows = slice(offsets[d], offsets[d + 1])
    vectors = centroids[codes[rows].astype(np.int64)] + codec.decode(residuals[rows])
    if normalize:
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = (query @ vectors.T).max(axis=1).sum()
    one = compressed_maxsim_reference(
        query, centroids, codes, residuals, offsets, np.array([d]), codec.lut, normalize
    )
    np.testing.assert_allclose(one[0], expected, rtol=1e-5)


def test_inverse_norms_equal_decoding():
    rng = np.random.default_rng(7)
    dim = 16
    centroids = rng.normal(size=(12, dim)).astype(np.float32)
    codec = ResidualCodec.train(rng.normal(scale=0.2, size=(3000, dim)).astype(np.float32), 2)
    codes = rng.integers(0, 12, 500).astype(np.uint16)
    residuals = codec.encode(rng.normal(scale=0.2, size=(500, dim)).astype(np.float32))
    decoded = centroids[codes.astype(np.int64)] + codec.decode(residuals)
    want = 1.0 / np.linalg.norm(decoded, axis=1)
    sq = np.einsum("ij,ij->i", centroids, centroids)
    for given in (None, sq):
        got = token_inverse_norms(centroids, codes, residuals, codec.lut, given)
        np.testing.assert_allclose(got, want, rtol=1e-5)


def test_no_documents():
    out = compressed_maxsim(
        np.zeros((2, 8), np.float32),
        np.zeros((3, 8), np.float32),
        np.zeros(0, np.uint16),
        np.zeros((0, 2), np.uint8),
        np.zeros(1, np.int64),
        np.zeros(0, np.int64),
        np.zeros((2, 256, 4), np.float32),
    )
    assert out.shape == (0,)
