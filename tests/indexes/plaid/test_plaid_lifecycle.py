"""PLAID life cycle: persistence, add/remove/replace/compact against the exact index as oracle."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plaid_data import clustered_corpus, unit

from plait.indexes import Exact
from plait.indexes.base import DuplicateIdError, IndexInputError, UnknownIdError
from plait.indexes.plaid import PLAID, PLAIDSearchParams
from plait.indexes.plaid.codebook import Codebook

POOL = clustered_corpus(n_families=4, family_size=10, dim=16, n_queries=4, seed=3)


def exhaustive(n_docs: int = 10_000) -> PLAIDSearchParams:
    return PLAIDSearchParams(
        ncells=1 << 20, centroid_score_threshold=float("-inf"), ndocs=n_docs, n_full_scores=n_docs
    )


def assert_same_results(plaid: PLAID, oracle: Exact, queries, k: int = 5) -> None:
    assert plaid.documents_ids == oracle.documents_ids
    assert len(plaid) == len(oracle)
    got = plaid.search(queries, k=k, params=exhaustive())
    everything = oracle.search(queries, k=len(oracle))
    for g, w in zip(got, everything, strict=True):
        np.testing.assert_allclose(g.scores, w.scores[:k], rtol=1e-5, atol=1e-5)
        truth = dict(zip(w.ids, w.scores, strict=True))  # ties may pick either id
        np.testing.assert_allclose([truth[i] for i in g.ids], g.scores, rtol=1e-5, atol=1e-5)


def test_persistence_round_trip(tmp_path, corpus):
    index = PLAID(index_folder=tmp_path, index_name="p", nbits=4)
    index.add_documents(corpus.ids[:150], corpus.docs[:150])
    index.add_documents(corpus.ids[150:], corpus.docs[150:])
    index.remove_documents(corpus.ids[10:20])
    before = index.search(corpus.queries, k=10)
    stored = index.get_documents_embeddings(corpus.ids[:5])
    reopened = PLAID(index_path=tmp_path, index_name="p", nbits=1)  # stored settings win
    assert reopened.nbits == 4 and reopened.documents_ids == index.documents_ids
    after = reopened.search(corpus.queries, k=10)
    for a, b in zip(before, after, strict=True):
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.scores, b.scores)
    for a, b in zip(stored, reopened.get_documents_embeddings(corpus.ids[:5]), strict=True):
        np.testing.assert_array_equal(a, b)
    reopened.verify()
    assert isinstance(reopened.segments[0].residuals, np.memmap)  # memory-mapped on open
    override = PLAID(tmp_path, "p", override=True)
    assert len(override) == 0 and override.dim is None


def test_tiny_first_batch_trains_and_searches(tmp_path):
    rng = np.random.default_rng(0)
    docs = [rng.normal(size=(n, 16)).astype(np.float32) for n in (3, 1, 2)]
    index = PLAID(index_path=tmp_path, index_name="docs", override=True)
    index.add_documents(["doc1", "doc2", "doc3"], docs)
    assert 1 <= index.stats["n_centroids"] <= 6
    hits = index.search(docs[0][None], k=5)[0]
    assert hits.ids[0] == "doc1" and len(hits) <= 3


def test_errors_and_duplicate_handling(tmp_path, corpus):
    index = PLAID(tmp_path, "p")
    index.add_documents(corpus.ids[:20], corpus.docs[:20])
    with pytest.raises(DuplicateIdError):
        index.add_documents([corpus.ids[0]], [corpus.docs[0]])
    with pytest.raises(DuplicateIdError):
        index.add_documents(["x", "x"], [corpus.docs[0], corpus.docs[1]])
    with pytest.raises(UnknownIdError):
        index.remove_documents([corpus.ids[1], "missing"], missing="raise")
    assert corpus.ids[1] in index  # nothing removed
    with pytest.raises(ValueError, match="dimension"):
        index.add_documents(["y"], [np.zeros((2, 8), np.float32)])
    with pytest.raises(TypeError, match="unexpected keyword"):
        PLAID(tmp_path, "q", n_bits=2)
    with pytest.raises(ValueError, match="nbits"):
        PLAID(tmp_path, "q", nbits=3)
    index.add_documents([corpus.ids[0]], [corpus.docs[5]], replace=True)
    assert index.documents_ids[-1] == corpus.ids[0] and len(index) == 20
    stored = index.get_documents_embeddings([corpus.ids[0]])[0]
    assert stored.shape == corpus.docs[5].shape and np.abs(stored - corpus.docs[5]).mean() < 0.05
    Exact(tmp_path, "exact").add_documents(["a"], [corpus.docs[0]])
    with pytest.raises(ValueError, match="plait-exact"):
        PLAID(tmp_path, "exact")


def test_far_documents_grow_the_codebook_from_their_own_vectors(tmp_path, caplog):
    rng = np.random.default_rng(0)
    near = [(rng.normal(size=(20, 16)) * 0.1 + 1).astype(np.float32) for _ in range(30)]
    centres = rng.normal(size=(8, 16)) * 3  # a new topic: clusters far from the first ones
    far = [
        (centres[rng.integers(0, 8, 20)] + rng.normal(size=(20, 16)) * 0.1).astype(np.float32)
        for _ in range(30)
    ]
    grown = PLAID(tmp_path, "grown", nbits=2)
    grown.add_documents([f"n{i}" for i in range(30)], near)
    assert grown.last_add is not None and grown.last_add.trained
    k = grown.stats["n_centroids"]
    grown.add_documents([f"f{i}" for i in range(30)], far)  # far from every centroid
    report = grown.last_add
    assert report is not None and not report.trained and report.new_centroids > 0
    assert report.n_centroids == k + report.new_centroids == grown.stats["n_centroids"]
    assert report.new_centroids <= 0.25 * k and report.outliers >= 64
    assert "new centroids" in report.summary()
    assert grown.stats["trained_on_tokens"] == 600  # the codec was not re-trained
    assert PLAID(tmp_path, "grown").stats["n_centroids"] == report.n_centroids  # committed

    fixed = PLAID(tmp_path, "fixed", nbits=2, max_growth_rate=0)  # never grows
    fixed.add_documents([f"n{i}" for i in range(30)], near)
    with caplog.at_level("WARNING"):
        fixed.add_documents([f"f{i}" for i in range(30)], far)
    assert fixed.last_add is not None and fixed.last_add.new_centroids == 0
    assert not fixed.stats["codec_fits"] and "retrain" in caplog.text
    assert "no longer fits" in fixed.last_add.summary()

    def error(index: PLAID) -> float:
        ids = [f"f{i}" for i in range(30)]
        got = index.get_documents_embeddings(ids)
        return float(np.mean([np.abs(a - b).mean() for a, b in zip(got, far, strict=True)]))

    assert error(grown) < 0.5 * error(fixed)
    # the near documents were stored once and never re-encoded: the same vectors in both
    for doc in ("n0", "n29"):
        np.testing.assert_array_equal(
            grown.get_documents_embeddings([doc])[0], fixed.get_documents_embeddings([doc])[0]
        )


def test_retrain_needs_the_originals_or_an_explicit_choice(tmp_path, caplog):
    rng = np.random.default_rng(1)
    ids = [f"d{i}" for i in range(40)]
    docs = [unit(rng.normal(size=(12, 16))) for _ in ids]
    index = PLAID(tmp_path, "p", nbits=2, n_centroids=16)
    index.add_documents(ids, docs)
    before = index.get_documents_embeddings(ids)
    with pytest.raises(ValueError, match="documents_embeddings"):
        index.retrain()
    np.testing.assert_array_equal(index.get_documents_embeddings(ids)[0], before[0])
    with pytest.raises(IndexInputError, match="lacks 1"):
        index.retrain(dict(zip(ids[1:], docs[1:], strict=True)))
    with pytest.raises(TypeError, match="map every document id"):
        index.retrain(docs)  # type: ignore[arg-type]

    index.retrain(dict(zip(ids, docs, strict=True)), n_centroids=8)  # from the originals
    fresh = PLAID(tmp_path, "fresh", nbits=2, n_centroids=8)
    fresh.add_documents(ids, docs)
    assert Codebook(index.quantizer, index.codec).same_as(Codebook(fresh.quantizer, fresh.codec))
    np.testing.assert_array_equal(
        index.get_documents_embeddings(ids)[3], fresh.get_documents_embeddings(ids)[3]
    )
    with caplog.at_level("WARNING"):
        index.retrain(from_compressed=True)  # asked for: logged
    assert "decoded vectors" in caplog.text and index.documents_ids == ids


def test_compaction_reclaims_space_and_keeps_vectors(tmp_path, corpus):
    index = PLAID(tmp_path, "p")
    for part in range(3):
        index.add_documents(corpus.ids[part::3], corpus.docs[part::3])
    keep = [i for i in index.documents_ids if int(i.split("-")[1]) % 2]
    vectors = index.get_documents_embeddings(keep)
    index.remove_documents([i for i in index.documents_ids if i not in set(keep)])
    before = index.stats
    index.compact()
    after = index.stats
    assert after["segments"] == 1 and after["deleted_documents"] == 0
    codec = sum(e["bytes"] for r, e in index.manifest["files"].items() if "." not in r)
    assert after["stored_tokens"] == after["tokens"] < 0.6 * before["stored_tokens"]
    assert after["disk_bytes"] - codec < 0.6 * (before["disk_bytes"] - codec)
    assert index.documents_ids == keep
    for a, b in zip(vectors, index.get_documents_embeddings(keep), strict=True):
        np.testing.assert_array_equal(a, b)
    names = {p.name for p in (tmp_path / "p").iterdir()}
    assert names <= {e["name"] for e in index.manifest["files"].values()} | {
        *index.manifest["retired"],
        "manifest.json",
        "writer.lock",
    }


operation = st.one_of(
    st.tuples(
        st.just("add"),
        st.lists(st.integers(0, len(POOL.ids) - 1), min_size=1, max_size=6, unique=True),
    ),
    st.tuples(
        st.just("replace"),
        st.lists(st.integers(0, len(POOL.ids) - 1), min_size=1, max_size=3, unique=True),
    ),
    st.tuples(
        st.just("remove"),
        st.lists(st.integers(0, len(POOL.ids) - 1), min_size=1, max_size=4, unique=True),
    ),
    st.tuples(st.just("compact"), st.just([])),
    st.tuples(st.just("reopen"), st.just([])),
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=1, max_size=7), seed=st.integers(0, 1000))
def test_life_cycle_matches_exact_oracle(ops, seed):
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder:
        plaid = PLAID(folder, "p", nbits=2)  # stored vectors are never re-encoded by an add
        oracle = Exact(index_folder=None)
        for kind, picks in ops:
            ids = [f"d{p}" for p in picks]
            if kind == "add":
                ids = [i for i in ids if i not in plaid]
                docs = [POOL.docs[int(rng.integers(len(POOL.docs)))] for _ in ids]
                plaid.add_documents(ids, docs)
                if ids:  # the oracle stores what PLAID stores (decoded vectors)
                    oracle.add_documents(ids, plaid.get_documents_embeddings(ids))
            elif kind == "replace" and plaid.dim is not None:
                docs = [POOL.docs[int(rng.integers(len(POOL.docs)))] for _ in ids]
                plaid.add_documents(ids, docs, replace=True)
                oracle.add_documents(ids, plaid.get_documents_embeddings(ids), replace=True)
            elif kind == "remove":
                ids = [i for i in ids if i in plaid]
                plaid.remove_documents(ids)
                oracle.remove_documents(ids)
            elif kind == "compact":
                plaid.compact()
            elif kind == "reopen":
                plaid = PLAID(folder, "p")
            if len(oracle):
                assert_same_results(plaid, oracle, POOL.queries)
            else:
                assert plaid.documents_ids == [] and plaid.search(POOL.queries, k=3)[0].ids == []
