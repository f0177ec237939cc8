"""Index folders written by format-v1 code (tests/fixtures/index_v1, made by its make.py before
format v2) open with today's code and answer exactly as they did; a write keeps them readable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from plait.indexes import open_index
from plait.indexes.exact import VERSION as EXACT_VERSION
from plait.indexes.plaid.store import VERSION as PLAID_VERSION

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "index_v1"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(params=sorted(EXPECTED))
def v1_copy(request, tmp_path) -> tuple[str, Path]:
    """A copy of one fixture (the checked-in files are never opened for writing)."""
    target = tmp_path / request.param
    shutil.copytree(FIXTURES / request.param, target)
    return request.param, target


def _check_answers(index, expected, removed=("doc-05",)) -> None:
    queries = np.load(FIXTURES / "queries.npy")
    results = index.search(queries, k=5)
    assert len(results) == len(expected)
    for got, want in zip(results, expected, strict=True):
        assert got.ids == want["ids"]
        np.testing.assert_allclose(got.scores, want["scores"], rtol=0, atol=1e-6)
        assert not set(removed) & set(got.ids)


def test_v1_folders_open_and_answer_as_before(v1_copy) -> None:
    name, path = v1_copy
    index = open_index(path)
    assert len(index) == 47 and "doc-05" not in index and "doc-47" in index
    _check_answers(index, EXPECTED[name])
    texts = index.get_documents(["doc-00", "doc-47"])
    assert [t["text"] for t in texts] == [
        "text of document 0: w0",
        "text of document 47: w0 w1 w2 w3 w4 w5",
    ]
    index.verify()


def test_a_write_to_a_v1_folder_keeps_its_answers(v1_copy) -> None:
    name, path = v1_copy
    index = open_index(path)
    assert index.manifest["version"] == 1
    rng = np.random.default_rng(7)
    far = rng.standard_normal((3, 6, 32)).astype(np.float32)
    far /= np.linalg.norm(far, axis=-1, keepdims=True)
    index.add_documents(["new-1", "new-2", "new-3"], list(far), texts=["a", "b", "c"])
    reopened = open_index(path)
    current = PLAID_VERSION if name == "plaid" else EXACT_VERSION
    assert reopened.manifest["version"] == current  # upgraded by the first write
    assert len(reopened) == 50 and reopened.get_documents(["new-2"])[0]["text"] == "b"
    assert reopened.get_documents(["doc-00"])[0]["metadata"] == {}
    # the new documents are random directions: the old queries' top 5 stay the same documents
    queries = np.load(FIXTURES / "queries.npy")
    for got, want in zip(reopened.search(queries, k=5), EXPECTED[name], strict=True):
        assert got.ids[:3] == want["ids"][:3]
