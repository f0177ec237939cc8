"""top_n: the best n, best first, ties broken by position, also where the cut falls inside a tie."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.indexes.plaid.search import top_n


def reference(scores: np.ndarray, n: int) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:n]


def test_a_tie_at_the_cut_keeps_the_first_positions() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1, 0.5], dtype=np.float32)
    assert top_n(scores, 3).tolist() == [1, 0, 2]
    assert top_n(scores, 1).tolist() == [1]
    assert top_n(scores, 10).tolist() == [1, 0, 2, 3, 5, 4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=60), st.integers(1, 70))
def test_matches_a_stable_sort(values: list[int], n: int) -> None:
    scores = np.asarray(values, dtype=np.float32) / 4  # few distinct values: many ties
    assert top_n(scores, n).tolist() == reference(scores, n)


def test_split_lists_agree_with_the_whole() -> None:
    """Cutting each half then the merged survivors gives the whole list's cut (what shards do)."""
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, 400).astype(np.float32)
    whole = top_n(scores, 37)
    halves = [np.arange(0, 200), np.arange(200, 400)]
    kept = np.sort(np.concatenate([h[top_n(scores[h], 37)] for h in halves]))
    assert kept[top_n(scores[kept], 37)].tolist() == whole.tolist()
