"""ShardedPLAID without Ray (``backend="local"``): equality with one PLAID index, routing, manifest.

The oracle is a single PLAID index built with the sharded index's codebook, documents inserted shard
by shard (the order in which the coordinator breaks exact ties).
"""

from __future__ import annotations

import numpy as np
import pytest
from sharded_data import clustered_docs, queries, shard_order

from plait.distributed import ShardedPLAID, ShardUnavailableError, shard_of
from plait.indexes import (
    PLAID,
    DuplicateIdError,
    Index,
    IndexInputError,
    PLAIDSearchParams,
    UnknownIdError,
)
from plait.indexes.storage import IndexFolder

N_SHARDS = 4


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(sharded index, single index with the same codebook, ids, docs)."""
    folder = tmp_path_factory.mktemp("sharded")
    ids, docs = clustered_docs(500)
    sharded = ShardedPLAID(folder, "sharded", n_shards=N_SHARDS)
    sharded.add_documents(ids, docs)
    single = PLAID(folder, "single", codebook=sharded.codebook)
    order = shard_order(ids, N_SHARDS)
    single.add_documents([ids[p] for p in order], [docs[p] for p in order])
    return sharded, single, ids, docs


TIE = 1e-6  # scores this close are a tie: float rounding (which differs between callers by an ulp) breaks it


def same(a, b) -> None:
    """Equal results; only documents whose scores tie (within ``TIE``) may trade places."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert len(x.ids) == len(y.ids)
        np.testing.assert_allclose(x.scores, y.scores, atol=1e-5)
        theirs = dict(zip(y.ids, y.scores, strict=True))
        for doc, score, other in zip(x.ids, x.scores, y.ids, strict=True):
            if doc != other:
                tied_in_y = doc in theirs and abs(theirs[doc] - score) <= TIE
                tied_at_cut = doc not in theirs and abs(score - y.scores[-1]) <= TIE
                assert tied_in_y or tied_at_cut, (doc, other)
        assert not x.partial


@pytest.mark.parametrize(
    ("k", "params"),
    [
        (10, None),
        (5, PLAIDSearchParams(ncells=1, ndocs=16, n_full_scores=8)),  # every cut bites
        (10, PLAIDSearchParams(centroid_score_threshold=float("-inf"), ndocs=32, n_full_scores=12)),
        (10, PLAIDSearchParams(centroid_score_threshold=5.0, ndocs=24)),  # nothing kept: no pruning
        pytest.param(  # ncells doubling (also in test_search_driver.py)
            40, PLAIDSearchParams(ncells=1, ndocs=40, n_full_scores=40), marks=pytest.mark.slow
        ),
        pytest.param(600, None, marks=pytest.mark.slow),  # k above the collection size
    ],
)
def test_equals_one_index_with_the_same_codebook(pair, k, params):
    sharded, single, _, _ = pair
    qs = queries(25)
    same(sharded.search(qs, k, params=params), single.search(qs, k, params=params))


def test_equal_with_subsets(pair):
    sharded, single, ids, _ = pair
    qs = queries(12)
    for subset in (ids[::3], ids[:7], ids[::2] + ["unknown"]):
        same(sharded.search(qs, 10, subset=subset), single.search(qs, 10, subset=subset))
    per_query = [ids[i::12] for i in range(12)]
    params = PLAIDSearchParams(ndocs=16, n_full_scores=8)
    same(
        sharded.search(qs, 10, subset=per_query, params=params),
        single.search(qs, 10, subset=per_query, params=params),
    )


def test_cuts_are_global_not_per_shard(pair):
    """Merging each shard's own top-k would differ: the test data makes shards compete."""
    sharded, single, _, _ = pair
    qs = queries(25)
    params = PLAIDSearchParams(ncells=1, ndocs=16, n_full_scores=8)
    merged = []
    for name in sharded.shard_names:
        shard = PLAID(f"{sharded.path}/shards", name)
        merged.append(shard.search(qs, 5, params=params))
    naive = [
        sorted(((s, i) for r in rs for i, s in zip(r.ids, r.scores, strict=True)), reverse=True)[:5]
        for rs in zip(*merged, strict=True)
    ]
    expected = single.search(qs, 5, params=params)
    assert any([i for _, i in n] != e.ids for n, e in zip(naive, expected, strict=True))


def test_protocol_and_routing(pair):
    sharded, _, ids, _ = pair
    assert isinstance(sharded, Index) and len(sharded) == len(ids) and sharded.dim == 32
    for s, name in enumerate(sharded.shard_names):
        shard = PLAID(f"{sharded.path}/shards", name)
        assert shard.documents_ids == [i for i in ids if shard_of(i, N_SHARDS) == s]
        assert sharded.shard_counts()[name] == len(shard)


def test_add_remove_replace_route_to_the_owner(tmp_path):
    ids, docs = clustered_docs(120)
    index = ShardedPLAID(tmp_path, "idx", n_shards=3)
    index.add_documents(ids[:100], docs[:100])
    index.add_documents(ids[100:], docs[100:])
    with pytest.raises(DuplicateIdError):
        index.add_documents(ids[:2], docs[:2])
    with pytest.raises(UnknownIdError):
        index.remove_documents(["doc-1", "missing"], missing="raise")
    assert len(index) == 120 and "doc-1" in index  # nothing removed
    index.remove_documents(["doc-1", "doc-2"])
    assert "doc-1" not in index and len(index) == 118
    index.add_documents(["doc-3"], [docs[50]], replace=True)
    np.testing.assert_allclose(
        index.get_documents_embeddings(["doc-3"])[0],
        index.get_documents_embeddings(["doc-50"])[0],
        atol=1e-6,
    )
    owner = index.shard_names[shard_of("doc-3", 3)]
    assert PLAID(f"{index.path}/shards", owner).documents_ids.count("doc-3") == 1
    reopened = ShardedPLAID(tmp_path, "idx")
    assert sorted(reopened.documents_ids) == sorted(index.documents_ids)
    assert reopened.codebook is not None and reopened.codebook.same_as(index.codebook)
    same(reopened.search(queries(5), 10), index.search(queries(5), 10))


def test_partition_keys(tmp_path):
    ids, docs = clustered_docs(40)
    index = ShardedPLAID(tmp_path, "idx", n_shards=4, partition="key")
    with pytest.raises(IndexInputError, match="partition_keys"):
        index.add_documents(ids, docs)
    keys = ["tenant-a" if i % 2 else "tenant-b" for i in range(40)]
    index.add_documents(ids, docs, partition_keys=keys)
    counts = index.shard_counts()
    assert sorted(counts.values()) == [0, 0, 20, 20] or sorted(counts.values()) == [0, 0, 0, 40]
    index.add_documents(["doc-1"], [docs[1]], replace=True, partition_keys=["tenant-c"])  # moves
    shard = index.shard_names[shard_of("tenant-c", 4)]
    assert "doc-1" in PLAID(f"{index.path}/shards", shard).documents_ids and len(index) == 40
    index.remove_documents(["doc-1"])
    assert "doc-1" not in index and len(index) == 39


def test_manifest_commit_is_the_switch(tmp_path, monkeypatch):
    """A crash while committing the trained codebook leaves the index empty and untrained."""
    ids, docs = clustered_docs(50)
    index = ShardedPLAID(tmp_path, "idx", n_shards=2)
    top = IndexFolder(index.path)
    real_commit = IndexFolder.commit

    def crash(self, manifest, **kwargs):
        if self.path == top.path:
            raise OSError("simulated crash before the manifest switch")
        return real_commit(self, manifest, **kwargs)

    monkeypatch.setattr(IndexFolder, "commit", crash)
    with pytest.raises(OSError, match="simulated"):
        index.add_documents(ids, docs)
    monkeypatch.undo()
    reopened = ShardedPLAID(tmp_path, "idx")
    assert reopened.codebook is None and len(reopened) == 0
    assert top.read_manifest()["format"] == "plait-sharded-plaid"
    reopened.add_documents(ids, docs)
    assert len(ShardedPLAID(tmp_path, "idx")) == 50


def test_a_failing_shard_raises_or_gives_marked_partial_results(tmp_path):
    ids, docs = clustered_docs(200)
    index = ShardedPLAID(tmp_path, "idx", n_shards=4)
    index.add_documents(ids, docs)
    qs = queries(4)
    full = index.search(qs, 10)
    broken = index._shards.workers[2]

    def fail(*args):
        raise OSError("disk gone")

    broken.exact = fail
    with pytest.raises(ShardUnavailableError, match="shard-002") as error:
        index.search(qs, 10)
    assert error.value.shard == "shard-002"
    partial = index.search(qs, 10, allow_partial=True)
    lost = {i for i in ids if shard_of(i, 4) == 2}
    for p, f in zip(partial, full, strict=True):
        assert p.partial and p.missing_shards == ("shard-002",)
        assert not set(p.ids) & lost
        kept = [i for i in f.ids if i not in lost]
        assert p.ids[: len(kept)] == kept  # the other shards' best documents, in the same order


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="n_shards"):
        ShardedPLAID(tmp_path, "a", n_shards=0)
    with pytest.raises(ValueError, match="partition"):
        ShardedPLAID(tmp_path, "b", partition="random")
    with pytest.raises(ValueError, match="backend"):
        ShardedPLAID(tmp_path, "c", backend="spark")
    PLAID(tmp_path, "plain")
    with pytest.raises(ValueError, match="plait-plaid"):
        ShardedPLAID(tmp_path, "plain")


def test_retrieve_colbert_takes_a_sharded_index(pair):
    from plait.retrieve import ColBERT

    sharded, single, _, _ = pair
    qs = queries(6)
    hits = ColBERT(sharded).retrieve(qs, k=5)
    for got, want in zip(hits, single.search(qs, 5), strict=True):
        assert [h["id"] for h in got] == want.ids
        np.testing.assert_allclose([h["score"] for h in got], want.scores, atol=1e-5)
