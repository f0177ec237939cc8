"""Property-based life cycles through the HTTP API, with brute-force MaxSim over a dict as oracle.

Hypothesis drives random sequences of add / upsert / delete (known and unknown ids) / search /
server restart against a server over an on-disk exact index. After every step the answers must
match the oracle: write statuses, document counts, and search results (ids and scores).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from plait.indexes import Exact
from plait.server import create_app

DIM = 4
IDS = st.sampled_from([f"doc{i}" for i in range(12)])
MATRIX = st.integers(1, 4).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(-3, 3).map(float), min_size=DIM, max_size=DIM), min_size=n, max_size=n
    )
)


class ServerLifeCycle(RuleBasedStateMachine):
    """The server's observable state must equal ``self.oracle`` (id -> token matrix)."""

    @initialize()
    def start(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.oracle: dict[str, np.ndarray] = {}
        self._open()

    def _open(self) -> None:
        index = Exact(index_folder=Path(self.tmp.name), index_name="life")
        self.client = TestClient(create_app(index))
        self.client.__enter__()

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)
        self.tmp.cleanup()

    @rule(ids=st.lists(IDS, min_size=1, max_size=3, unique=True), data=st.data())
    def add(self, ids: list[str], data: st.DataObject) -> None:
        matrices = [data.draw(MATRIX) for _ in ids]
        answer = self.client.post("/documents", json={"ids": ids, "embeddings": matrices})
        if any(i in self.oracle for i in ids):
            assert answer.status_code == 409, answer.text
        else:
            assert answer.status_code == 200, answer.text
            self.oracle.update(
                {i: np.array(m, dtype=np.float32) for i, m in zip(ids, matrices, strict=True)}
            )

    @rule(ids=st.lists(IDS, min_size=1, max_size=3, unique=True), data=st.data())
    def upsert(self, ids: list[str], data: st.DataObject) -> None:
        matrices = [data.draw(MATRIX) for _ in ids]
        answer = self.client.put("/documents", json={"ids": ids, "embeddings": matrices})
        assert answer.status_code == 200, answer.text
        assert answer.json()["replaced"] == sum(i in self.oracle for i in ids)
        self.oracle.update(
            {i: np.array(m, dtype=np.float32) for i, m in zip(ids, matrices, strict=True)}
        )

    @rule(ids=st.lists(IDS, min_size=1, max_size=3, unique=True))
    def delete(self, ids: list[str]) -> None:
        answer = self.client.post("/documents/delete", json={"ids": ids})
        if all(i in self.oracle for i in ids):
            assert answer.status_code == 200, answer.text
            for i in ids:
                del self.oracle[i]
        else:
            assert answer.status_code == 404, answer.text

    @precondition(lambda self: bool(self.oracle))
    @rule(query=MATRIX, k=st.integers(1, 14), subset=st.none() | st.lists(IDS, max_size=5))
    def search(self, query: list[list[float]], k: int, subset: list[str] | None) -> None:
        answer = self.client.post("/search", json={"embeddings": [query], "k": k, "subset": subset})
        assert answer.status_code == 200, answer.text
        hits = answer.json()["results"][0]
        q = np.array(query, dtype=np.float32)
        pool = [i for i in self.oracle if subset is None or i in subset]
        scores = {i: float((q @ self.oracle[i].T).max(axis=1).sum()) for i in pool}
        assert len(hits) == min(k, len(pool))
        for hit in hits:
            assert abs(hit["score"] - scores[hit["id"]]) < 1e-4
        got = [h["score"] for h in hits]
        assert got == sorted(got, reverse=True)
        if hits:  # nothing better was left out
            assert all(
                s <= got[-1] + 1e-4 for i, s in scores.items() if i not in {h["id"] for h in hits}
            )

    @rule()
    def restart(self) -> None:
        """Stop the server and start a new one on the same folder: every write was committed."""
        self.client.__exit__(None, None, None)
        self._open()

    @invariant()
    def counts_match(self) -> None:
        if hasattr(self, "client"):
            assert self.client.get("/health").json()["documents"] == len(self.oracle)


ServerLifeCycle.TestCase.settings = settings(
    max_examples=20, stateful_step_count=15, deadline=None, suppress_health_check=list(HealthCheck)
)
test_server_life_cycle = pytest.mark.slow(ServerLifeCycle.TestCase)  # 20 random life cycles
