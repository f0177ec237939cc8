"""Bad input to every index gets a clear error, never a silent wrong answer (issue 22: D5, D11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plait.distributed.sharded import ShardedPLAID
from plait.indexes import Exact, IndexInputError
from plait.indexes.plaid import PLAID

FACTORIES = {
    "exact": lambda p: Exact(p, "idx"),
    "exact-memory": lambda p: Exact(None),
    "exact-float16": lambda p: Exact(p, "idx", dtype="float16"),
    "plaid": lambda p: PLAID(p, "idx"),
    "sharded": lambda p: ShardedPLAID(p, "idx", n_shards=2),
}
IDS = ["1", "2", "12", "a"]


@pytest.fixture(params=sorted(FACTORIES))
def index(request, tmp_path):
    rng = np.random.default_rng(0)
    docs = [rng.normal(size=(4, 8)).astype(np.float32) for _ in IDS]
    return FACTORIES[request.param](tmp_path).add_documents(IDS, docs)


def test_a_bare_string_is_not_split_into_characters(index):
    with pytest.raises(TypeError, match="'12'"):
        index.remove_documents("12")
    with pytest.raises(TypeError, match="'12'"):
        index.get_documents_embeddings("12")
    assert sorted(index.documents_ids) == sorted(IDS)  # "1" and "2" are still there
    index.remove_documents(["12"])
    assert sorted(index.documents_ids) == ["1", "2", "a"]


@pytest.mark.parametrize(
    "query, message",
    [
        (np.full((3, 8), np.nan, np.float32), "NaN or infinite"),
        (np.r_[np.ones((2, 8)), np.full((1, 8), np.inf)].astype(np.float32), "NaN or infinite"),
        (np.zeros((0, 8), np.float32), "no token embeddings"),
        (torch.full((2, 8), float("-inf")), "NaN or infinite"),
    ],
)
def test_queries_that_cannot_be_scored_are_refused(index, query, message):
    with pytest.raises(IndexInputError, match=message):
        index.search([query], k=2)


def test_complex_embeddings_are_refused_not_truncated(index):
    query = (np.ones((2, 8)) + 1j * np.ones((2, 8))).astype(np.complex64)
    with pytest.raises(TypeError, match="complex"):
        index.search([query], k=2)
    with pytest.raises(TypeError, match="complex"):
        index.add_documents(["c"], [query])


def test_float16_refuses_values_it_would_store_as_infinity(tmp_path):
    index = Exact(tmp_path, "half", dtype="float16")
    big = np.full((2, 8), 70000.0, np.float32)
    with pytest.raises(IndexInputError, match="float16"):
        index.add_documents(["big"], [big])
    assert len(index) == 0
    index.add_documents(["ok"], [np.full((2, 8), 60000.0, np.float32)])
    assert np.isfinite(index.get_documents_embeddings(["ok"])[0]).all()


def test_values_whose_scores_would_overflow_are_refused(index):
    huge = np.full((2, 8), 1e27, np.float32)  # finite float32, but 1e27 * 1e27 is not
    with pytest.raises(IndexInputError, match="overflow"):
        index.add_documents(["huge"], [huge])
    with pytest.raises(IndexInputError, match="overflow"):
        index.search([huge], k=2)
    assert "huge" not in index
