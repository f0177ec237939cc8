"""The PLAID search driver (:mod:`plait.indexes.plaid.search.driver`) answers exactly as the search
did before it existed: ``reference_search_one`` below is a copy of the old ``search_one`` (the one
place the control flow lived for a single index), kept here as the slow reference. ``PLAID.search``
must return the same ids and bit-identical scores on random indexes (several segments, removed
documents, few centroids), random knobs (``ncells``, ``ndocs``, ``n_full_scores``, threshold) and
random subsets (none, empty, unknown or removed ids, smaller and larger than ``ndocs``), with ``k``
also above the number of eligible documents.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plaid_data import clustered_corpus

from plait.indexes.plaid import PLAID, PLAIDSearchParams
from plait.indexes.plaid.search import (
    Candidates,
    candidates_in_cells,
    centroid_scores,
    eligible_masks,
    exact_candidate_scores,
    gather,
    interaction_scores,
    probe_cells,
    pruning_mask,
    search_one,
    top_n,
)


# ---------------------------------------------------------------------- the old code, verbatim
def reference_search_one(query, segments, quantizer, codec, params, k, allowed, trace=None):  # type: ignore[no-untyped-def]
    """The old ``plait.indexes.plaid.search.search_one`` (``trace`` collects the rules that fired)."""
    trace = set() if trace is None else trace
    ncells, ndocs, n_full = params.ncells, params.ndocs, params.n_full_scores
    threshold = params.centroid_score_threshold
    scores = centroid_scores(query, quantizer)
    scores_t = np.ascontiguousarray(scores.T)
    masks = eligible_masks(segments, allowed)
    n_eligible = sum(int(m.sum()) for m in masks)
    if allowed is not None and n_eligible <= ndocs:  # small subset: score it all
        trace.add("small-subset")
        cand = gather(masks, [np.flatnonzero(m) for m in masks])
    else:
        cand = _reference_probe_until(scores, segments, masks, ncells, min(k, n_eligible), trace)
    keep = pruning_mask(scores, threshold)
    if len(cand.seg) > ndocs and threshold > -np.inf and keep.any():
        trace.add("pruned-cut")
        cand = interaction_scores(cand, segments, scores_t, keep)
        cand = cand.take(top_n(cand.score, ndocs))
    if len(cand.seg) > n_full:
        trace.add("full-cut")
        cand = interaction_scores(cand, segments, scores_t, np.ones(scores_t.shape[0], dtype=bool))
        cand = cand.take(top_n(cand.score, n_full))
    cand = exact_candidate_scores(cand, segments, query, quantizer, codec, scores_t)
    if len(cand.seg) < k:
        trace.add("fewer-than-k")
    return cand.take(top_n(cand.score, k))


def _reference_probe_until(scores, segments, masks, ncells, enough, trace):  # type: ignore[no-untyped-def]
    n_centroids = scores.shape[1]
    n_cells = min(ncells, n_centroids)
    while True:
        cand = candidates_in_cells(probe_cells(scores, n_cells), segments, masks)
        if len(cand.seg) >= enough or n_cells >= n_centroids:
            return cand
        trace.add("doubling")
        n_cells *= 2


def reference(index: PLAID, query, k, subset, params, trace=None):  # type: ignore[no-untyped-def]
    """What ``PLAID.search`` returned for one query before the driver: ``(ids, scores)``."""
    resolved = (params or PLAIDSearchParams()).resolve(k, index.default_params)
    segments = index.segments
    allowed = index.eligible(subset) if subset is not None else None
    hits: Candidates = reference_search_one(
        query, segments, index.quantizer, index.codec, resolved, k, allowed, trace
    )
    pairs = zip(hits.seg.tolist(), hits.local.tolist(), strict=True)
    return [segments[s].ids[j] for s, j in pairs], hits.score.astype(np.float32)


# ---------------------------------------------------------------------- indexes
CORPUS = clustered_corpus(n_families=12, family_size=15, n_queries=12, seed=5)


@pytest.fixture(scope="module")
def indexes(tmp_path_factory) -> dict[str, PLAID]:
    folder = tmp_path_factory.mktemp("driver")
    ids, docs = CORPUS.ids, CORPUS.docs
    parts = PLAID(folder, "parts", n_centroids=48, seed=2)
    for part in range(3):  # three segments
        parts.add_documents(ids[part::3], docs[part::3])
    parts.remove_documents(ids[::7])  # removed documents in every segment
    one = PLAID(folder, "one", n_centroids=32, nbits=4).add_documents(ids, docs)
    tiny = PLAID(folder, "tiny", n_centroids=4).add_documents(ids[:7], docs[:7])
    tiny.remove_documents(ids[3:4])
    return {"parts": parts, "one": one, "tiny": tiny}


def subset_for(kind: str, draw_ids: list[str], all_ids: list[str]) -> list[str] | None:
    if kind == "none":
        return None
    if kind == "empty":
        return []
    if kind == "removed":  # only removed or unknown documents: nothing is eligible
        return all_ids[::7] + ["unknown"]
    return draw_ids + ["unknown", all_ids[0]]  # all_ids[0] is removed in "parts"


def assert_same(got, want) -> None:  # type: ignore[no-untyped-def]
    ids, scores = want
    assert got.ids == ids
    assert got.scores.dtype == np.float32 and scores.dtype == np.float32
    assert np.array_equal(got.scores, scores), (got.scores, scores)


KS = [1, 3, 10, 40, 500]
THRESHOLDS = [None, float("-inf"), 0.3, 0.45, 0.6, 5.0]


@pytest.mark.slow  # every threshold and cut; test_random_searches_equal_the_reference stays fast
def test_every_rule_fires_and_the_driver_equals_the_reference(indexes):
    """A fixed grid that makes each rule of the control flow fire (checked with the trace)."""
    fired: set[str] = set()
    grid = [
        PLAIDSearchParams(),
        PLAIDSearchParams(ncells=1, ndocs=8, n_full_scores=3),
        PLAIDSearchParams(ncells=1, centroid_score_threshold=0.45, ndocs=30, n_full_scores=10),
        PLAIDSearchParams(centroid_score_threshold=float("-inf"), ndocs=20, n_full_scores=5),
        PLAIDSearchParams(centroid_score_threshold=5.0, ndocs=12),  # nothing kept: no pruning
        PLAIDSearchParams(ncells=1, ndocs=200, n_full_scores=200),
    ]
    ids = CORPUS.ids
    subsets = [None, [], ids[::3], ids[1:12], ids[::7] + ["unknown"]]
    for index in indexes.values():
        for params in grid:
            for k in (2, 10, 60, 150):  # 150: ncells=1 finds fewer, whatever the codebook
                for subset in subsets:
                    for query in CORPUS.queries[:4]:
                        want = reference(index, query, k, subset, params, fired)
                        assert_same(index.search([query], k, subset=subset, params=params)[0], want)
    assert fired >= {"small-subset", "doubling", "pruned-cut", "full-cut", "fewer-than-k"}, fired


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(["parts", "one", "tiny"]),
    query=st.integers(0, len(CORPUS.queries) - 1),
    k=st.sampled_from(KS) | st.integers(1, 60),
    ncells=st.none() | st.integers(1, 64),
    threshold=st.sampled_from(THRESHOLDS),
    ndocs=st.none() | st.integers(1, 250),
    n_full=st.none() | st.integers(1, 250),
    kind=st.sampled_from(["none", "empty", "removed", "drawn"]),
    drawn=st.lists(st.sampled_from(CORPUS.ids), max_size=120, unique=True),
)
def test_random_searches_equal_the_reference(
    indexes, name, query, k, ncells, threshold, ndocs, n_full, kind, drawn
):
    index = indexes[name]
    params = PLAIDSearchParams(ncells, threshold, ndocs, n_full)
    subset = subset_for(kind, drawn, CORPUS.ids)
    q = CORPUS.queries[query]
    assert_same(
        index.search([q], k, subset=subset, params=params)[0],
        reference(index, q, k, subset, params),
    )


@pytest.mark.parametrize("k", [5, 30])
def test_batched_searches_equal_the_reference_query_by_query(indexes, k):
    """A batch (spread over threads) answers as each query alone; per-query subsets too."""
    index = indexes["parts"]
    params = PLAIDSearchParams(ncells=1, ndocs=24, n_full_scores=9)
    per_query = [CORPUS.ids[i::5] for i in range(len(CORPUS.queries))]
    for subset in (None, per_query):
        got = index.search(CORPUS.queries, k, subset=subset, params=params)
        for i, (result, query) in enumerate(zip(got, CORPUS.queries, strict=True)):
            one = None if subset is None else subset[i]
            assert_same(result, reference(index, query, k, one, params))


def test_search_one_is_the_driver_over_given_masks(indexes):
    """The old entry point keeps its signature (segments, codec, resolved params, masks)."""
    index = indexes["parts"]
    for params in (PLAIDSearchParams(), PLAIDSearchParams(ncells=1, ndocs=10, n_full_scores=4)):
        resolved = params.resolve(7)
        for allowed in (None, index.eligible(CORPUS.ids[::4]), index.eligible([])):
            for query in CORPUS.queries[:3]:
                args = (query, index.segments, index.quantizer, index.codec, resolved, 7, allowed)
                got, want = search_one(*args), reference_search_one(*args)
                for a, b in zip(
                    (got.seg, got.local, got.score), (want.seg, want.local, want.score), strict=True
                ):
                    assert np.array_equal(a, b)
