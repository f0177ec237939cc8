"""A kill -9 during update_metadata leaves the last committed state (every kind of index)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from plait.indexes import open_index

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from plait.indexes import open_index
    path, kill_at = sys.argv[1], int(sys.argv[2])
    calls = {"n": 0}
    def counting(real):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)
        return wrapper
    index = open_index(path)
    ids = index.documents_ids
    os.fsync, os.replace = counting(os.fsync), counting(os.replace)
    index.update_metadata(ids, [{"version": 2, "note": "second"} for _ in ids])
    print(calls["n"])
    """
)


def _metadata_versions(path) -> list[set]:
    """The versions found, per unit that commits atomically: the index, or each shard of a
    sharded index (a write spanning shards is applied shard by shard, see ShardedPLAID)."""
    from plait.distributed import shard_of

    index = open_index(path)
    index.verify()
    groups: dict[int, set] = {}
    n_shards = getattr(index, "n_shards", 1)
    for document in index.get_documents(index.documents_ids):
        groups.setdefault(shard_of(document["id"], n_shards), set()).add(
            document["metadata"].get("version")
        )
    return [groups[s] for s in sorted(groups)]


@pytest.mark.slow  # child processes; test_crash_contract.py keeps a kill -9 test in the inner loop
def test_kill_9_during_update_metadata(index_factory, tmp_path):
    rng = np.random.default_rng(0)
    docs = [rng.standard_normal((4, 16)).astype(np.float32) for _ in range(24)]
    ids = [f"d{i}" for i in range(24)]
    index = index_factory.create(tmp_path)
    if index.path is None:
        pytest.skip("an in-memory index cannot crash on disk")
    index.add_documents(ids[:12], docs[:12], metadata=[{"version": 1} for _ in range(12)])
    index.add_documents(ids[12:], docs[12:], metadata=[{"version": 1} for _ in range(12)])
    template = tmp_path / "template"
    subprocess.run(["cp", "-a", str(index.path), str(template)], check=True)
    path = index.path
    full = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), "0"], capture_output=True, text=True, check=True
    )
    n_calls = int(full.stdout.split()[-1])
    assert all(v == {2} for v in _metadata_versions(path)) and n_calls > 0
    for kill_at in range(1, n_calls + 1):
        subprocess.run(["rm", "-rf", str(path)], check=True)
        subprocess.run(["cp", "-a", str(template), str(path)], check=True)
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(kill_at)], capture_output=True, text=True
        )
        assert done.returncode == -9, done.stderr
        for versions in _metadata_versions(path):
            assert versions in ({1}, {2}), (kill_at, versions)  # never a mix, never unreadable
        again = open_index(path)
        again.update_metadata(["d0"], [{"version": 3}])  # no stale lock, still writable
        assert open_index(path).get_documents(["d0"])[0]["metadata"] == {"version": 3}
