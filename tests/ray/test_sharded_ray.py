"""ShardedPLAID on a local Ray cluster (``ray.init(num_cpus=2)``): one actor per shard.

Equality with a single PLAID index built with the same codebook, writes routed through the actors,
and failures: a shard actor killed mid-search or a shard that does not answer in time gives
:class:`ShardUnavailableError` (or results marked partial when asked), never a hang.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "distributed"))
from sharded_data import clustered_docs, queries, shard_order  # noqa: E402

from plait.distributed import ShardedPLAID, ShardUnavailableError  # noqa: E402
from plait.indexes import PLAID, PLAIDSearchParams  # noqa: E402

ray = pytest.importorskip("ray")
N_SHARDS = 4


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sharded-ray")
    ids, docs = clustered_docs(400)
    ShardedPLAID(folder, "idx", n_shards=N_SHARDS).add_documents(ids, docs)
    return folder, ids, docs


def single_index(folder: Path, name: str, codebook, ids, docs) -> PLAID:
    order = shard_order(ids, N_SHARDS)
    index = PLAID(folder, name, override=True, codebook=codebook)
    index.add_documents([ids[p] for p in order], [docs[p] for p in order])
    return index


def assert_same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.ids == y.ids and not x.partial
        np.testing.assert_allclose(x.scores, y.scores, atol=1e-5)


def test_ray_search_equals_one_index_and_writes_route_through_actors(built, tmp_path):
    folder, ids, docs = built
    with ShardedPLAID(folder, "idx", backend="ray", timeout_s=120) as index:
        single = single_index(tmp_path, "single", index.codebook, ids, docs)
        qs = queries(20)
        assert len(index) == len(ids)
        assert_same(index.search(qs, 10), single.search(qs, 10))
        params = PLAIDSearchParams(ncells=1, ndocs=16, n_full_scores=8)
        assert_same(index.search(qs, 5, params=params), single.search(qs, 5, params=params))
        assert_same(index.search(qs, 10, subset=ids[::5]), single.search(qs, 10, subset=ids[::5]))
        # writes go through the actors; a fresh single index with the same documents agrees
        extra_ids, extra_docs = clustered_docs(30, seed=7)
        extra_ids = [f"new-{i}" for i in extra_ids]
        index.add_documents(extra_ids, extra_docs)
        index.remove_documents(ids[:10])
        assert len(index) == len(ids) + 20 and "new-doc-3" in index and ids[0] not in index
        kept_ids = ids[10:] + extra_ids
        kept_docs = docs[10:] + extra_docs
        fresh = single_index(tmp_path, "fresh", index.codebook, kept_ids, kept_docs)
        assert_same(index.search(qs, 10), fresh.search(qs, 10))
    with ShardedPLAID(folder, "idx", backend="ray") as reopened:  # the writes were committed
        assert len(reopened) == len(ids) + 20


def test_killed_shard_actor_mid_search_raises_or_marks_partial(built):
    folder, _, _ = built
    slow = {"stage_delay_s": 1.5}
    with ShardedPLAID(folder, "idx", backend="ray", timeout_s=60, worker_options=slow) as index:
        qs = queries(3)
        outcome: dict[str, object] = {}

        def search() -> None:
            try:
                outcome["results"] = index.search(qs, 10)
            except Exception as error:  # the test inspects it
                outcome["error"] = error

        thread = threading.Thread(target=search)
        started = time.perf_counter()
        thread.start()
        time.sleep(0.5)  # the shards are inside their first (slow) stage
        ray.kill(index._shards.actors[1])
        thread.join(timeout=30)
        assert not thread.is_alive(), "search hung after a shard actor was killed"
        assert isinstance(outcome.get("error"), ShardUnavailableError), outcome
        assert "shard-001" in str(outcome["error"]) and "died" in str(outcome["error"])
        assert time.perf_counter() - started < 30
        partial = index.search(qs, 10, allow_partial=True)
        assert all(
            r.partial and r.missing_shards == ("shard-001",) and len(r) == 10 for r in partial
        )


def test_shard_that_does_not_answer_in_time_is_reported(built):
    folder, _, _ = built
    with ShardedPLAID(folder, "idx", backend="ray", timeout_s=60) as index:
        index.search(queries(2), 10)  # warm: kernels compiled, shards paged in
        index._shards.timeout_s = 1.0
        index._shards.call("set_stage_delay", {2: (5.0,)})
        started = time.perf_counter()
        with pytest.raises(ShardUnavailableError, match="shard-002.*no answer"):
            index.search(queries(2), 10)
        assert time.perf_counter() - started < 4
