"""PyLate 1.6's scoring names: ColBERTScores, SimilarityFunction and the backend= keyword."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plait.scores import (
    ColBERTScores,
    SimilarityFunction,
    colbert_kd_scores,
    colbert_scores,
    colbert_scores_pairwise,
)


def test_colbert_scores_class_is_query_major_and_equals_the_per_group_scores() -> None:
    rng = np.random.default_rng(0)
    n_queries, groups, per_group, lq, ld, dim = 3, 4, 2, 5, 6, 8
    queries = torch.from_numpy(rng.standard_normal((n_queries, lq, dim)).astype(np.float32))
    docs = torch.from_numpy(rng.standard_normal((groups, per_group, ld, dim)).astype(np.float32))
    mask = torch.from_numpy(rng.random((groups, per_group, ld)) < 0.7)
    mask[..., 0] = True
    got = ColBERTScores()(queries, docs, documents_mask=mask)
    assert got.shape == (n_queries, groups * per_group)
    for j in range(groups):
        for k in range(per_group):
            expected = colbert_scores(queries, docs[:, k], documents_mask=mask[:, k])[:, j]
            torch.testing.assert_close(got[:, j * per_group + k], expected)


def test_colbert_scores_class_puts_each_positive_at_i_times_n() -> None:
    queries = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    docs = torch.tensor([[[[1.0, 0.0]], [[0.0, 0.5]]], [[[0.0, 1.0]], [[0.5, 0.0]]]])
    scores = ColBERTScores()(queries, docs)
    assert scores.argmax(dim=1).tolist() == [0, 2]


def test_similarity_function_names_maxsim_only() -> None:
    assert SimilarityFunction("MaxSim") is SimilarityFunction.MAXSIM
    assert SimilarityFunction.possible_values() == ["MaxSim"]
    assert SimilarityFunction.to_similarity_fn("MaxSim") is colbert_scores
    assert SimilarityFunction.to_similarity_pairwise_fn(SimilarityFunction.MAXSIM) is (
        colbert_scores_pairwise
    )
    with pytest.raises(ValueError, match="MaxSim"):
        SimilarityFunction.to_similarity_fn("cosine")


@pytest.mark.parametrize("function", [colbert_scores, colbert_scores_pairwise])
def test_backend_keyword_takes_pylates_names(function) -> None:
    q, d = torch.ones(1, 2, 4), torch.ones(1, 3, 4)
    plain = function(q, d)
    for backend in ("torch", "auto", None):
        torch.testing.assert_close(function(q, d, backend=backend), plain)
    with pytest.raises(RuntimeError, match="requires CUDA"):
        function(q, d, backend="flash")
    with pytest.raises(RuntimeError, match="CUDA or MPS"):
        function(q, d, backend="lik")
    with pytest.raises(ValueError, match="backend"):
        function(q, d, backend="nope")


def test_kd_scores_take_the_backend_keyword_too() -> None:
    q, d = torch.ones(2, 2, 4), torch.ones(2, 3, 1, 4)
    torch.testing.assert_close(colbert_kd_scores(q, d, backend="auto"), colbert_kd_scores(q, d))
    with pytest.raises(ValueError, match="backend"):
        colbert_kd_scores(q, d, backend="nope")
