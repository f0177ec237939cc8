"""Many readers and one writer: consistent snapshots, atomic writes, one writer process per index."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from server_helpers import DIM, random_documents

from plait.indexes import Exact, IndexLockedError
from plait.indexes.storage import IndexFolder
from plait.server import create_app
from plait.server.state import ReadWriteLock

BATCH = 5


def test_rw_lock_readers_share_writers_exclude() -> None:
    lock = ReadWriteLock()
    events: list[str] = []
    with lock.read(), lock.read():  # two readers at once
        writer = threading.Thread(target=lambda: _hold(lock.write, events, "writer"))
        writer.start()
        time.sleep(0.05)
        assert events == []  # the writer waits for the readers
        late_reader = threading.Thread(target=lambda: _hold(lock.read, events, "late reader"))
        late_reader.start()
        time.sleep(0.05)
        assert events == []  # a waiting writer blocks new readers (no writer starvation)
    writer.join(2)
    late_reader.join(2)
    assert events == ["writer", "late reader"]


def _hold(context, events: list[str], name: str) -> None:
    with context():
        events.append(name)
        time.sleep(0.02)


def test_readers_never_see_a_half_applied_add(tmp_path: Path) -> None:
    """A writer adds batches of BATCH documents (sometimes upserting, which tombstones and
    compacts); concurrent searches over every document must always see whole batches."""
    index = Exact(index_folder=tmp_path, index_name="race")
    query = np.ones((1, DIM), dtype=np.float32).tolist()
    seen: list[int] = []
    stop = threading.Event()
    with TestClient(create_app(index)) as client:

        def reader() -> None:
            while not stop.is_set():
                answer = client.post("/search", json={"embeddings": [query], "k": 1000})
                assert answer.status_code == 200
                seen.append(len(answer.json()["results"][0]))
                assert client.get("/health").json()["documents"] % BATCH == 0

        readers = [threading.Thread(target=reader) for _ in range(3)]
        for thread in readers:
            thread.start()
        try:
            for step in range(12):
                ids, docs = random_documents(BATCH, seed=step, prefix=f"b{step}-")
                assert (
                    client.post(
                        "/documents", json={"ids": ids, "embeddings": [d.tolist() for d in docs]}
                    ).status_code
                    == 200
                )
                if step % 3 == 2:  # replace the previous batch: tombstone + add in one write
                    old = [f"b{step - 1}-{i}" for i in range(BATCH)]
                    assert (
                        client.put(
                            "/documents",
                            json={"ids": old, "embeddings": [d.tolist() for d in docs]},
                        ).status_code
                        == 200
                    )
        finally:
            stop.set()
            for thread in readers:
                thread.join(10)
    assert seen and all(n % BATCH == 0 for n in seen)
    assert len(index) == 12 * BATCH


LOCK_PROBE = """
import sys
from plait.indexes import Exact, IndexLockedError
import numpy as np
try:
    Exact(index_folder=sys.argv[1], index_name=sys.argv[2]).add_documents(["other"], [np.ones((1, {dim}), np.float32)])
except IndexLockedError as error:
    print("refused:", error)
else:
    print("written")
"""


def _probe(folder: Path) -> str:
    code = LOCK_PROBE.format(dim=DIM)
    result = subprocess.run(
        [sys.executable, "-c", code, str(folder.parent), folder.name],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_running_server_keeps_other_writer_processes_out(disk_index: Exact) -> None:
    ids, docs = random_documents(2, seed=9, prefix="mine")
    with TestClient(create_app(disk_index)) as client:
        # another process cannot write ...
        out = _probe(disk_index.path)
        assert "refused:" in out and "being written by another process" in out
        # ... nor can a second server in this process ...
        with pytest.raises(IndexLockedError, match="already held for writing by this process"):
            with TestClient(
                create_app(Exact(index_folder=disk_index.path.parent, index_name="served"))
            ):
                pass
        # ... while the server's own writes go through
        answer = client.post(
            "/documents", json={"ids": ids, "embeddings": [d.tolist() for d in docs]}
        )
        assert answer.status_code == 200
    assert "written" in _probe(disk_index.path)  # released at shutdown
    assert {"mine0", "mine1", "other"} <= set(
        Exact(index_folder=disk_index.path.parent, index_name="served").documents_ids
    )


def test_hold_writer_lock_is_refused_while_another_writer_holds_it(tmp_path: Path) -> None:
    folder = IndexFolder(tmp_path / "held")
    with folder.writer_lock():
        with pytest.raises(IndexLockedError, match="another process"):
            folder.hold_writer_lock()
    folder.hold_writer_lock()
    with pytest.raises(IndexLockedError, match="already held"):
        folder.hold_writer_lock()
    with folder.writer_lock():  # passes through for the holder
        pass
    folder.release_writer_lock()
    folder.release_writer_lock()  # idempotent
    with folder.writer_lock():  # really released
        pass


def test_concurrent_query_and_document_encoding_stay_correct(tiny_model, tmp_path: Path) -> None:
    """Queries and documents encoded at the same time (the tokenizer's truncation length is shared
    state) must equal serial encoding; documents must not be cut to the query length."""
    documents = ["word " * 150 + str(i) for i in range(4)]
    queries = [f"short query {i}" for i in range(4)]
    expected = {
        False: tiny_model.encode(documents, is_query=False),
        True: tiny_model.encode(queries, is_query=True),
    }
    bad: list[tuple[bool, tuple[int, ...]]] = []
    index = Exact(index_folder=tmp_path, index_name="enc")
    with TestClient(create_app(index, tiny_model)) as client:

        def hammer(is_query: bool) -> None:
            for _ in range(20):
                body = {"texts": queries if is_query else documents, "is_query": is_query}
                got = client.post("/encode", json=body).json()["embeddings"]
                for matrix, want in zip(got, expected[is_query], strict=True):
                    if np.shape(matrix) != want.shape or not np.allclose(matrix, want, atol=1e-4):
                        bad.append((is_query, np.shape(matrix)))

        threads = [threading.Thread(target=hammer, args=(i % 2 == 0,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert not bad, bad[:3]
