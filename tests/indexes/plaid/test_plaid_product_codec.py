"""The product codec: a rotation and 256 codewords per byte, scored by the unchanged kernels."""

from __future__ import annotations

import numpy as np
import pytest

from plait.indexes.base import CorruptIndexError
from plait.indexes.plaid import PLAID, Codebook
from plait.indexes.plaid.codec import (
    PQ_MIN_SAMPLES,
    ProductCodec,
    ResidualCodec,
    codec_from_arrays,
    train_residual_codec,
)
from plait.kernels.plaid_decompress import (
    compressed_maxsim,
    compressed_maxsim_reference,
    token_inverse_norms,
)


def correlated(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    """Residual-like samples: correlated dimensions with unequal variance."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(dim, dim)) * np.linspace(0.2, 0.02, dim)
    return (rng.normal(size=(n, dim)) @ mix).astype(np.float32)


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    return correlated(6000)


@pytest.mark.parametrize("nbits", [1, 2, 4, 8])
def test_layout_and_decoding(samples, nbits):
    codec = ProductCodec.train(samples, nbits)
    dim = samples.shape[1]
    assert codec.bytes_per_token == dim * nbits // 8
    assert codec.lut.shape == (dim * nbits // 8, 256, 8 // nbits)
    np.testing.assert_allclose(codec.rotation.T @ codec.rotation, np.eye(dim), atol=1e-5)
    encoded = codec.encode(samples[:50])
    assert encoded.dtype == np.uint8 and encoded.shape == (50, codec.bytes_per_token)
    # decoding = the codewords of each byte, laid side by side, rotated back
    rotated = np.concatenate(
        [codec.codewords[b, encoded[:, b]] for b in range(encoded.shape[1])], 1
    )
    np.testing.assert_allclose(codec.decode(encoded), rotated @ codec.rotation.T, atol=1e-6)
    # each byte holds the nearest codeword: no codeword of any byte is closer
    parts = codec.to_codec_space(samples[:50]).reshape(50, encoded.shape[1], -1)
    dist = ((parts[:, :, None, :] - codec.codewords[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(encoded, dist.argmin(-1))


def test_less_error_than_the_per_dimension_codec(samples):
    held = correlated(2000, seed=1)
    pq, scalar = ProductCodec.train(samples, 2), ResidualCodec.train(samples, 2)

    def error(codec):
        return float(((codec.decode(codec.encode(held)) - held) ** 2).sum(1).mean())

    assert error(pq) < 0.95 * error(scalar)  # ~10% on Gaussian data; ~40% on ColBERT residuals


@pytest.mark.parametrize("normalize", [False, True])
def test_kernels_in_codec_space_equal_decoding(samples, normalize):
    rng = np.random.default_rng(3)
    dim, n_centroids = samples.shape[1], 20
    codec = ProductCodec.train(samples, 2)
    centroids = rng.normal(size=(n_centroids, dim)).astype(np.float32)
    doclens = rng.integers(0, 7, size=25)
    offsets = np.r_[0, np.cumsum(doclens)]
    codes = rng.integers(0, n_centroids, int(offsets[-1])).astype(np.uint16)
    residuals = codec.encode(correlated(int(offsets[-1]), seed=4))
    query = rng.normal(size=(4, dim)).astype(np.float32)
    docs = np.arange(25)
    rotated_centroids = codec.to_codec_space(centroids)
    inv = token_inverse_norms(rotated_centroids, codes, residuals, codec.lut) if normalize else None
    got = compressed_maxsim(
        codec.to_codec_space(query),
        rotated_centroids,
        codes,
        residuals,
        offsets,
        docs,
        codec.lut,
        centroids @ query.T,  # the centroid scores of the search, in the original space
        inv,
    )
    want = np.zeros(25, dtype=np.float32)  # decode in the original space, then MaxSim
    for i, d in enumerate(docs):
        rows = slice(offsets[d], offsets[d + 1])
        if offsets[d + 1] > offsets[d]:
            v = centroids[codes[rows].astype(np.int64)] + codec.decode(residuals[rows])
            if normalize:
                v = v / np.linalg.norm(v, axis=1, keepdims=True)
            want[i] = (query @ v.T).max(1).sum()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    ref = compressed_maxsim_reference(
        codec.to_codec_space(query),
        rotated_centroids,
        codes,
        residuals,
        offsets,
        docs,
        codec.lut,
        normalize,
    )
    np.testing.assert_allclose(ref, want, rtol=1e-4, atol=1e-4)


def test_tables_round_trip_and_bad_tables_are_named(samples):
    codec = ProductCodec.train(samples, 2)
    again = codec_from_arrays(2, codec.arrays())
    assert isinstance(again, ProductCodec)
    np.testing.assert_array_equal(again.encode(samples[:20]), codec.encode(samples[:20]))
    scalar = ResidualCodec.train(samples, 2)
    assert isinstance(codec_from_arrays(2, scalar.arrays()), ResidualCodec)
    with pytest.raises(ValueError, match="both"):
        codec_from_arrays(2, {"pq_codewords": codec.codewords})
    with pytest.raises(ValueError, match="shapes"):
        ProductCodec(2, codec.rotation, codec.codewords[:, :100])
    with pytest.raises(ValueError, match="orthogonal"):
        ProductCodec(2, codec.rotation * 2, codec.codewords)
    with pytest.raises(ValueError, match="2-d"):
        ProductCodec(2, codec.rotation[0], codec.codewords)
    with pytest.raises(ValueError, match="shape"):
        codec.encode(samples[:, :8])
    with pytest.raises(ValueError, match="uint8"):
        codec.decode(np.zeros((2, 4), dtype=np.int32))


def test_few_samples_give_the_per_dimension_codec_and_tiny_samples_still_train(samples):
    assert isinstance(train_residual_codec(samples[: PQ_MIN_SAMPLES - 1], 2), ResidualCodec)
    assert isinstance(train_residual_codec(samples[:PQ_MIN_SAMPLES], 2), ProductCodec)
    tiny = ProductCodec.train(samples[:3], 2)  # every distinct point becomes a codeword
    np.testing.assert_allclose(tiny.decode(tiny.encode(samples[:3])), samples[:3], atol=1e-5)


def test_training_is_deterministic(samples):
    a, b = ProductCodec.train(samples, 2, seed=5), ProductCodec.train(samples, 2, seed=5)
    np.testing.assert_array_equal(a.codewords, b.codewords)
    np.testing.assert_array_equal(a.rotation, b.rotation)


# ------------------------------------------------------------------ in an index, on disk
def _answer(path, query) -> tuple:
    index = PLAID(path.parent, path.name)
    hit = index.search([query], k=5)[0]
    return tuple(hit.ids), tuple(np.round(hit.scores, 5))


def test_an_index_stores_reopens_and_shares_the_product_codec(tmp_path, corpus):
    index = PLAID(tmp_path, "pq", nbits=2)
    index.add_documents(corpus.ids, corpus.docs)
    assert isinstance(index.codec, ProductCodec)
    files = index.manifest["files"]
    assert {"pq_rotation", "pq_codewords"} <= set(files) and "bucket_weights" not in files
    assert index.manifest["version"] == 3
    before = [r.ids for r in index.search(corpus.queries, k=5)]
    assert [r.ids for r in PLAID(tmp_path, "pq").search(corpus.queries, k=5)] == before
    codebook = Codebook(index._quantizer, index.codec)  # noqa: SLF001 (the trained parts)
    loaded = Codebook.load(codebook.save(tmp_path / "cb.npz"))
    assert isinstance(loaded.codec, ProductCodec) and loaded.same_as(codebook)
    shared = PLAID(tmp_path, "shared", codebook=loaded)
    shared.add_documents(corpus.ids, corpus.docs)
    assert [r.ids for r in shared.search(corpus.queries, k=5)] == before


def test_bit_flips_in_the_product_codec_files_are_named_never_silent(tmp_path, corpus):
    index = PLAID(tmp_path, "pq", nbits=2)
    index.add_documents(corpus.ids, corpus.docs)
    path, query = tmp_path / "pq", corpus.queries[0]
    clean = _answer(path, query)
    rng = np.random.default_rng(0)
    checked = 0
    for role in ("pq_rotation", "pq_codewords"):
        file = path / index.manifest["files"][role]["name"]
        data = file.read_bytes()
        for bit in rng.choice(len(data) * 8, size=40, replace=False).tolist():
            damaged = bytearray(data)
            damaged[bit // 8] ^= 1 << (bit % 8)
            file.write_bytes(bytes(damaged))
            try:
                result = _answer(path, query)
            except (CorruptIndexError, ValueError) as error:
                assert file.name in str(error), (file.name, bit, str(error))
            else:
                assert result == clean, (
                    f"silent wrong answer after flipping bit {bit} of {file.name}"
                )
            finally:
                file.write_bytes(data)
            checked += 1
    assert checked == 80 and _answer(path, query) == clean
