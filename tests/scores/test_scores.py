"""plait.scores against the naive loops in plait.scores.reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plait.scores import colbert_kd_scores, colbert_scores, colbert_scores_pairwise, maxsim
from plait.scores.reference import (
    colbert_kd_scores_reference,
    colbert_scores_pairwise_reference,
    colbert_scores_reference,
    maxsim_ragged_reference,
)

DIM = 6


def random_padded(rng, n, max_len, *, lead=(), negative=False, min_len=0):
    """Random embeddings with random lengths, zero padding and the matching 0/1 mask."""
    shape = (*lead, n)
    lengths = rng.integers(min_len, max_len + 1, size=shape)
    emb = rng.standard_normal((*shape, max_len, DIM)).astype(np.float32)
    if negative:
        emb = -np.abs(emb)
    mask = (np.arange(max_len) < lengths[..., None]).astype(np.float32)
    return emb * mask[..., None], mask


def test_colbert_scores_matches_reference_with_padding():
    rng = np.random.default_rng(0)
    q, qm = random_padded(rng, 4, 5, min_len=1)
    d, dm = random_padded(rng, 7, 9)
    dm[0] = 0  # an all-masked document (e.g. empty after the skiplist)
    got = colbert_scores(q, d, queries_mask=qm, documents_mask=dm)
    assert got.shape == (4, 7)
    np.testing.assert_allclose(got.numpy(), colbert_scores_reference(q, d, qm, dm), atol=1e-5)
    assert torch.all(got[:, 0] == 0)


def test_negative_similarities_are_not_beaten_by_padding():
    """All real similarities negative: a 0-masked pad (PyLate's bug) would score 0 instead."""
    rng = np.random.default_rng(1)
    q = np.abs(rng.standard_normal((2, 3, DIM))).astype(np.float32)
    d, dm = random_padded(rng, 3, 6, negative=True, min_len=1)
    dm[:, -1] = 0  # guarantee some padding
    got = colbert_scores(q, d, documents_mask=dm).numpy()
    want = colbert_scores_reference(q, d, None, dm)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert (got < 0).all()


def test_single_token_query_and_document():
    q = torch.tensor([[[0.6, 0.8]]])
    d = torch.tensor([[[1.0, 0.0]], [[0.0, -1.0]]])
    assert torch.allclose(colbert_scores(q, d), torch.tensor([[0.6, -0.8]]))


def test_numpy_and_torch_inputs_agree():
    rng = np.random.default_rng(2)
    q, qm = random_padded(rng, 3, 4, min_len=1)
    d, dm = random_padded(rng, 5, 6)
    from_numpy = colbert_scores(q, d, qm, dm)
    from_torch = colbert_scores(
        torch.from_numpy(q),
        torch.from_numpy(d),
        torch.from_numpy(qm) > 0,
        torch.from_numpy(dm).bool(),
    )
    assert isinstance(from_numpy, torch.Tensor)
    torch.testing.assert_close(from_numpy, from_torch)


def test_ragged_lists_are_padded_and_masked():
    rng = np.random.default_rng(3)
    queries = [rng.standard_normal((n, DIM)).astype(np.float32) for n in (2, 5)]
    docs = [-np.abs(rng.standard_normal((n, DIM))).astype(np.float32) for n in (1, 4, 7)]
    got = colbert_scores(queries, docs).numpy()
    want = np.array([[maxsim_ragged_reference(q, [d])[0] for d in docs] for q in queries])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_blocks_of_documents_give_the_same_scores(monkeypatch):
    import plait.scores.colbert as module

    rng = np.random.default_rng(4)
    q, qm = random_padded(rng, 3, 4, min_len=1)
    d, dm = random_padded(rng, 11, 5)
    whole = colbert_scores(q, d, qm, dm)
    monkeypatch.setattr(module, "_MAX_BLOCK_ELEMENTS", 1)
    torch.testing.assert_close(colbert_scores(q, d, qm, dm), whole)


def test_pairwise_matches_reference():
    rng = np.random.default_rng(5)
    q, qm = random_padded(rng, 6, 4, min_len=1)
    d, dm = random_padded(rng, 6, 7, negative=True)
    got = colbert_scores_pairwise(q, d, qm, dm).numpy()
    np.testing.assert_allclose(got, colbert_scores_pairwise_reference(q, d, qm, dm), atol=1e-5)
    full = colbert_scores(q, d, qm, dm).numpy()
    np.testing.assert_allclose(got, np.diag(full), atol=1e-5)


def test_kd_scores_match_reference():
    rng = np.random.default_rng(6)
    q, qm = random_padded(rng, 3, 4, min_len=1)
    d, dm = random_padded(rng, 5, 6, lead=(3,), negative=True)
    dm[1, 2] = 0
    got = colbert_kd_scores(q, d, qm, dm)
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got.numpy(), colbert_kd_scores_reference(q, d, qm, dm), atol=1e-5)
    assert got[1, 2] == 0


def test_scores_are_differentiable():
    q = torch.randn(2, 3, DIM, requires_grad=True)
    d = torch.randn(4, 5, DIM, requires_grad=True)
    mask = torch.ones(4, 5)
    mask[0] = 0
    colbert_scores(q, d, documents_mask=mask).sum().backward()
    assert torch.isfinite(q.grad).all() and torch.isfinite(d.grad).all()
    assert torch.all(d.grad[0] == 0)


def test_ragged_maxsim_matches_reference():
    rng = np.random.default_rng(7)
    query = rng.standard_normal((5, DIM)).astype(np.float32)
    docs = [rng.standard_normal((n, DIM)).astype(np.float32) for n in (1, 3, 0, 8)]
    docs.append(-np.abs(rng.standard_normal((2, DIM))).astype(np.float32))
    got = maxsim(query, docs)
    assert got.shape == (5,) and got.dtype == np.float32
    np.testing.assert_allclose(got, maxsim_ragged_reference(query, docs), atol=1e-5)
    assert got[2] == 0
    np.testing.assert_allclose(
        maxsim(torch.from_numpy(query), [torch.from_numpy(x) for x in docs]), got
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: colbert_scores(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4)), "dimension"),
        (lambda: colbert_scores(torch.zeros(2, 3), torch.zeros(1, 2, 3)), "3 dimensions"),
        (
            lambda: colbert_scores(
                torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), documents_mask=torch.ones(1, 3)
            ),
            "mask",
        ),
        (lambda: colbert_scores_pairwise(torch.zeros(2, 2, 3), torch.zeros(1, 2, 3)), "as many"),
        (
            lambda: colbert_kd_scores(torch.zeros(2, 2, 3), torch.zeros(1, 2, 2, 3)),
            "one candidate list",
        ),
        (lambda: maxsim(np.zeros((2, 3)), [np.zeros((2, 4))]), "dimension"),
    ],
)
def test_bad_shapes_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
