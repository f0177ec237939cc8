"""Crash safety: kill -9 a writer at random moments; corrupted or truncated files are reported."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from plaid_crash_child import document
from plaid_data import clustered_corpus

from plait.indexes.base import CorruptIndexError
from plait.indexes.plaid import PLAID

CHILD = Path(__file__).with_name("plaid_crash_child.py")
ROOT = Path(__file__).resolve().parents[3]


def _read_log(path: Path) -> list[tuple[str, dict[str, int]]]:
    entries = []
    for line in path.read_text().splitlines():
        kind, _, payload = line.partition(" ")
        try:
            entries.append((kind, json.loads(payload)))
        except json.JSONDecodeError:  # a line cut by the kill
            pass
    return entries


def _check_state(index: PLAID, state: dict[str, int]) -> None:
    assert sorted(index.documents_ids) == sorted(state)
    ids = sorted(state)
    stored = index.get_documents_embeddings(ids)
    for doc_id, vectors in zip(ids, stored, strict=True):
        expected = document(doc_id, state[doc_id])
        assert vectors.shape == expected.shape, doc_id
        assert np.abs(vectors - expected).mean() < 0.2, doc_id  # its own vectors, not another's


def _holds(index: PLAID, state: dict[str, int]) -> bool:
    try:
        _check_state(index, state)
    except AssertionError:
        return False
    return True


@pytest.mark.slow  # three child processes, each importing plait (seconds each)
def test_kill_9_leaves_last_committed_state(tmp_path):
    folder, log = tmp_path / "idx", tmp_path / "log.txt"
    rng = np.random.default_rng(0)
    state: dict[str, int] = {}
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    kills_after_commits = 0
    for round_ in range(3):
        log.write_text("")
        child = subprocess.Popen(
            [sys.executable, str(CHILD), str(folder), str(log), json.dumps(state), str(round_)],
            env=env,
            stderr=subprocess.PIPE,
        )
        deadline = time.time() + 120
        while "commit" not in log.read_text():  # started, and committed at least once
            assert child.poll() is None, child.stderr.read().decode()
            assert time.time() < deadline, "child did not start"
            time.sleep(0.02)
        time.sleep(float(rng.uniform(0.0, 0.6)))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stderr.close()
        entries = _read_log(log)
        commits = [s for kind, s in entries if kind == "commit"]
        intents = [s for kind, s in entries if kind == "intent"]
        kills_after_commits += bool(commits)
        last_commit = commits[-1] if commits else state
        index = PLAID(folder, "p")
        index.verify()
        # the kill hit before the write committed (last commit) or after it, before it was logged
        candidates = [last_commit] + ([intents[-1]] if intents else [])
        current = sorted(index.documents_ids)
        # ids AND versions must match one candidate (an upsert keeps the id set, changes vectors)
        matches = [c for c in candidates if sorted(c) == current and _holds(index, c)]
        assert matches, f"round {round_}: index holds a state that was never committed"
        state = matches[0]
        index.search([document("query", 0)], k=3)
    assert kills_after_commits == 3  # the kills really interrupted a working writer
    # the next commit collects files orphaned by the crashes
    index = PLAID(folder, "p")
    index.compact()
    referenced = {e["name"] for e in index.manifest["files"].values()}
    referenced |= set(index.manifest["retired"]) | {"manifest.json", "writer.lock"}
    assert {p.name for p in folder.joinpath("p").iterdir()} <= referenced


@pytest.fixture()
def small_index(tmp_path):
    data = clustered_corpus(n_families=3, family_size=10, dim=16, n_queries=1)
    index = PLAID(tmp_path, "p")
    index.add_documents(data.ids, data.docs)
    index.remove_documents(data.ids[:2])
    return tmp_path / "p", dict(index.manifest)


def _file(folder: Path, manifest: dict, role: str) -> Path:
    return folder / manifest["files"][role]["name"]


def test_truncated_file_is_named(small_index):
    folder, manifest = small_index
    path = _file(folder, manifest, "s000001.residuals")
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(CorruptIndexError, match=path.name):
        PLAID(folder.parent, "p")


def test_corrupted_bytes_are_caught_by_verify(small_index, monkeypatch):
    from plait.indexes import storage

    folder, manifest = small_index
    path = _file(folder, manifest, "s000001.residuals")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=path.name):  # a small file: checked on open
        PLAID(folder.parent, "p")
    monkeypatch.setattr(storage, "SMALL_FILE", 0)  # as if it were big: only verify() reads it all
    index = PLAID(folder.parent, "p")  # same size, plausible values: opening cannot tell
    with pytest.raises(CorruptIndexError, match=path.name):
        index.verify()


def test_out_of_range_codes_are_caught_on_open(small_index):
    folder, manifest = small_index
    path = _file(folder, manifest, "s000001.codes")
    data = bytearray(path.read_bytes())
    data[-2:] = b"\xff\xff"  # code 65535 > number of centroids
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndexError, match=path.name):
        PLAID(folder.parent, "p")


@pytest.mark.parametrize(
    "role", ["centroids", "s000001.ids", "s000001.tombstones", "s000001.doclens"]
)
def test_missing_file_is_named(small_index, role):
    folder, manifest = small_index
    path = _file(folder, manifest, role)
    path.unlink()
    with pytest.raises(CorruptIndexError, match=path.name):
        PLAID(folder.parent, "p")


def test_garbled_manifest(small_index):
    folder, _ = small_index
    (folder / "manifest.json").write_text('{"format": "plait-pl')
    with pytest.raises(CorruptIndexError, match="manifest.json"):
        PLAID(folder.parent, "p")
