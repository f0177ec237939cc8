"""A read-only server sees other writers' commits (D12), and /stats always describes one state."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from server_helpers import DIM, random_documents

from plait.indexes import Exact
from plait.server import create_app
from plait.server.state import ServedIndex

needs_refresh = pytest.mark.skipif(
    not hasattr(Exact, "refresh"), reason="Exact.refresh() has not landed yet"
)


class Reloading:
    """An index whose ``refresh()`` records whether it ran alone (no reader inside the lock)."""

    dim = DIM

    def __init__(self) -> None:
        self.calls = 0
        self.alone: list[bool] = []
        self.served: ServedIndex | None = None

    def __len__(self) -> int:
        return 3

    def refresh(self) -> bool:
        assert self.served is not None
        lock = self.served.lock
        self.alone.append(lock._writer and lock._readers == 0)
        self.calls += 1
        time.sleep(0.01)
        return False


def served_over(index: Reloading, **kwargs: Any) -> ServedIndex:
    served = ServedIndex(index, **kwargs)
    index.served = served
    return served


def test_read_only_refreshes_at_most_every_interval_and_alone() -> None:
    index = Reloading()
    served = served_over(index, writable=False, refresh_interval=0.3)
    readers = [threading.Thread(target=lambda: [len(served) for _ in range(20)]) for _ in range(4)]
    for thread in readers:
        thread.start()
    for thread in readers:
        thread.join(10)
    assert index.calls == 1 and index.alone == [True]  # 80 reads within 0.3 s: one refresh
    time.sleep(0.35)
    served.stats()
    served.health()
    assert index.calls == 2 and all(index.alone)


def test_refresh_interval_zero_refreshes_before_every_read() -> None:
    index = Reloading()
    served = served_over(index, writable=False, refresh_interval=0)
    for _ in range(3):
        served.health()
    assert index.calls == 3


def test_writable_server_does_not_refresh() -> None:
    """It holds the writer lock, so no other process can have committed."""
    index = Reloading()
    served = served_over(index, writable=True, refresh_interval=0)
    served.health()
    served.stats()
    assert index.calls == 0


def other_writer(index: Exact) -> Exact:
    """A second object on the same folder, as another process would open it."""
    assert index.path is not None
    return Exact(index_folder=index.path.parent, index_name=index.path.name)


@needs_refresh
def test_read_only_server_sees_other_writers_commits(disk_index: Exact) -> None:
    with TestClient(create_app(disk_index, writable=False, refresh_interval=0)) as client:
        assert client.get("/health").json()["documents"] == 20
        writer = other_writer(disk_index)
        writer.add_documents(["late"], [np.eye(DIM, dtype=np.float32)[:3]])
        writer.remove_documents(["d0", "d1"])
        assert client.get("/health").json()["documents"] == 19
        hits = client.post(
            "/search", json={"embeddings": [np.eye(DIM)[:3].tolist()], "k": 30}
        ).json()["results"][0]
        assert hits[0]["id"] == "late" and not {"d0", "d1"} & {h["id"] for h in hits}
        stats = client.get("/stats").json()
        assert (
            stats["documents"] == 19
            and stats["stored_tokens"] == sum(len(d) for d in random_documents(20)[1]) + 3
        )


@needs_refresh
def test_read_only_server_catches_up_within_the_interval(disk_index: Exact) -> None:
    with TestClient(create_app(disk_index, writable=False, refresh_interval=0.3)) as client:
        assert client.get("/health").json()["documents"] == 20
        other_writer(disk_index).add_documents(["late"], [np.eye(DIM, dtype=np.float32)[:1]])
        time.sleep(0.35)
        assert client.get("/health").json()["documents"] == 21


def test_stats_describe_the_state_the_server_holds(disk_index: Exact) -> None:
    """Until the server refreshes, /stats must show its own state: its document count together
    with that state's tokens, bytes and generation, not figures of a newer manifest on disk."""
    with TestClient(create_app(disk_index, writable=False, refresh_interval=3600)) as client:
        before = client.get("/stats").json()
        other_writer(disk_index).add_documents(*random_documents(5, seed=3, prefix="new"))
        after = client.get("/stats").json()
    assert after == before
    assert before["documents"] == 20 and before["stored_tokens"] == sum(
        len(d) for d in random_documents(20)[1]
    )


def test_stats_of_a_plaid_index_describe_one_state(tmp_path: Path) -> None:
    from plait.indexes.plaid import PLAID

    ids, docs = random_documents(30)
    index = PLAID(index_folder=tmp_path, index_name="plaid", nbits=2, n_centroids=8)
    index.add_documents(ids, docs)
    with TestClient(create_app(index, writable=False, refresh_interval=3600)) as client:
        before = client.get("/stats").json()
        PLAID(index_folder=tmp_path, index_name="plaid").remove_documents(["d1", "d2"])
        after = client.get("/stats").json()
    assert after == before and before["documents"] == 30
