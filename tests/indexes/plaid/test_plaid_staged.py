"""The public search stages, composed by hand over shards that share one Codebook, give exactly the
single-index answer (what a coordinator over several PLAID indexes relies on)."""

from __future__ import annotations

import numpy as np
import pytest

from plait.indexes.plaid import PLAID, Codebook, PLAIDSearchParams
from plait.indexes.plaid.search import (
    Candidates,
    candidates_in_cells,
    centroid_scores,
    eligible_masks,
    exact_candidate_scores,
    interaction_scores,
    probe_cells,
    pruning_mask,
    top_n,
)


class Merged:
    """Candidates of several shards as one list (global order = shard order, then each shard's)."""

    def __init__(self, parts: list[Candidates]) -> None:
        self.shard = np.concatenate([np.full(len(c.seg), i) for i, c in enumerate(parts)])
        self.seg = np.concatenate([c.seg for c in parts])
        self.local = np.concatenate([c.local for c in parts])
        self.score = np.concatenate([c.score for c in parts])

    def per_shard(self, i: int) -> tuple[np.ndarray, Candidates]:
        rows = np.flatnonzero(self.shard == i)
        return rows, Candidates(self.seg[rows], self.local[rows], self.score[rows])

    def rescore(self, n_shards: int, stage) -> None:  # type: ignore[no-untyped-def]
        for i in range(n_shards):
            rows, cand = self.per_shard(i)
            self.score[rows] = stage(i, cand).score

    def cut(self, n: int) -> None:
        keep = top_n(self.score, n)
        self.shard, self.seg, self.local, self.score = (
            a[keep] for a in (self.shard, self.seg, self.local, self.score)
        )


def coordinated_search(query, shards, codebook, params, k):  # type: ignore[no-untyped-def]
    """``search_one`` re-built from the stages over several indexes, cutting the merged list."""
    segs = [shard.segments for shard in shards]
    scores = centroid_scores(query, codebook.quantizer)
    scores_t = np.ascontiguousarray(scores.T)
    masks = [eligible_masks(s, None) for s in segs]
    n_eligible = sum(int(m.sum()) for ms in masks for m in ms)
    n_centroids = scores.shape[1]
    n_cells = min(params.ncells, n_centroids)
    while True:  # doubling decided on the global count
        cells = probe_cells(scores, n_cells)
        merged = Merged(
            [candidates_in_cells(cells, s, m) for s, m in zip(segs, masks, strict=True)]
        )
        if len(merged.seg) >= min(k, n_eligible) or n_cells >= n_centroids:
            break
        n_cells *= 2
    keep = pruning_mask(scores, params.centroid_score_threshold)
    if len(merged.seg) > params.ndocs and params.centroid_score_threshold > -np.inf and keep.any():
        merged.rescore(len(shards), lambda i, c: interaction_scores(c, segs[i], scores_t, keep))
        merged.cut(params.ndocs)
    if len(merged.seg) > params.n_full_scores:
        everything = np.ones(n_centroids, dtype=bool)
        merged.rescore(
            len(shards), lambda i, c: interaction_scores(c, segs[i], scores_t, everything)
        )
        merged.cut(params.n_full_scores)
    merged.rescore(
        len(shards),
        lambda i, c: exact_candidate_scores(c, segs[i], query, codebook.quantizer, codebook.codec),
    )
    merged.cut(k)
    ids = [
        shards[i].segments[s].ids[j]
        for i, s, j in zip(merged.shard, merged.seg, merged.local, strict=True)
    ]
    return ids, merged.score


PRUNED_CUTS = PLAIDSearchParams(ncells=1, ndocs=256, n_full_scores=64)


@pytest.fixture(scope="module")
def codebook(corpus) -> Codebook:
    return Codebook.train(corpus.docs, nbits=2, n_centroids=64, seed=1)


@pytest.mark.parametrize(
    "params",
    [
        PLAIDSearchParams(),
        PRUNED_CUTS,
        PLAIDSearchParams(ndocs=40, n_full_scores=12),
        PLAIDSearchParams(ncells=4, ndocs=100),
    ],
    ids=["defaults", "pruned-cuts", "small-cuts", "more-cells"],
)
def test_stages_over_split_indexes_equal_one_index(tmp_path, corpus, codebook, params):
    single = PLAID(tmp_path, "all", codebook=codebook).add_documents(corpus.ids, corpus.docs)
    half = len(corpus.ids) // 2
    shards = [
        PLAID(tmp_path, "a", codebook=codebook).add_documents(
            corpus.ids[:half], corpus.docs[:half]
        ),
        PLAID(tmp_path, "b", codebook=codebook).add_documents(
            corpus.ids[half:], corpus.docs[half:]
        ),
    ]
    k = 10
    resolved = params.resolve(k)
    wants = single.search(corpus.queries, k=k, params=params)
    for query, want in zip(corpus.queries, wants, strict=True):
        ids, scores = coordinated_search(query, shards, codebook, resolved, k)
        assert ids == want.ids
        np.testing.assert_allclose(scores, want.scores, rtol=0, atol=1e-6)


def test_default_params_really_cut(tmp_path, corpus, codebook):
    """The ``pruned-cuts`` case above exercises the pruned cut (more candidates than ``ndocs``)."""
    index = PLAID(tmp_path, "all", codebook=codebook).add_documents(corpus.ids, corpus.docs)
    resolved = PRUNED_CUTS.resolve(10)
    segs = index.segments
    counts = [
        len(
            candidates_in_cells(
                probe_cells(centroid_scores(q, codebook.quantizer), 1),
                segs,
                eligible_masks(segs, None),
            ).seg
        )
        for q in corpus.queries
    ]
    assert max(counts) > resolved.ndocs > resolved.n_full_scores  # type: ignore[operator]
