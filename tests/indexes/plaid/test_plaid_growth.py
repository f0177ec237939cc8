"""Incremental maintenance: adds grow the codebook from original vectors and never re-encode."""

from __future__ import annotations

import numpy as np
import pytest
from plaid_data import clustered_corpus, exact_scores, unit

from plait.indexes.plaid import PLAID, PLAIDSearchParams
from plait.indexes.plaid.centroids import CentroidQuantizer
from plait.indexes.plaid.growth import AddReport, GrowthPolicy, grow, outlier_threshold

FULL = PLAIDSearchParams(ncells=1 << 20, ndocs=1 << 20, n_full_scores=1 << 20)


def _quantizer(k: int = 16, dim: int = 8, seed: int = 0) -> CentroidQuantizer:
    x = unit(np.random.default_rng(seed).normal(size=(400, dim)))
    return CentroidQuantizer.train(x, k, niters=2)


def test_grow_keeps_the_quantizer_below_min_outliers():
    q = _quantizer()
    far = unit(np.random.default_rng(1).normal(size=(10, 8)))
    same, outliers, added = grow(q, far, 0.0, 20.0, GrowthPolicy(min_outliers=64), niters=2, seed=0)
    assert same is q and outliers == 10 and added == 0


def test_grow_appends_int8_centroids_capped_by_the_rate():
    q = _quantizer(k=16)
    far = unit(np.random.default_rng(2).normal(size=(500, 8)))
    grown, outliers, added = grow(q, far, 0.0, 1.0, GrowthPolicy(8, 0.25), niters=2, seed=0)
    assert outliers == 500 and added == 4  # 25 % of 16
    np.testing.assert_array_equal(grown.centroids[:16], q.centroids)  # old codes stay valid
    assert grown.int8 is not None and q.int8 is not None
    np.testing.assert_array_equal(grown.int8[0][:16], q.int8[0])
    np.testing.assert_allclose(
        grown.centroids, grown.int8[0] * grown.int8[1][:, None], rtol=0, atol=0
    )
    assert grown.unit_norm
    none, _, nothing = grow(q, far, 0.0, 1.0, GrowthPolicy(8, 0.0), niters=2, seed=0)
    assert none is q and nothing == 0


def test_policy_and_threshold_inputs():
    with pytest.raises(ValueError, match="min_outliers"):
        GrowthPolicy(min_outliers=0)
    with pytest.raises(ValueError, match="max_growth_rate"):
        GrowthPolicy(max_growth_rate=2)
    assert outlier_threshold({"outlier_residual_norm": 0.4, "train_residual_norm": 0.1}) == 0.4
    assert outlier_threshold({"train_residual_norm": 0.1}) == pytest.approx(0.2)  # older indexes
    assert outlier_threshold({}) is None


def _topic(seed: int, n_docs: int, dim: int = 32) -> list[np.ndarray]:
    """Documents of a topic none of the clustered corpus's centroids cover."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(6, dim)))
    return [
        unit(centres[rng.integers(0, 6, 30)] + rng.normal(scale=0.02, size=(30, dim)))
        for _ in range(n_docs)
    ]


def test_an_add_leaves_stored_segments_and_readers_working(tmp_path):
    corpus = clustered_corpus()
    index = PLAID(tmp_path, "p", nbits=2)
    index.add_documents(corpus.ids, corpus.docs)
    first = {k: v for k, v in index.manifest["files"].items() if k.startswith("s")}
    reader = PLAID(tmp_path, "p")  # opened before the codebook grows
    reader.search(corpus.queries[:1], k=3)
    new = _topic(3, 20)
    index.add_documents([f"new-{i}" for i in range(20)], new)
    report = index.last_add
    assert isinstance(report, AddReport) and report.new_centroids > 0
    after = index.manifest["files"]
    assert all(after[k] == v for k, v in first.items())  # the old segment's files: untouched
    assert reader.refresh()
    hits = reader.search([new[0][:8]], k=1)[0]  # reaches a document under a new centroid
    assert hits.ids == ["new-0"]


@pytest.mark.slow  # test_an_add_leaves_stored_segments_and_readers_working stays fast
def test_add_remove_cycles_change_nothing_of_what_stays(tmp_path):
    corpus = clustered_corpus(seed=4)
    index = PLAID(tmp_path, "p", nbits=2)
    index.add_documents(corpus.ids, corpus.docs)
    stored = index.get_documents_embeddings(corpus.ids)
    before = index.search(corpus.queries, k=10, params=FULL)
    for cycle in range(10):
        ids = [f"c{cycle}-{i}" for i in range(8)]
        index.add_documents(ids, _topic(10 + cycle, 8))
        assert index.last_add is not None and not index.last_add.trained
        index.remove_documents(ids)
    for a, b in zip(stored, index.get_documents_embeddings(corpus.ids), strict=True):
        np.testing.assert_array_equal(a, b)  # never re-encoded
    after = index.search(corpus.queries, k=10, params=FULL)
    for x, y in zip(before, after, strict=True):
        assert x.ids == y.ids
        np.testing.assert_allclose(x.scores, y.scores, rtol=0, atol=1e-6)
    # and at the default settings it stays close to exhaustive search over what it stores
    found = index.search(corpus.queries, k=10)
    overlap = []
    for query, hit in zip(corpus.queries, found, strict=True):
        truth = np.argsort(-exact_scores(query, stored), kind="stable")[:10]
        overlap.append(len({corpus.ids[i] for i in truth} & set(hit.ids)) / 10)
    assert np.mean(overlap) >= 0.9


def test_a_failed_growth_commit_leaves_the_committed_codebook(tmp_path, monkeypatch):
    corpus = clustered_corpus(seed=6)
    index = PLAID(tmp_path, "p", nbits=2)
    index.add_documents(corpus.ids, corpus.docs)
    k = index.quantizer.n_centroids
    kept = index.quantizer
    index.add_documents(["same-0"], [corpus.docs[0]])  # no growth: the codec files are kept ...
    assert index.last_add is not None and index.last_add.new_centroids == 0
    assert index.quantizer is kept  # ... and so is the quantizer, with what it built

    def broken(manifest, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    monkeypatch.setattr(index._store, "commit", broken)
    with pytest.raises(OSError, match="disk full"):
        index.add_documents([f"new-{i}" for i in range(20)], _topic(7, 20))
    monkeypatch.undo()
    assert index.quantizer.n_centroids == k  # the grown centroids were never committed
    assert "new-0" not in index and PLAID(tmp_path, "p").quantizer.n_centroids == k
    index.add_documents([f"new-{i}" for i in range(20)], _topic(7, 20))
    assert index.quantizer.n_centroids > k
