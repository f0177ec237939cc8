"""plait.rank.rerank against the reference MaxSim loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plait.rank import rerank
from plait.scores.reference import maxsim_reference

DIM = 6


def candidates(rng, n, negative=False):
    docs = [
        rng.standard_normal((int(rng.integers(1, 8)), DIM)).astype(np.float32) for _ in range(n)
    ]
    return [-np.abs(d) for d in docs] if negative else docs


@pytest.mark.parametrize("device", [None, "cpu"])
def test_rerank_matches_reference(device):
    rng = np.random.default_rng(0)
    queries = [np.abs(rng.standard_normal((n, DIM))).astype(np.float32) for n in (3, 5)]
    docs = [candidates(rng, 6), candidates(rng, 4, negative=True)]
    ids = [[f"a{i}" for i in range(6)], [10, 11, 12, 13]]
    results = rerank(ids, queries, docs, device=device)
    assert [len(r) for r in results] == [6, 4]
    for query, query_ids, query_docs, result in zip(queries, ids, docs, results, strict=True):
        want = sorted(
            ((maxsim_reference(query, d), i) for i, d in zip(query_ids, query_docs, strict=True)),
            key=lambda t: -t[0],
        )
        assert [r["id"] for r in result] == [i for _, i in want]
        np.testing.assert_allclose([r["score"] for r in result], [s for s, _ in want], atol=1e-5)
    assert all(r["score"] < 0 for r in results[1])  # padding never wins the max


def test_rerank_accepts_tensors_and_a_single_unnested_query():
    rng = np.random.default_rng(1)
    query = rng.standard_normal((4, DIM)).astype(np.float32)
    docs = candidates(rng, 3)
    nested = rerank([["x", "y", "z"]], [query], [docs])
    flat = rerank(["x", "y", "z"], torch.from_numpy(query), [torch.from_numpy(d) for d in docs])
    assert nested == flat


def test_rerank_empty_candidates_and_errors():
    rng = np.random.default_rng(2)
    query = rng.standard_normal((2, DIM)).astype(np.float32)
    assert rerank([[]], [query], [[]]) == [[]]
    with pytest.raises(ValueError, match="one candidate list per query"):
        rerank([["a"], ["b"]], [query], [[query]])
    with pytest.raises(ValueError, match="candidate ids"):
        rerank([["a", "b"]], [query], [[query]])
    with pytest.raises(ValueError, match="dimension"):
        rerank([["a"]], [query], [[np.ones((2, DIM + 1), np.float32)]])


@pytest.mark.parametrize("device", [None, "cpu"])
def test_rerank_empty_document_scores_zero(device):
    query = np.ones((2, DIM), np.float32)
    docs = [np.zeros((0, DIM), np.float32), -np.ones((3, DIM), np.float32)]
    result = rerank([["empty", "neg"]], [query], [docs], device=device)[0]
    assert result == [{"id": "empty", "score": 0.0}, {"id": "neg", "score": -2.0 * DIM}]


def test_rerank_padded_batch_ignores_zero_rows():
    query = np.ones((1, DIM), np.float32)
    padded = np.zeros((2, 3, DIM), np.float32)
    padded[0, 0] = -1.0
    padded[1] = -0.5
    result = rerank([["a", "b"]], [query], [padded])[0]
    assert result == [{"id": "b", "score": -0.5 * DIM}, {"id": "a", "score": -1.0 * DIM}]


def test_rerank_result_is_pylates_typed_dict():
    from typing import get_type_hints

    from plait.rank import RerankResult

    assert set(get_type_hints(RerankResult)) == {"id", "score"}
    result = rerank([["a"]], [np.ones((1, 2), np.float32)], [[np.ones((1, 2), np.float32)]])
    assert result == [[RerankResult(id="a", score=2.0)]]
