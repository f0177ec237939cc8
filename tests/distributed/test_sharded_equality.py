"""The sharded index answers exactly as one PLAID index with the same codebook, on random searches.

Random knobs (``ncells``, ``ndocs``, ``n_full_scores``, threshold), random subsets (none, empty,
unknown and removed ids, smaller and larger than ``ndocs``, per query), ``k`` above the number of
eligible documents, removed documents in every shard. Ids and scores must be bit-identical, except
where one of PLAID's cuts falls inside a tie of the scores it cuts on: ``top_n`` picks among tied
documents at the boundary with ``np.argpartition``, whose choice depends on the list it is given, so
the merged list of the shards and the single index's list may keep different tied documents (a
behaviour the sharded index inherits; :class:`TieWatch` finds those cases, and then only the shape
of the answer is compared).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sharded_data import clustered_docs, queries, shard_order

from plait.distributed import ShardedPLAID
from plait.indexes import PLAID, PLAIDSearchParams
from plait.indexes.plaid.search import (
    SegmentSource,
    candidates_in_cells,
    gather,
    interaction_scores,
    run_search,
)

N_SHARDS = 3
IDS, DOCS = clustered_docs(300, seed=4)
REMOVED = IDS[4::13]
QUERIES = queries(10, seed=9)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sharded-equality")
    sharded = ShardedPLAID(folder, "sharded", n_shards=N_SHARDS)
    sharded.add_documents(IDS[:200], DOCS[:200])
    sharded.add_documents(IDS[200:], DOCS[200:])  # two segments per shard
    sharded.remove_documents(REMOVED)
    single = PLAID(folder, "single", codebook=sharded.codebook)
    for part in (IDS[:200], IDS[200:]):
        order = shard_order(part, N_SHARDS)
        single.add_documents([part[p] for p in order], [DOCS[IDS.index(part[p])] for p in order])
    single.remove_documents(REMOVED)
    return sharded, single


def straddles(scores: np.ndarray, n: int) -> bool:
    """A cut at ``n`` falls inside a tie: the n-th and (n+1)-th best scores are equal."""
    if len(scores) <= n:
        return False
    best = np.sort(scores)[::-1]
    return bool(best[n - 1] == best[n])


class TieWatch:
    """One index's :class:`SegmentSource` that also notes whether a cut of the search fell inside a
    tie (the last candidate round's cuts at ``ndocs`` and ``n_full_scores``, and the cut at ``k``)."""

    def __init__(self, index: PLAID, k: int) -> None:
        self.inner = SegmentSource(index.segments, index.quantizer, index.codec, index.eligible)
        self.quantizer, self.k = self.inner.quantizer, k
        self.tied_candidates = self.tied_exact = False

    def eligibility(self, subset):  # type: ignore[no-untyped-def]
        return self.inner.eligibility(subset)

    def candidates(self, asks, cuts):  # type: ignore[no-untyped-def]
        founds = self.inner.candidates(asks, cuts)
        (ask,), (found,) = asks, founds
        segments, masks, scores = self.inner.segments, ask.eligible.masks, ask.scores
        if ask.cells is None:
            cand = gather(masks, [np.flatnonzero(m) for m in masks])
        else:
            cand = candidates_in_cells(ask.cells, segments, masks)
        everything = np.ones(scores.n_centroids, dtype=bool)
        tied = False
        if scores.prunes(cuts.threshold) and found.n_found > cuts.ndocs:
            tied = straddles(
                interaction_scores(cand, segments, scores.scores_t, scores.keep).score, cuts.ndocs
            )
            left = found.full if found.full is not None else np.zeros(0, dtype=np.float32)
        else:
            left = interaction_scores(cand, segments, scores.scores_t, everything).score
        self.tied_candidates = tied or straddles(left, cuts.n_full_scores)
        return founds

    def exact(self, asks):  # type: ignore[no-untyped-def]
        scored = self.inner.exact(asks)
        self.tied_exact = any(straddles(s.scores, self.k) for s in scored)
        return scored

    def ids(self, labels):  # type: ignore[no-untyped-def]
        return self.inner.ids(labels)

    @property
    def tied(self) -> bool:
        return self.tied_candidates or self.tied_exact


def subset_for(kind: str, drawn: list[str]) -> list[str] | None:
    return {
        "none": None,
        "empty": [],
        "removed": REMOVED + ["unknown"],
        "drawn": drawn + ["unknown"],
    }[kind]


@pytest.mark.slow  # 100 random searches; the batch test below stays in the inner loop
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.integers(0, len(QUERIES) - 1),
    k=st.sampled_from([1, 5, 10, 400]) | st.integers(1, 60),
    ncells=st.none() | st.integers(1, 16),
    threshold=st.sampled_from([None, float("-inf"), 0.3, 0.5, 5.0]),
    ndocs=st.none() | st.integers(1, 120),
    n_full=st.none() | st.integers(1, 120),
    kind=st.sampled_from(["none", "empty", "removed", "drawn"]),
    drawn=st.lists(st.sampled_from(IDS), max_size=150, unique=True),
)
def test_random_searches_equal_one_index(
    pair, query, k, ncells, threshold, ndocs, n_full, kind, drawn
):
    sharded, single = pair
    params = PLAIDSearchParams(ncells, threshold, ndocs, n_full)
    subset = subset_for(kind, drawn)
    q = QUERIES[query]
    watch = TieWatch(single, k)
    resolved = params.resolve(k, single.default_params)
    [want] = run_search(watch, [q], k, resolved, None if subset is None else [subset])
    [plain] = single.search([q], k, subset=subset, params=params)
    assert plain.ids == want.ids and np.array_equal(
        plain.scores, want.scores
    )  # the watch changes nothing
    [got] = sharded.search([q], k, subset=subset, params=params)
    assert not got.partial and got.scores.dtype == np.float32
    if watch.tied:
        assert len(got.ids) == len(want.ids) and np.all(np.diff(got.scores) <= 0)
    else:
        assert got.ids == want.ids
        assert np.array_equal(got.scores, want.scores), (got.scores, want.scores)


def test_batches_and_per_query_subsets_equal_one_index(pair):
    """A batch goes to the shards in one call per stage; its answers are each query's own."""
    sharded, single = pair
    per_query = [IDS[i::7] for i in range(len(QUERIES))]
    for params in (
        PLAIDSearchParams(),
        PLAIDSearchParams(ncells=1, ndocs=16, n_full_scores=6),
        PLAIDSearchParams(ncells=1, ndocs=200, n_full_scores=200),
    ):
        for subset in (None, per_query, []):
            got = sharded.search(QUERIES, 12, subset=subset, params=params)
            for i, (result, query) in enumerate(zip(got, QUERIES, strict=True)):
                one = None if subset is None else subset if not subset else subset[i]
                [alone] = sharded.search([query], 12, subset=one, params=params)
                assert result.ids == alone.ids and np.array_equal(result.scores, alone.scores)
                assert len(result) == len(single.search([query], 12, subset=one, params=params)[0])
