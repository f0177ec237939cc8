"""One conformance suite for every index implementation (registry in conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from plait.indexes import DuplicateIdError, Index, IndexInputError, SearchResult, UnknownIdError
from plait.scores.reference import maxsim_reference

DIM = 32


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_docs(n: int, seed: int = 0, prefix: str = "doc") -> tuple[list[str], list[np.ndarray]]:
    """Well-separated documents: random unit tokens in 32-d are nearly orthogonal."""
    rng = np.random.default_rng(seed)
    ids = [f"{prefix}{i}" for i in range(n)]
    return ids, [unit(rng.standard_normal((int(rng.integers(4, 9)), DIM))) for _ in range(n)]


def query_for(doc: np.ndarray, seed: int = 0) -> np.ndarray:
    """A query made of the document's first tokens plus a little noise: that document wins."""
    rng = np.random.default_rng(seed)
    return unit(doc[:3] + 0.05 * rng.standard_normal((3, DIM)))


def brute_force(queries, ids, docs, k, allowed=None):
    out = []
    for q in queries:
        scored = [
            (maxsim_reference(q, d), i)
            for i, d in zip(ids, docs, strict=True)
            if allowed is None or i in allowed
        ]
        scored.sort(key=lambda t: -t[0])
        out.append(scored[:k])
    return out


@pytest.fixture
def built(index_factory, tmp_path):
    ids, docs = make_docs(30)
    index = index_factory.create(tmp_path)
    index.add_documents(ids, docs)
    return index, ids, docs


def test_implements_protocol_and_starts_empty(index_factory, tmp_path):
    index = index_factory.create(tmp_path)
    assert isinstance(index, Index)
    assert len(index) == 0 and index.documents_ids == [] and "x" not in index
    results = index.search([np.ones((2, DIM), np.float32)], k=3)
    assert len(results) == 1 and isinstance(results[0], SearchResult) and len(results[0]) == 0


def test_each_document_is_found_by_its_own_query(built, index_factory):
    index, ids, docs = built
    listed = (
        index.documents_ids
        if index_factory.ordered_ids
        else sorted(index.documents_ids, key=ids.index)
    )
    assert len(index) == 30 and index.dim == DIM and listed == ids
    assert "doc7" in index and "nope" not in index
    results = index.search([query_for(d, i) for i, d in enumerate(docs)], k=5)
    assert len(results) == 30
    for doc_id, result in zip(ids, results, strict=True):
        assert result.ids[0] == doc_id and len(result) == 5
        assert np.all(np.diff(result.scores) <= 1e-6)
        assert set(result.ids) <= set(ids)


def test_a_single_2d_query_and_a_3d_batch(built):
    index, ids, docs = built
    assert index.search(query_for(docs[4]), k=1)[0].ids == ["doc4"]
    batch = np.stack([query_for(docs[1]), query_for(docs[2])])
    assert [r.ids[0] for r in index.search(batch, k=1)] == ["doc1", "doc2"]


def test_fewer_than_k_documents(index_factory, tmp_path):
    ids, docs = make_docs(3)
    index = index_factory.create(tmp_path)
    index.add_documents(ids, docs)
    result = index.search([query_for(docs[0])], k=10)[0]
    assert sorted(result.ids) == sorted(ids) and len(result.scores) == 3


def test_remove(built):
    index, ids, docs = built
    index.remove_documents(["doc3", "doc5"])
    assert len(index) == 28 and "doc3" not in index and "doc3" not in index.documents_ids
    for result in index.search([query_for(docs[3]), query_for(docs[5])], k=30):
        assert "doc3" not in result.ids and "doc5" not in result.ids and len(result) == 28
    with pytest.raises(UnknownIdError, match="nope"):
        index.remove_documents(["doc1", "nope"], missing="raise")
    assert "doc1" in index and len(index) == 28  # nothing removed
    with pytest.raises(UnknownIdError):
        index.remove_documents(["doc3"], missing="raise")  # already gone
    with pytest.raises(ValueError, match="missing"):
        index.remove_documents(["doc1"], missing="skip")
    assert "doc1" in index


def test_remove_skips_unknown_ids_as_pylate_does(built):
    index, ids, docs = built
    index.remove_documents(["doc1", "nope"])  # PyLate ignores the unknown id
    assert "doc1" not in index and len(index) == 29
    index.remove_documents(["nope", "doc1"])  # both unknown now: nothing to do
    assert len(index) == 29


def test_pylate_add_shapes_and_update_documents(built):
    """PyLate's add_documents spellings: one bare id, one 2-D matrix, batch_size; update_documents."""
    index, ids, docs = built
    new_ids, new_docs = make_docs(3, seed=7, prefix="new")
    index.add_documents("new0", new_docs[0], batch_size=2)
    index.add_documents(["new1"], new_docs[1])
    assert index.search([query_for(new_docs[0])], k=1)[0].ids == ["new0"]
    assert index.search([query_for(new_docs[1])], k=1)[0].ids == ["new1"]
    with pytest.raises(IndexInputError, match="one 2-D matrix is one document"):
        index.add_documents(["a", "b"], new_docs[2])
    # update_documents replaces doc4's vectors (the same id) and adds an id not yet indexed
    assert index.update_documents(["doc4", "new2"], [new_docs[2], docs[4]]) is index
    assert len(index) == 33
    assert index.search([query_for(new_docs[2])], k=1)[0].ids == ["doc4"]
    assert index.search([query_for(docs[4])], k=1)[0].ids == ["new2"]


def test_duplicate_ids_are_rejected_and_nothing_changes(built):
    index, ids, docs = built
    new_ids, new_docs = make_docs(2, seed=1, prefix="new")
    with pytest.raises(DuplicateIdError, match="new0"):
        index.add_documents(["new0", "new0"], new_docs)
    with pytest.raises(DuplicateIdError, match="doc2"):
        index.add_documents(["new0", "doc2"], new_docs)
    assert len(index) == 30 and "new0" not in index
    assert isinstance(DuplicateIdError("x"), ValueError)


def test_replace_upserts(built):
    index, ids, docs = built
    _, fresh = make_docs(2, seed=9)
    index.add_documents(["doc0", "extra"], fresh, replace=True)
    assert len(index) == 31 and "extra" in index
    assert index.search([query_for(fresh[0])], k=1)[0].ids == ["doc0"]
    assert "doc0" not in index.search([query_for(docs[0])], k=1)[0].ids
    stored = index.get_documents_embeddings(["doc0"])[0]
    assert stored.shape == fresh[0].shape
    np.testing.assert_allclose(stored, fresh[0], atol=0.1)


def test_subset(built):
    index, ids, docs = built
    query = query_for(docs[0])
    shared = index.search([query, query_for(docs[1])], k=5, subset=["doc2", "doc9", "unknown"])
    for result in shared:
        assert sorted(result.ids) == ["doc2", "doc9"]
    per_query = index.search([query, query], k=5, subset=[["doc0", "doc4"], ["doc7"]])
    assert per_query[0].ids[0] == "doc0" and set(per_query[0].ids) == {"doc0", "doc4"}
    assert per_query[1].ids == ["doc7"]
    assert len(index.search([query], k=5, subset=[])[0]) == 0
    with pytest.raises(ValueError, match="subset"):
        index.search([query, query], k=5, subset=[["doc0"]])
    index.remove_documents(["doc2"])
    assert index.search([query], k=5, subset=["doc2", "doc9"])[0].ids == ["doc9"]


@pytest.mark.slow_kinds("sharded-plaid")
def test_reopen_gives_the_same_state(index_factory, tmp_path):
    ids, docs = make_docs(20)
    index = index_factory.create(tmp_path)
    index.add_documents(ids[:12], docs[:12])
    index.add_documents(ids[12:], docs[12:])
    index.remove_documents(["doc1", "doc13"])
    _, fresh = make_docs(1, seed=5)
    index.add_documents(["doc2"], fresh, replace=True)
    queries = [query_for(d, i) for i, d in enumerate(docs)]
    before = index.search(queries, k=4)
    again = index_factory.reopen(tmp_path)
    assert again.documents_ids == index.documents_ids and len(again) == 18 and again.dim == DIM
    after = again.search(queries, k=4)
    for a, b in zip(before, after, strict=True):
        assert a.ids == b.ids
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)
    for x, y in zip(
        index.get_documents_embeddings(["doc0", "doc2"]),
        again.get_documents_embeddings(["doc0", "doc2"]),
        strict=True,
    ):
        np.testing.assert_array_equal(x, y)


def test_get_documents_embeddings(built):
    index, ids, docs = built
    got = index.get_documents_embeddings(["doc4", "doc0"])
    assert [g.shape for g in got] == [docs[4].shape, docs[0].shape]
    assert all(g.dtype == np.float32 for g in got)
    np.testing.assert_allclose(got[0], docs[4], atol=0.1)
    with pytest.raises(UnknownIdError):
        index.get_documents_embeddings(["doc0", "missing"])


def test_bad_input_raises_clear_errors(built):
    index, ids, docs = built
    with pytest.raises(IndexInputError, match="dimension"):
        index.add_documents(["d"], [np.ones((2, DIM + 1), np.float32)])
    with pytest.raises(ValueError, match="no token embeddings"):
        index.add_documents(["d"], [np.ones((0, DIM), np.float32)])
    with pytest.raises(ValueError, match="documents_ids"):
        index.add_documents(["d", "e"], [docs[0]])
    with pytest.raises(TypeError, match="strings"):
        index.add_documents([1], [docs[0]])
    with pytest.raises(ValueError, match="NaN"):
        index.add_documents(["d"], [np.full((2, DIM), np.nan, np.float32)])
    with pytest.raises(ValueError, match="dimension"):
        index.search([np.ones((2, DIM + 1), np.float32)], k=3)
    with pytest.raises(ValueError, match="k must be"):
        index.search([docs[0]], k=0)
    assert len(index) == 30 and "d" not in index


def test_exact_results_equal_brute_force(index_factory, tmp_path):
    if not index_factory.exact:
        pytest.skip("approximate index: checked on well-separated data above")
    rng = np.random.default_rng(3)
    ids = [f"r{i}" for i in range(25)]
    docs = [rng.standard_normal((int(rng.integers(1, 7)), DIM)).astype(np.float32) for _ in ids]
    queries = [
        rng.standard_normal((int(rng.integers(1, 5)), DIM)).astype(np.float32) for _ in range(6)
    ]
    index = index_factory.create(tmp_path)
    index.add_documents(ids[:10], docs[:10])
    index.add_documents(ids[10:], docs[10:])
    for subset in (None, ids[::3]):
        want = brute_force(queries, ids, docs, 7, None if subset is None else set(subset))
        for got, expected in zip(index.search(queries, k=7, subset=subset), want, strict=True):
            assert got.ids == [i for _, i in expected]
            np.testing.assert_allclose(got.scores, [s for s, _ in expected], rtol=1e-5, atol=1e-5)


def test_in_memory(index_factory):
    if not index_factory.in_memory:
        pytest.skip(f"{index_factory.name} has no in-memory mode")
    ids, docs = make_docs(5)
    index = index_factory.create(None)
    index.add_documents(ids, docs)
    assert index.search([query_for(docs[2])], k=1)[0].ids == ["doc2"]


def test_texts_are_committed_with_the_vectors(index_factory, tmp_path):
    ids, docs = make_docs(12)
    index = index_factory.create(tmp_path)
    index.add_documents(ids[:8], docs[:8], texts=[f"text {i}" for i in ids[:8]])
    index.add_documents(ids[8:], docs[8:])  # no texts: None
    index.add_documents(["doc2"], [docs[2]], replace=True, texts=["doc2, second version"])
    index.remove_documents(["doc0"])
    if hasattr(index, "compact"):
        index.compact()
    expected = {i: f"text {i}" for i in ids[1:8]} | {i: None for i in ids[8:]}
    expected["doc2"] = "doc2, second version"
    for opened in (index, index_factory.reopen(tmp_path)):
        wanted = sorted(expected)
        assert opened.get_documents(wanted) == [
            {"id": i, "text": expected[i], "metadata": {}} for i in wanted
        ]
        with pytest.raises(UnknownIdError):
            opened.get_documents(["doc0"])
        with pytest.raises(TypeError, match="string"):
            opened.get_documents("doc1")
    with pytest.raises(IndexInputError, match="texts"):
        index.add_documents(["new"], [docs[0]], texts=["a", "b"])
    with pytest.raises(TypeError, match="text"):
        index.add_documents(["new"], [docs[0]], texts=[3])
    assert "new" not in index


def test_pylate_call_shape(built):
    """PyLate code calls ``index(queries_embeddings, k=...)`` on every index kind."""
    index, ids, docs = built
    queries = [query_for(docs[3]), query_for(docs[7], seed=1)]
    answer = index(queries, k=4)
    expected = index.search(queries, 4)
    assert answer == [r.to_dicts() for r in expected]
    assert answer[0][0]["id"] == "doc3" and set(answer[0][0]) == {"id", "score"}
    assert (
        index(queries, 2, subset=["doc7"])[1]
        == [r.to_dicts() for r in index.search(queries, 2, subset=["doc7"])][1]
    )


@pytest.mark.slow_kinds("sharded-plaid")
def test_open_index_reads_the_format_from_the_manifest(built, index_factory, tmp_path):
    """``indexes.open_index(path)`` opens every kind by its manifest, with the same answers."""
    from pathlib import Path

    from plait.indexes import open_index

    index, ids, docs = built
    path = getattr(index, "path", None)
    if path is None:
        pytest.skip("an in-memory index has no folder")
    opened = open_index(Path(path))
    assert type(opened) is type(index) and len(opened) == len(index)
    queries = [query_for(d, i) for i, d in enumerate(docs[:5])]
    for a, b in zip(opened.search(queries, k=4), index.search(queries, k=4), strict=True):
        assert a.ids == b.ids
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-6)
    with pytest.raises(FileNotFoundError, match="no plait index"):
        open_index(tmp_path / "elsewhere")


def test_path_stats_verify_close(built, index_factory):
    """The shared contract: ``path``, ``stats`` of the held state, ``verify()``, ``close()``."""
    from pathlib import Path

    index, ids, docs = built
    assert index.path is None or isinstance(index.path, Path)
    stats = index.stats
    n_tokens = sum(len(d) for d in docs)
    assert stats["documents"] == 30 and stats["tokens"] == n_tokens == stats["stored_tokens"]
    assert stats["deleted_documents"] == 0 and stats["segments"] >= 1
    index.remove_documents(["doc3"])
    after = index.stats
    assert after["documents"] == 29 and after["tokens"] == n_tokens - len(docs[3])
    assert after["deleted_documents"] + after["documents"] >= 29
    if index.path is not None:
        assert after["disk_bytes"] > 0
    index.verify()
    with index as same:
        assert same is index
    index.close()


def test_metadata_is_committed_with_the_vectors(index_factory, tmp_path):
    """Metadata (one flat dict per document) round-trips through writes, replace, remove,
    compaction and reopening, with its types; a clash or a bad value writes nothing."""
    import datetime as dt

    ids, docs = make_docs(12)
    index = index_factory.create(tmp_path)
    meta = [
        {"year": 2000 + i, "source": "pubmed" if i % 2 else "arxiv", "draft": i == 3}
        for i in range(8)
    ]
    meta[5]["published"] = dt.date(2021, 5, 17)
    meta[6]["score"] = 0.25
    index.add_documents(ids[:8], docs[:8], metadata=meta, texts=[f"t{i}" for i in range(8)])
    index.add_documents(ids[8:], docs[8:], metadata=[None, {"lang": "fr"}, {}, None])  # a new key
    index.add_documents(["doc2"], [docs[2]], replace=True, metadata=[{"year": 1999}])
    index.remove_documents(["doc0"])
    if hasattr(index, "compact"):
        index.compact()
    expected = {ids[i]: dict(meta[i]) for i in range(1, 8)}
    expected.update(
        {"doc2": {"year": 1999}, "doc8": {}, "doc9": {"lang": "fr"}, "doc10": {}, "doc11": {}}
    )
    expected["doc3"]["draft"] = True
    for opened in (index, index_factory.reopen(tmp_path)):
        got = {d["id"]: d["metadata"] for d in opened.get_documents(sorted(expected))}
        assert got == expected
        assert isinstance(got["doc5"]["published"], dt.date) and got["doc6"]["score"] == 0.25
        assert opened.get_documents(["doc4"])[0]["text"] == "t4"
    before = sorted(index.documents_ids)
    for bad, message in (
        ([{"year": "two thousand"}], "several types"),
        ([{"tags": ["a", "b"]}], "no lists"),
        ([{"bad key": 1}], "column name"),
        ([{"x": float("nan")}], "NaN"),
        ({"year": 1}, "one dict per document"),
        ([{"a": 1}, {"a": 2}], "2 metadata entries for 1"),
    ):
        with pytest.raises(IndexInputError, match=message):
            index.add_documents(["new"], [docs[0]], metadata=bad)
    if index.path is not None or True:
        assert sorted(index.documents_ids) == before and "new" not in index


def _filtered_corpus(index_factory, tmp_path, n=40):
    import datetime as dt

    ids, docs = make_docs(n, seed=3)
    index = index_factory.create(tmp_path)
    meta = [
        {
            "year": 2000 + i % 10,
            "source": ["pubmed", "arxiv", "web"][i % 3],
            "draft": i % 4 == 0,
            **({"published": dt.date(2020, 1, 1 + i % 28)} if i % 2 else {}),
        }
        for i in range(n)
    ]
    index.add_documents(ids[:25], docs[:25], metadata=meta[:25])
    index.add_documents(ids[25:], docs[25:], metadata=meta[25:])
    index.remove_documents(["doc1"])
    return index, ids, docs, meta


@pytest.mark.parametrize(
    "where, params, keep",
    [
        ("year >= ?", [2005], lambda m: m["year"] >= 2005),
        (
            "source = ? AND NOT draft",
            ["pubmed"],
            lambda m: m["source"] == "pubmed" and not m["draft"],
        ),
        (
            "year IN (2001, 2002) OR source = 'web'",
            [],
            lambda m: m["year"] in (2001, 2002) or m["source"] == "web",
        ),
        (
            "published >= DATE '2020-01-10'",
            None,
            lambda m: "published" in m and m["published"].day >= 10,
        ),
        ("year = ?", [1999], lambda m: False),
    ],
)
# sharded: slow (three shards to train per case); test_update_metadata_is_a_commit filters it fast
@pytest.mark.slow_kinds("sharded-plaid")
def test_filter_equals_exact_search_over_the_matching_documents(
    index_factory, tmp_path, where, params, keep
):
    index, ids, docs, meta = _filtered_corpus(index_factory, tmp_path)
    matching = {i for i, m in zip(ids, meta, strict=True) if keep(m) and i != "doc1"}
    assert set(index.filter_ids(where, params)) == matching
    queries = [query_for(docs[i], i) for i in (0, 7, 12, 30)]
    for k in (3, 10):
        got = index.search(queries, k=k, filter=where, filter_params=params)
        want = brute_force(queries, ids, docs, k, allowed=matching)
        for result, expected in zip(got, want, strict=True):
            assert len(result) == min(k, len(matching))  # k results whenever k documents match
            if index_factory.exact:
                assert result.ids == [i for _, i in expected]
            assert set(result.ids) <= matching
    both = index.search(
        queries, k=5, subset=["doc0", "doc2", "doc3", "doc4"], filter=where, filter_params=params
    )
    for result in both:
        assert set(result.ids) <= matching & {"doc0", "doc2", "doc3", "doc4"}
    assert (
        index(queries, 2, filter=where, filter_params=params)[0]
        == [r.to_dicts() for r in index.search(queries, 2, filter=where, filter_params=params)][0]
    )


@pytest.mark.parametrize(
    "where, params, message",
    [
        ("nosuch > 1", [], "nosuch"),
        ("year > ?", ["not a year"], "cannot run"),
        ("year >", [], "not a valid SQL condition"),
        ("year > 1) UNION SELECT 1 --", [], "not a valid SQL condition"),
        ("year > 1 UNION SELECT 1", [], "not a valid SQL condition|one condition"),
        ("year IN (SELECT 1)", [], "not a valid SQL condition|one condition"),
        (
            "(SELECT count(*) FROM read_csv('/etc/passwd')) > 0",
            [],
            "not a valid SQL condition|one condition",
        ),
        ("year > 1; DROP TABLE t", [], "not a valid SQL condition"),
        ("year > ? AND year < ?", [1], "cannot run"),
        ("", [], "non-empty"),
    ],
)
@pytest.mark.slow_kinds("sharded-plaid")  # one shared check: filtering.check_filter
def test_bad_filters_are_refused_with_a_clear_error(
    index_factory, tmp_path, where, params, message
):
    index, ids, docs, _ = _filtered_corpus(index_factory, tmp_path, n=12)
    with pytest.raises(IndexInputError, match=message):
        index.search([query_for(docs[0])], k=3, filter=where, filter_params=params)
    with pytest.raises(IndexInputError, match="without a filter"):
        index.search([query_for(docs[0])], k=3, filter_params=[1])


def test_update_metadata_is_a_commit(index_factory, tmp_path):
    index, ids, docs, meta = _filtered_corpus(index_factory, tmp_path, n=12)
    index.update_metadata(["doc2", "doc9"], [{"year": 1990, "lang": "fr"}, None])
    for opened in (index, index_factory.reopen(tmp_path)):
        got = {d["id"]: d["metadata"] for d in opened.get_documents(["doc2", "doc9", "doc3"])}
        assert got == {"doc2": {"year": 1990, "lang": "fr"}, "doc9": {}, "doc3": meta[3]}
        assert opened.filter_ids("lang = ?", ["fr"]) == ["doc2"]
    with pytest.raises(UnknownIdError):
        index.update_metadata(["nope"], [{"year": 1}])
    with pytest.raises(IndexInputError, match="several types"):
        index.update_metadata(["doc3"], [{"year": "old"}])
    assert index.get_documents(["doc3"])[0]["metadata"] == meta[3]
