"""PLAID search against exhaustive MaxSim on synthetic clustered data."""

from __future__ import annotations

import numpy as np
import pytest
from plaid_data import exact_scores

from plait.indexes.plaid import PLAID, PLAIDSearchParams


def build(tmp_path, corpus, nbits=2, parts=3):
    index = PLAID(tmp_path, "plaid", nbits=nbits)
    for part in range(parts):  # several segments, each a sample of every family
        index.add_documents(corpus.ids[part::parts], corpus.docs[part::parts])
    return index


def exhaustive(index, n_docs):
    return PLAIDSearchParams(
        ncells=index.stats["n_centroids"],
        centroid_score_threshold=float("-inf"),
        ndocs=n_docs,
        n_full_scores=n_docs,
    )


def test_exhaustive_search_equals_exact_over_stored_vectors(tmp_path, corpus):
    index = build(tmp_path, corpus, nbits=2)
    stored = index.get_documents_embeddings(corpus.ids)
    params = exhaustive(index, len(corpus.ids))
    for query in corpus.queries:
        result = index.search(query[None], k=10, params=params)[0]
        scores = exact_scores(query, stored)
        top = np.argsort(-scores, kind="stable")[:10]
        assert result.ids == [corpus.ids[i] for i in top]
        np.testing.assert_allclose(result.scores, scores[top], rtol=1e-5, atol=1e-5)


def test_unit_norm_corpus_is_decoded_to_unit_vectors(tmp_path, corpus):
    """Unit-norm inputs: stored tokens come back with norm 1, as ColBERTv2's decompression gives
    them (search scores the same vectors: test_exhaustive_search_equals_exact_over_stored_vectors)."""
    index = build(tmp_path, corpus, nbits=2)
    assert index.quantizer.unit_norm
    stored = index.get_documents_embeddings(corpus.ids)
    np.testing.assert_allclose(np.linalg.norm(np.concatenate(stored), axis=1), 1.0, atol=1e-5)


def test_vectors_that_are_not_unit_norm_are_not_normalised(tmp_path, corpus):
    docs = [2.0 * d for d in corpus.docs]
    index = PLAID(tmp_path, "plaid", nbits=8)
    index.add_documents(corpus.ids, docs)
    assert not index.quantizer.unit_norm
    stored = np.concatenate(index.get_documents_embeddings(corpus.ids))
    assert (
        np.abs(np.linalg.norm(stored, axis=1) - 2.0).mean() < 0.01
    )  # 8-bit codec, not rescaled to 1


def test_exhaustive_search_at_8_bits_equals_exact_search(tmp_path, corpus):
    index = build(tmp_path, corpus, nbits=8, parts=1)
    params = exhaustive(index, len(corpus.ids))
    for query in corpus.queries:
        result = index.search([query], k=10, params=params)[0]
        scores = exact_scores(query, corpus.docs)
        top = np.argsort(-scores)[:10]
        assert set(result.ids) == {corpus.ids[i] for i in top}
        by_id = dict(zip(corpus.ids, scores, strict=True))
        errors = np.abs(result.scores - [by_id[i] for i in result.ids])
        assert errors.max() < 0.06 and errors.mean() < 0.01  # 8-bit codec: tiny, rare clipping


@pytest.mark.parametrize("nbits", [2, 4])
def test_default_settings_top10_overlap(tmp_path, corpus, nbits):
    index = build(tmp_path, corpus, nbits=nbits)
    overlaps = []
    for query, result in zip(corpus.queries, index.search(corpus.queries, k=10), strict=True):
        top = np.argsort(-exact_scores(query, corpus.docs))[:10]
        overlaps.append(len(set(result.ids) & {corpus.ids[i] for i in top}) / 10)
    assert np.mean(overlaps) >= 0.9


def test_results_do_not_depend_on_batch_size(tmp_path, corpus):
    index = build(tmp_path, corpus)
    subsets = [corpus.ids[i::3] for i in range(len(corpus.queries))]
    for kwargs in ({}, {"subset": subsets}, {"params": PLAIDSearchParams(ndocs=40)}):
        batched = index.search(corpus.queries, k=7, **kwargs)
        for i, query in enumerate(corpus.queries):
            one_kwargs = dict(kwargs)
            if "subset" in kwargs:
                one_kwargs["subset"] = [subsets[i]]
            single = index.search([query], k=7, **one_kwargs)[0]
            assert single.ids == batched[i].ids
            np.testing.assert_array_equal(single.scores, batched[i].scores)


def test_batch_split_over_threads_equals_one_thread(tmp_path, corpus):
    from plait.kernels import get_num_threads, set_num_threads

    index = build(tmp_path, corpus)
    before = get_num_threads()
    try:
        set_num_threads(1)
        serial = index.search(corpus.queries, k=10)
        set_num_threads(3)  # more workers than cores: order and results must not change
        threaded = index.search(corpus.queries, k=10)
    finally:
        set_num_threads(before)
    assert len(serial) == len(threaded) == len(corpus.queries)
    for one, many in zip(serial, threaded, strict=True):
        assert one.ids == many.ids
        np.testing.assert_array_equal(one.scores, many.scores)


def test_subset_is_exact(tmp_path, corpus):
    index = build(tmp_path, corpus)
    stored = index.get_documents_embeddings(corpus.ids)
    subset = corpus.ids[5:60:4] + ["not-a-document"]
    allowed = {i for i in subset if i in corpus.ids}
    for query in corpus.queries[:5]:
        result = index.search([query], k=5, subset=subset)[0]
        assert set(result.ids) <= allowed
        scores = exact_scores(query, stored)
        ranked = [corpus.ids[i] for i in np.argsort(-scores) if corpus.ids[i] in allowed]
        assert result.ids == ranked[:5]  # a small subset is scored exhaustively
    assert index.search([corpus.queries[0]], k=5, subset=[])[0].ids == []


def test_fewer_documents_than_k_and_empty_index(tmp_path, corpus):
    empty = PLAID(tmp_path, "empty")
    assert empty.search([corpus.queries[0]], k=3)[0].ids == []
    small = PLAID(tmp_path, "small")
    small.add_documents(corpus.ids[:3], corpus.docs[:3])
    params = exhaustive(small, 3)
    assert sorted(small.search([corpus.queries[0]], k=10, params=params)[0].ids) == sorted(
        corpus.ids[:3]
    )


def test_params_resolution_and_validation():
    assert PLAIDSearchParams().resolve(10) == PLAIDSearchParams(2, 0.5, 512, 128)
    assert PLAIDSearchParams().resolve(100) == PLAIDSearchParams(4, 0.45, 2048, 1024)
    assert PLAIDSearchParams().resolve(2000) == PLAIDSearchParams(4, 0.4, 8000, 2000)
    defaults = PLAIDSearchParams(ncells=8, n_full_scores=100)
    assert PLAIDSearchParams(ndocs=512).resolve(10, defaults) == PLAIDSearchParams(8, 0.5, 512, 100)
    with pytest.raises(ValueError, match="ncells"):
        PLAIDSearchParams(ncells=0)
    with pytest.raises(ValueError, match="threshold"):
        PLAIDSearchParams(centroid_score_threshold=float("nan"))


def test_bad_search_input(tmp_path, corpus):
    index = build(tmp_path, corpus, parts=1)
    with pytest.raises(ValueError, match="k must be"):
        index.search([corpus.queries[0]], k=0)
    with pytest.raises(ValueError, match="dimension"):
        index.search([np.zeros((3, 5), np.float32)], k=3)
    with pytest.raises(TypeError, match="PLAIDSearchParams"):
        index.search([corpus.queries[0]], k=3, params={"ncells": 2})
