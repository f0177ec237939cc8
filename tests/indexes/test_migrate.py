"""Migrating fast-plaid 1.7 folders (written by fast-plaid itself) into plait, without re-encoding.

The fixtures are made by benchmarks/peers/make_fast_plaid_fixture.py in fast-plaid's own venv: two
tiny indexes (nbits 2 and 4), fast-plaid's decompressed embeddings of two documents and its top-10
at full probe settings for six queries.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from plait.indexes import CorruptIndexError, IndexInputError
from plait.indexes.migrate import migrate_index
from plait.indexes.plaid import PLAID, PLAIDSearchParams

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fast_plaid"
FULL = PLAIDSearchParams(ncells=1 << 20, ndocs=1 << 20, n_full_scores=1 << 20)


@pytest.fixture(params=[2, 4], ids=["nbits2", "nbits4"])
def fixture(request) -> Path:
    return FIXTURES / f"nbits{request.param}"


def test_tokens_decode_to_fast_plaids_own_vectors(fixture, tmp_path):
    report = migrate_index(fixture / "index", tmp_path, "p")
    expected = json.loads((fixture / "expected.json").read_text())
    assert report.documents == 80 and report.nbits == expected["nbits"]
    assert report.n_centroids == expected["n_centroids"] and report.kind == "a fast-plaid index"
    index = PLAID(tmp_path, "p")
    assert index.nbits == expected["nbits"] and index.stats["n_centroids"] == report.n_centroids
    decoded = np.load(fixture / "embeddings.npz")
    for doc, key in (("0", "doc0"), ("79", "doc79")):
        got = index.get_documents_embeddings([doc])[0]
        got = got / np.linalg.norm(got, axis=1, keepdims=True)  # as both engines score them
        np.testing.assert_allclose(got, decoded[key], atol=1e-3)  # fast-plaid returns float16


def test_search_scores_fast_plaids_answers_alike_and_misses_none(fixture, tmp_path):
    """fast-plaid's documents get fast-plaid's scores; plait's exhaustive top-10 is as good.

    fast-plaid at its widest settings (every centroid probed, every candidate scored) still
    leaves out some better documents on these queries, so its list is not compared as a whole.
    """
    migrate_index(fixture / "index", tmp_path, "p")
    expected = json.loads((fixture / "expected.json").read_text())
    queries = np.load(fixture / "queries.npy")
    index = PLAID(tmp_path, "p")
    for query, want in zip(queries, expected["top10"], strict=True):
        want_ids = [str(d) for d, _ in want]
        want_scores = np.array([s for _, s in want], dtype=np.float32)
        theirs = index.search([query], k=10, subset=want_ids, params=FULL)[0]
        ours = dict(zip(theirs.ids, theirs.scores.tolist(), strict=True))
        np.testing.assert_allclose(
            [ours[d] for d in want_ids], want_scores, atol=3e-3
        )  # the same decoded vectors (fast-plaid scores in float16)
        best = index.search([query], k=10, params=FULL)[0]
        assert np.all(best.scores >= want_scores - 3e-3)  # rank by rank, at least as good


def test_the_migrated_index_is_a_plait_index(fixture, tmp_path):
    ids = [f"doc-{i}" for i in range(80)]
    migrate_index(fixture / "index", tmp_path, "p", ids=ids)
    index = PLAID(tmp_path, "p")
    assert index.documents_ids == ids
    index.verify()
    rng = np.random.default_rng(0)
    new = rng.normal(size=(12, 32)).astype(np.float32)
    index.add_documents(["new"], [new / np.linalg.norm(new, axis=1, keepdims=True)])
    assert index.last_add is not None and not index.last_add.trained
    index.remove_documents(["doc-3"])
    assert len(index) == 80 and "doc-3" not in index


def test_a_pylate_folder_keeps_its_ids(tmp_path):
    source = tmp_path / "pylate" / "index"
    shutil.copytree(FIXTURES / "nbits2" / "index", source / "fast_plaid_index")
    mapping = {i: f"pylate-{i}" for i in range(80)}
    (source / "plaid_ids_to_documents_ids.pkl").write_bytes(pickle.dumps(mapping))
    report = migrate_index(source, tmp_path, "p")
    assert report.kind.startswith("a PyLate PLAID index")
    assert PLAID(tmp_path, "p").documents_ids[:2] == ["pylate-0", "pylate-1"]


class _Evil:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (print, ("never run",))


def test_an_id_map_with_objects_is_refused_unread(tmp_path, capsys):
    source = tmp_path / "pylate" / "index"
    shutil.copytree(FIXTURES / "nbits2" / "index", source / "fast_plaid_index")
    (source / "plaid_ids_to_documents_ids.pkl").write_bytes(pickle.dumps({0: _Evil()}))
    with pytest.raises(CorruptIndexError, match="plain id maps"):
        migrate_index(source, tmp_path, "p")
    assert "never run" not in capsys.readouterr().out
    assert not (tmp_path / "p").exists() or not PLAID(tmp_path, "p").documents_ids


def test_bad_sources_are_named(tmp_path):
    with pytest.raises(FileNotFoundError):
        migrate_index(tmp_path / "nowhere", tmp_path, "p")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexInputError, match="neither a fast-plaid"):
        migrate_index(tmp_path / "empty", tmp_path, "p")
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURES / "nbits2" / "index", broken)
    (broken / "doclens.0.json").write_text("[1, 2, 3]")
    with pytest.raises(CorruptIndexError, match="doclens"):
        migrate_index(broken, tmp_path, "p")
    with pytest.raises(IndexInputError, match="ids gives 3 ids"):
        migrate_index(FIXTURES / "nbits2" / "index", tmp_path, "q", ids=["a", "b", "c"])
    stanford = tmp_path / "stanford"
    stanford.mkdir()
    (stanford / "ivf.pid.pt").write_bytes(b"")
    with pytest.raises(IndexInputError, match="Stanford"):
        migrate_index(stanford, tmp_path, "p")
