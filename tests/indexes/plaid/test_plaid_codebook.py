"""A shared Codebook: indexes built from one compress identically, so split indexes merge exactly."""

from __future__ import annotations

import numpy as np
import pytest
from plaid_data import unit

from plait.indexes.plaid import PLAID, Codebook, PLAIDSearchParams

EVERYTHING = PLAIDSearchParams(
    ncells=1 << 20, centroid_score_threshold=float("-inf"), ndocs=10_000, n_full_scores=10_000
)


@pytest.fixture(scope="module")
def codebook(corpus) -> Codebook:
    return Codebook.train(corpus.docs, nbits=2, n_centroids=64, seed=1)


def test_save_load_round_trip(tmp_path, codebook):
    path = codebook.save(tmp_path / "cb" / "codebook.npz")
    loaded = Codebook.load(path)
    assert loaded.same_as(codebook) and loaded.nbits == 2 and loaded.n_centroids == 64
    assert sorted(p.name for p in path.parent.iterdir()) == ["codebook.npz"]  # no temp file left


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a plait codebook|cannot read"):
        Codebook.load(tmp_path / "x.npz")


def test_index_uses_the_codebook_without_training(tmp_path, corpus, codebook):
    index = PLAID(tmp_path, "p", codebook=codebook)
    index.add_documents(corpus.ids[:40], corpus.docs[:40])
    assert index.nbits == 2 and index.last_build_timings["kmeans_s"] == 0.0
    assert index.quantizer is not None and index.codec is not None
    assert codebook.same_as(Codebook(index.quantizer, index.codec))
    reopened = PLAID(tmp_path, "p")  # opening without the codebook keeps the stored one
    assert codebook.same_as(Codebook(reopened.quantizer, reopened.codec))  # type: ignore[arg-type]


def test_split_indexes_merge_to_the_single_index(tmp_path, corpus, codebook):
    single = PLAID(tmp_path, "all", codebook=codebook).add_documents(corpus.ids, corpus.docs)
    half = len(corpus.ids) // 2
    parts = [
        PLAID(tmp_path, "a", codebook=codebook).add_documents(
            corpus.ids[:half], corpus.docs[:half]
        ),
        PLAID(tmp_path, "b", codebook=codebook).add_documents(
            corpus.ids[half:], corpus.docs[half:]
        ),
    ]
    wants = single.search(corpus.queries, k=10, params=EVERYTHING)
    got = [part.search(corpus.queries, k=10, params=EVERYTHING) for part in parts]
    for qi, want in enumerate(wants):
        merged = sorted(
            (float(s), i)
            for part in got
            for i, s in zip(part[qi].ids, part[qi].scores, strict=True)
        )[::-1][:10]
        np.testing.assert_allclose([s for s, _ in merged], want.scores, rtol=0, atol=1e-6)
        assert {i for _, i in merged} == set(want.ids)
    doc = corpus.ids[-1]
    np.testing.assert_array_equal(
        single.get_documents_embeddings([doc])[0], parts[1].get_documents_embeddings([doc])[0]
    )


def test_shared_codebook_is_never_retrained(tmp_path, corpus, codebook):
    index = PLAID(tmp_path, "p", codebook=codebook)
    index.add_documents(corpus.ids[:5], corpus.docs[:5])
    far = [unit(np.random.default_rng(0).normal(size=(20, codebook.dim))) for _ in range(200)]
    index.add_documents([f"far-{i}" for i in range(200)], far)  # 4x growth and a poor fit
    assert index.last_add is not None and index.last_add.new_centroids == 0  # never grown
    assert codebook.same_as(Codebook(index.quantizer, index.codec))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shared codebook"):
        index.retrain()


def test_mismatched_codebook_or_nbits_is_refused(tmp_path, corpus, codebook):
    PLAID(tmp_path, "p", codebook=codebook).add_documents(corpus.ids[:5], corpus.docs[:5])
    other = Codebook.train(corpus.docs, nbits=2, n_centroids=32, seed=2)
    with pytest.raises(ValueError, match="another codebook"):
        PLAID(tmp_path, "p", codebook=other)
    with pytest.raises(ValueError, match="nbits=4 disagrees"):
        PLAID(tmp_path, "q", codebook=codebook, nbits=4)
    with pytest.raises(TypeError, match="Codebook"):
        PLAID(tmp_path, "r", codebook="codebook.npz")  # type: ignore[arg-type]


def test_new_nbits_on_the_same_centroids(corpus, codebook):
    four = Codebook.train(corpus.docs, nbits=4, quantizer=codebook.quantizer)
    assert four.nbits == 4
    np.testing.assert_array_equal(four.quantizer.centroids, codebook.quantizer.centroids)
