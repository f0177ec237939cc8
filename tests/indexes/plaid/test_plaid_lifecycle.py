"""PLAID life cycle: persistence, add/remove/replace/compact against the exact index as oracle."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plaid_data import clustered_corpus

from plait.indexes import Exact
from plait.indexes.base import DuplicateIdError, UnknownIdError
from plait.indexes.plaid import PLAID, PLAIDSearchParams

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
        index.remove_documents([corpus.ids[1], "missing"])
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


def test_codec_drift_is_reported_and_retrain_fixes_it(tmp_path, caplog):
    rng = np.random.default_rng(0)
    near = [(rng.normal(size=(20, 16)) * 0.1 + 1).astype(np.float32) for _ in range(30)]
    far = [rng.normal(size=(20, 16)).astype(np.float32) * 3 for _ in range(60)]
    auto = PLAID(tmp_path, "auto", nbits=2)
    auto.add_documents([f"n{i}" for i in range(30)], near)
    auto.add_documents([f"f{i}" for i in range(30)], far[:30])  # re-trained on old + new
    assert auto.stats["codec_fits"] and auto.stats["trained_on_tokens"] == 1200
    auto_error = np.abs(auto.get_documents_embeddings(["f0"])[0] - far[0]).mean()

    index = PLAID(tmp_path, "p", nbits=2, auto_retrain_max_tokens=0)
    index.add_documents([f"n{i}" for i in range(30)], near)
    assert index.stats["codec_fits"]
    with caplog.at_level("WARNING"):
        index.add_documents([f"f{i}" for i in range(30)], far[:30])
    assert not index.stats["codec_fits"] and "retrain" in caplog.text
    error_before = np.abs(index.get_documents_embeddings(["f0"])[0] - far[0]).mean()
    assert auto_error < 0.5 * error_before
    ids = index.documents_ids
    stored = index.get_documents_embeddings(ids)
    index.retrain()  # from the stored vectors: what was lost stays lost, new data fits again
    assert index.documents_ids == ids
    error = np.mean(
        [
            np.abs(a - b).mean()
            for a, b in zip(stored, index.get_documents_embeddings(ids), strict=True)
        ]
    )
    assert error < 0.3
    assert index.stats["codec_fits"]  # fits what it stores (clipped far vectors stay clipped)
    assert PLAID(tmp_path, "p").stats["n_centroids"] == index.stats["n_centroids"]


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
        plaid = PLAID(folder, "p", nbits=2, auto_retrain_max_tokens=0)  # vectors never re-encoded
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
                plaid = PLAID(folder, "p", auto_retrain_max_tokens=0)
            if len(oracle):
                assert_same_results(plaid, oracle, POOL.queries)
            else:
                assert plaid.documents_ids == [] and plaid.search(POOL.queries, k=3)[0].ids == []
