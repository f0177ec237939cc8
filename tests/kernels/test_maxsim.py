"""The MaxSim kernel against its slow reference on random ragged data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plait.kernels import maxsim as kernel
from plait.kernels import threads
from plait.kernels.maxsim import (
    maxsim_scores,
    maxsim_scores_reference,
    maxsim_search,
    pack_queries,
    top_k,
)

DIM = 8
BACKENDS = (["numba"] if kernel.HAS_NUMBA else []) + ["numpy", "torch"]


def ragged_corpus(rng, n_docs=40, max_len=9, negative=False):
    lengths = rng.integers(0, max_len + 1, size=n_docs)
    lengths[1] = 1
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    tokens = rng.standard_normal((int(offsets[-1]), DIM)).astype(np.float32)
    if negative:
        tokens = -np.abs(tokens)
    return tokens, offsets


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    tokens, offsets = ragged_corpus(rng)
    queries = [rng.standard_normal((n, DIM)).astype(np.float32) for n in (4, 1, 0, 7, 3)]
    return queries, tokens, offsets


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("block_bytes", [1, 200, 1 << 20])
def test_scores_match_reference(data, backend, block_bytes):
    queries, tokens, offsets = data
    want = maxsim_scores_reference(queries, tokens, offsets)
    got = maxsim_scores(queries, tokens, offsets, backend=backend, block_bytes=block_bytes)
    assert got.shape == (5, 40) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-4)
    empty_docs = np.diff(offsets) == 0
    assert empty_docs.any() and (got[:, empty_docs] == 0).all()
    assert (got[2] == 0).all()  # a query without tokens


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_similarities(backend):
    rng = np.random.default_rng(1)
    tokens, offsets = ragged_corpus(rng, negative=True)
    queries = np.abs(rng.standard_normal((3, 5, DIM))).astype(np.float32)
    got = maxsim_scores(queries, tokens, offsets, backend=backend)
    np.testing.assert_allclose(got, maxsim_scores_reference(queries, tokens, offsets), atol=1e-4)
    assert (got[:, np.diff(offsets) > 0] < 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_document_subset_in_given_order(data, backend):
    queries, tokens, offsets = data
    documents = [7, 3, 3, 39, 0, 1]
    full = maxsim_scores_reference(queries, tokens, offsets)
    got = maxsim_scores(
        queries, tokens, offsets, documents=documents, backend=backend, block_bytes=300
    )
    np.testing.assert_allclose(got, full[:, documents], atol=1e-4)


def test_query_mask_drops_padded_tokens():
    rng = np.random.default_rng(2)
    tokens, offsets = ragged_corpus(rng, negative=True)
    padded = rng.standard_normal((2, 6, DIM)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1]])
    got = maxsim_scores(padded, tokens, offsets, queries_mask=mask)
    want = maxsim_scores_reference([padded[0, :3], padded[1]], tokens, offsets)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_float16_storage_matches_reference_on_the_same_values(data):
    queries, tokens, offsets = data
    half = tokens.astype(np.float16)
    got = maxsim_scores(queries, half, offsets)
    np.testing.assert_allclose(got, maxsim_scores_reference(queries, half, offsets), atol=1e-4)
    np.testing.assert_allclose(got, maxsim_scores(queries, tokens, offsets), atol=0.05)


def test_torch_inputs(data):
    queries, tokens, offsets = data
    got = maxsim_scores([torch.from_numpy(q) for q in queries], torch.from_numpy(tokens), offsets)
    np.testing.assert_allclose(got, maxsim_scores(queries, tokens, offsets))


def test_search_equals_sorting_all_scores(data):
    queries, tokens, offsets = data
    full = maxsim_scores_reference(queries, tokens, offsets)
    for (idx, scores), row in zip(maxsim_search(queries, tokens, offsets, k=5), full, strict=True):
        order = np.argsort(-row, kind="stable")[:5]
        np.testing.assert_allclose(scores, row[order], atol=1e-4)
        np.testing.assert_allclose(row[idx], row[order], atol=1e-4)
    documents = np.array([5, 9, 11])
    for idx, _ in maxsim_search(queries, tokens, offsets, k=10, documents=documents):
        assert len(idx) == 3 and set(idx.tolist()) <= {5, 9, 11}


def test_top_k():
    scores = np.array([0.1, -np.inf, 3.0, 3.0, -2.0], dtype=np.float32)
    idx, values = top_k(scores, 3)
    assert idx.tolist() == [2, 3, 0] and values.tolist() == pytest.approx([3.0, 3.0, 0.1])
    idx, _ = top_k(scores, 10)
    assert idx.tolist() == [2, 3, 0, 4]  # -inf entries are excluded, not returned
    rng = np.random.default_rng(3)
    random = rng.standard_normal(1000).astype(np.float32)
    idx, values = top_k(random, 17)
    assert idx.tolist() == np.argsort(-random)[:17].tolist()
    with pytest.raises(ValueError, match="positive"):
        top_k(scores, 0)


def test_pack_queries_and_errors(data):
    _, tokens, offsets = data
    flat, q_offsets = pack_queries([np.ones((2, DIM)), np.ones((3, DIM))])
    assert flat.shape == (5, DIM) and q_offsets.tolist() == [0, 2, 5]
    with pytest.raises(ValueError, match="dimension"):
        maxsim_scores(np.ones((1, 2, DIM + 1), np.float32), tokens, offsets)
    with pytest.raises(ValueError, match="offsets"):
        maxsim_scores(np.ones((1, 2, DIM), np.float32), tokens, offsets[:-1])
    with pytest.raises(ValueError, match="queries_mask"):
        maxsim_scores(
            np.ones((1, 2, DIM), np.float32), tokens, offsets, queries_mask=np.ones((1, 3))
        )
    with pytest.raises(IndexError):
        maxsim_scores(np.ones((1, 2, DIM), np.float32), tokens, offsets, documents=[40])
    with pytest.raises(ValueError, match="backend"):
        maxsim_scores(np.ones((1, 2, DIM), np.float32), tokens, offsets, backend="gpu")


def test_set_num_threads_roundtrip():
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        assert threads.get_num_threads() == 1
    finally:
        threads.set_num_threads(before)
    with pytest.raises(ValueError):
        threads.set_num_threads(0)


def test_device_selects_the_torch_backend(data):
    queries, tokens, offsets = data
    got = maxsim_scores(queries, tokens, offsets, device="cpu", documents=[3, 1])
    np.testing.assert_allclose(
        got, maxsim_scores_reference(queries, tokens, offsets)[:, [3, 1]], atol=1e-4
    )
    (idx, _), *_ = maxsim_search(queries, tokens, offsets, 3, device="cpu")
    assert idx.tolist() == maxsim_search(queries, tokens, offsets, 3)[0][0].tolist()


def test_worker_threads_give_the_same_scores(data):
    queries, tokens, offsets = data
    before = threads.get_num_threads()
    try:
        threads.set_num_threads(1)
        serial = maxsim_scores(queries, tokens, offsets, block_bytes=64)
        threads.set_num_threads(3)
        threaded = maxsim_scores(queries, tokens, offsets, block_bytes=64)
        assert threads.get_num_threads() == 3  # workers' one-thread setting stays in the workers
    finally:
        threads.set_num_threads(before)
    np.testing.assert_array_equal(serial, threaded)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_forked_child_gets_its_own_workers(data):
    import multiprocessing

    queries, tokens, offsets = data
    maxsim_scores(queries, tokens, offsets, block_bytes=64)  # parent creates its pool
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        child = pool.apply_async(_score_in_child, (queries, tokens, offsets)).get(timeout=60)
    np.testing.assert_allclose(child, maxsim_scores(queries, tokens, offsets), atol=1e-5)


def _score_in_child(queries, tokens, offsets):
    threads.set_num_threads(2)
    return maxsim_scores(queries, tokens, offsets, block_bytes=64)
