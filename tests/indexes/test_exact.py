"""Exact-index specifics: on-disk layout, compaction, crash safety, concurrency, aliases."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.indexes import (
    CorruptIndexError,
    DuplicateIdError,
    Exact,
    IndexLockedError,
    UnknownIdError,
    Voyager,
)
from plait.indexes import segments as segments_module
from plait.indexes.storage import IndexFolder
from plait.scores.reference import maxsim_reference

DIM = 8


def docs(n, seed=0, prefix="d"):
    rng = np.random.default_rng(seed)
    return [f"{prefix}{i}" for i in range(n)], [
        rng.standard_normal((int(rng.integers(1, 6)), DIM)).astype(np.float32) for _ in range(n)
    ]


def manifest(index: Exact) -> dict:
    return json.loads((index.path / "manifest.json").read_text())


def snapshot(index: Exact, queries) -> list:
    return [(r.ids, r.scores.tolist()) for r in index.search(queries, k=50)]


def test_folder_layout_and_index_path_alias(tmp_path):
    index = Exact(index_path=tmp_path, index_name="docs", override=True)
    assert index.path == tmp_path / "docs" and len(index) == 0
    ids, embs = docs(5)
    index.add_documents(ids, embs)
    index.remove_documents(["d1"])
    m = manifest(index)
    assert m["format"] == "plait-exact" and m["version"] == 2 and m["settings"]["dim"] == DIM
    assert m["segments"] == [
        {"name": "s000001", "n_docs": 5, "n_tokens": sum(len(e) for e in embs)}
    ]
    assert "s000001.tombstones" in m["files"] and index.stats["documents"] == 4
    names = {p.name for p in index.path.iterdir()}
    assert {e["name"] for e in m["files"].values()} <= names
    assert not any(n.endswith(".pkl") for n in names)
    with pytest.raises(ValueError, match="not both"):
        Exact(index_folder="a", index_path="b")
    with pytest.raises(ValueError, match="index name"):
        Exact(index_folder=tmp_path, index_name="../escape")


def test_float16_storage(tmp_path):
    ids, embs = docs(6)
    half = Exact(tmp_path, "half", dtype="float16").add_documents(ids, embs)
    full = Exact(None).add_documents(ids, embs)
    reopened = Exact(tmp_path, "half")
    assert reopened.dtype == "float16"
    stored = np.load(reopened.path / manifest(reopened)["files"]["s000001.tokens"]["name"])
    assert stored.dtype == np.float16
    queries = [embs[0], embs[3]]
    for a, b in zip(half.search(queries, k=6), full.search(queries, k=6), strict=True):
        np.testing.assert_allclose(np.sort(a.scores), np.sort(b.scores), atol=0.02)
    with pytest.raises(ValueError, match="stores float16"):
        Exact(tmp_path, "half", dtype="float32")
    with pytest.raises(ValueError, match="dtype"):
        Exact(None, dtype="int8")


def test_compaction_keeps_results_and_drops_files(tmp_path):
    ids, embs = docs(12)
    index = Exact(tmp_path, "c")
    for start in range(0, 12, 3):
        index.add_documents(ids[start : start + 3], embs[start : start + 3])
    index.remove_documents(["d0", "d5"])
    index.add_documents(["d7"], [embs[1]], replace=True)
    queries = [embs[2], embs[7]]
    before = snapshot(index, queries)
    index.compact()
    m = manifest(index)
    assert len(m["segments"]) == 1 and not any(k.endswith(".tombstones") for k in m["files"])
    assert snapshot(index, queries) == before
    assert snapshot(Exact(tmp_path, "c"), queries) == before
    index.add_documents(["late"], [embs[0]])  # old files stay one more commit, for readers
    assert any(".tombstones." in p.name for p in index.path.iterdir())
    index.add_documents(["later"], [embs[1]])  # KEEP_GENERATIONS commits later they are collected
    names = {p.name for p in index.path.iterdir()}
    assert not any(".tombstones." in n for n in names)


def test_auto_compaction_when_most_documents_are_dead(monkeypatch):
    index = Exact(None)
    ids, embs = docs(80)
    index.add_documents(ids, embs)
    index.remove_documents(ids[:50])
    assert (
        index.stats["segments"] == 1 and index.stats["deleted_documents"] == 0 and len(index) == 30
    )
    assert index.documents_ids == ids[50:]
    monkeypatch.setattr(segments_module, "MAX_SEGMENTS", 2)
    for i in range(2):  # the second add makes 3 segments > 2: compacted into one
        index.add_documents([f"s{i}"], [embs[i]])
    assert index.stats["segments"] == 1 and len(index) == 32


def test_crash_at_the_commit_point_keeps_the_old_state(tmp_path, monkeypatch):
    ids, embs = docs(6)
    index = Exact(tmp_path, "crash").add_documents(ids[:3], embs[:3])
    queries = [embs[0]]
    before = snapshot(index, queries)

    def boom(self, manifest, **_):
        raise OSError("disk full")

    monkeypatch.setattr(IndexFolder, "commit", boom)
    with pytest.raises(OSError, match="disk full"):
        index.add_documents(ids[3:], embs[3:])
    with pytest.raises(OSError):
        index.remove_documents(["d0"])
    assert len(index) == 3 and snapshot(index, queries) == before  # memory unchanged
    monkeypatch.undo()
    reopened = Exact(tmp_path, "crash")
    assert reopened.documents_ids == ids[:3] and snapshot(reopened, queries) == before
    reopened.add_documents(ids[3:], embs[3:])  # and the index keeps working
    assert len(Exact(tmp_path, "crash")) == 6


def test_truncated_and_corrupted_files_are_detected(tmp_path):
    ids, embs = docs(4)
    index = Exact(tmp_path, "bad").add_documents(ids, embs)
    entry = manifest(index)["files"]["s000001.tokens"]
    path = index.path / entry["name"]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match="checksum"):
        index.verify()
    path.write_bytes(bytes(data[:-4]))
    with pytest.raises(CorruptIndexError, match=entry["name"]):
        Exact(tmp_path, "bad")


def test_other_formats_are_refused(tmp_path):
    folder = IndexFolder(tmp_path / "p")
    with folder.writer_lock():
        folder.commit({"format": "plait-plaid", "version": 1, "files": {}}, base=None)
    with pytest.raises(ValueError, match="plait-plaid"):
        Exact(tmp_path, "p")
    assert len(Exact(tmp_path, "p", override=True)) == 0


def test_two_writers_see_each_others_commits(tmp_path):
    ids, embs = docs(6)
    a = Exact(tmp_path, "shared")
    b = Exact(tmp_path, "shared")
    a.add_documents(ids[:3], embs[:3])
    b.add_documents(ids[3:], embs[3:])  # b catches up with a's commit first
    with pytest.raises(Exception, match="already"):
        b.add_documents(["d0"], [embs[0]])
    assert b.documents_ids == ids
    assert Exact(tmp_path, "shared").documents_ids == ids
    Exact(tmp_path, "shared", override=True)  # a third writer empties the index
    b.add_documents(["fresh"], [embs[0]])  # b notices and writes on top of the empty index
    assert Exact(tmp_path, "shared").documents_ids == ["fresh"]


def test_writer_lock_keeps_a_second_writer_out(tmp_path):
    ids, embs = docs(2)
    index = Exact(tmp_path, "locked")
    with IndexFolder(index.path).writer_lock():
        with pytest.raises(IndexLockedError, match="another process"):
            index.add_documents(ids, embs)
    index.add_documents(ids, embs)
    assert len(index) == 2


def test_pylate_call_shapes_and_voyager_alias(tmp_path):
    ids, embs = docs(5)
    index = Voyager(index_folder=tmp_path, index_name="v", override=True, embedding_size=DIM)
    assert isinstance(index, Exact) and index.path.name == "v"
    index = index.add_documents(documents_ids=ids, documents_embeddings=embs)  # chaining
    results = Exact(None).add_documents(ids, embs)(embs[:2], k=2)  # PyLate's PLAID call shape
    assert len(results) == 2 and set(results[0][0]) == {"id", "score"}
    assert results[0][0]["id"] == index.search([embs[0]], k=1)[0].ids[0]
    nested = index.get_documents_embeddings([["d0", "d1"], ["d4"]])
    assert [len(x) for x in nested] == [2, 1]
    np.testing.assert_array_equal(nested[1][0], embs[4])
    with pytest.raises(ValueError, match="embedding_size"):
        Voyager(index_folder=tmp_path, index_name="v", embedding_size=DIM + 1)


def test_torch_device_gives_the_same_results():
    ids, embs = docs(20, seed=6)
    cpu_kernel = Exact(None).add_documents(ids, embs)
    torch_backend = Exact(None, device="cpu").add_documents(ids, embs)
    for a, b in zip(
        cpu_kernel.search(embs[:3], k=7), torch_backend.search(embs[:3], k=7), strict=True
    ):
        assert a.ids == b.ids
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5)


def test_a_padded_3d_batch_drops_its_padding_rows():
    padded = np.zeros((2, 3, DIM), np.float32)
    padded[0, :1] = -1.0
    padded[1] = -2.0
    index = Exact(None).add_documents(["short", "full"], padded)
    assert [len(m) for m in index.get_documents_embeddings(["short", "full"])] == [1, 3]
    result = index.search([np.ones((1, DIM), np.float32)], k=2)[0]
    assert result.scores.tolist() == [-DIM, -2.0 * DIM]  # a zero pad would have scored 0


def test_adding_nothing_is_a_no_op(tmp_path):
    index = Exact(tmp_path, "noop")
    generation = manifest(index)["generation"]
    index.add_documents([], [])
    index.remove_documents([])
    assert manifest(index)["generation"] == generation and index.dim is None


def test_large_subset_and_dead_documents_use_the_same_scores():
    ids, embs = docs(40, seed=4)
    index = Exact(None).add_documents(ids, embs)
    index.remove_documents(ids[::4])
    query = [embs[1]]
    everything = index.search(query, k=40)[0]
    live = set(everything.ids)
    small = index.search(query, k=40, subset=ids[1:5])[0]  # gathered path
    big = index.search(query, k=40, subset=ids[:30])[0]  # full-segment path
    full = dict(zip(everything.ids, everything.scores.tolist(), strict=True))
    assert set(small.ids) == live & set(ids[1:5]) and set(big.ids) == live & set(ids[:30])
    for result in (small, big):
        assert result.scores.tolist() == [full[i] for i in result.ids]


# ---------------------------------------------------------------- property test: random life cycles
LIFE_DIM = 4
IDS = [f"id{i}" for i in range(8)]

operation = st.one_of(
    st.tuples(
        st.just("add"), st.lists(st.sampled_from(IDS), min_size=1, max_size=3), st.booleans()
    ),
    st.tuples(
        st.just("remove"), st.lists(st.sampled_from(IDS), min_size=1, max_size=3), st.booleans()
    ),  # for a removal the flag is missing="raise" (else unknown ids are skipped)
    st.tuples(st.just("compact"), st.just([]), st.just(False)),
    st.tuples(st.just("reopen"), st.just([]), st.just(False)),
)


def check_against_model(index: Exact, model: dict[str, np.ndarray], query: np.ndarray) -> None:
    assert sorted(index.documents_ids) == sorted(model) and len(index) == len(model)
    result = index.search([query], k=len(IDS))[0]
    want = sorted(
        ((maxsim_reference(query, emb), i) for i, emb in model.items()), key=lambda t: -t[0]
    )
    np.testing.assert_allclose(result.scores, [s for s, _ in want], rtol=1e-5, atol=1e-5)
    assert {i for i in result.ids} == set(model)
    for doc_id, emb in model.items():
        np.testing.assert_array_equal(index.get_documents_embeddings([doc_id])[0], emb)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(operation, max_size=12), seed=st.integers(0, 2**16))
def test_random_life_cycles(tmp_path_factory, operations, seed):
    rng = np.random.default_rng(seed)
    folder = tmp_path_factory.mktemp("life")
    index = Exact(folder, "x")
    model: dict[str, np.ndarray] = {}
    query = rng.standard_normal((3, LIFE_DIM)).astype(np.float32)
    for kind, ids, replace in operations:
        if kind == "add":
            embs = [
                rng.standard_normal((int(rng.integers(1, 4)), LIFE_DIM)).astype(np.float32)
                for _ in ids
            ]
            should_fail = len(set(ids)) != len(ids) or (
                not replace and any(i in model for i in ids)
            )
            try:
                index.add_documents(ids, embs, replace=replace)
                assert not should_fail
                model.update(zip(ids, embs, strict=True))
            except DuplicateIdError:
                assert should_fail
        elif kind == "remove":
            should_fail = replace and any(i not in model for i in ids)
            try:
                index.remove_documents(ids, missing="raise" if replace else "ignore")
                assert not should_fail
                for i in ids:
                    model.pop(i, None)
            except UnknownIdError:
                assert should_fail
        elif kind == "compact":
            index.compact()
        else:
            index = Exact(folder, "x")
        check_against_model(index, model, query)
    check_against_model(Exact(folder, "x"), model, query)


@pytest.mark.parametrize("chunk", [1, 2, 4096])
def test_voyager_call_returns_pylates_token_candidates(tmp_path, monkeypatch, chunk):
    """``Voyager(q, k)``: per query token, the k nearest stored tokens' documents and distances."""
    from plait.indexes import voyager

    monkeypatch.setattr(voyager, "_CHUNK_DOCUMENTS", chunk)  # the running top-k across chunks
    ids, embs = docs(5, seed=3)
    index = Voyager(index_folder=tmp_path, index_name="v").add_documents(ids, embs)
    tokens = np.concatenate(embs)
    tokens = tokens / np.linalg.norm(tokens, axis=1, keepdims=True)
    owners = [i for i, e in zip(ids, embs, strict=True) for _ in range(len(e))]
    queries = [embs[1][:2] * 3.0, embs[3][:1]]
    found = index(queries, k=4)
    assert set(found) == {"documents_ids", "distances"} and len(found["documents_ids"]) == 2
    for query, got_ids, got_distances in zip(
        queries, found["documents_ids"], found["distances"], strict=True
    ):
        assert len(got_ids) == len(query) == len(got_distances)
        for row, row_ids, row_distances in zip(query, got_ids, got_distances, strict=True):
            cosines = tokens @ (row / np.linalg.norm(row))
            best = np.argsort(-cosines, kind="stable")[:4]
            assert row_ids == [owners[t] for t in best]
            np.testing.assert_allclose(row_distances, 1 - cosines[best], atol=1e-5)
    assert found["documents_ids"][1][0][0] == "d3"  # a document's own token is its nearest
    everything = index(queries[1], k=10_000)  # k is cut to the number of stored tokens
    assert len(everything["documents_ids"][0][0]) == len(tokens)
    with pytest.raises(ValueError, match="empty"):
        Voyager(None)(queries[0], k=2)
