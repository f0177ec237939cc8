"""A replica of a dead encode that still writes cannot race the run that takes the folder over."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from plait.distributed.encode import _remove_stale_temporaries, _take_over, _writer_slot
from plait.distributed.shards import ShardError, ShardRange, write_shard


def test_take_over_waits_for_a_writing_replica_then_refuses_it(tmp_path):
    old_run = _take_over(tmp_path)
    inside = threading.Event()
    release = threading.Event()

    def old_replica() -> None:
        with _writer_slot(tmp_path, old_run):
            (tmp_path / ".shard-x.npz.dead.tmp").write_bytes(b"half")  # mid-write
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=old_replica)
    worker.start()
    assert inside.wait(5)
    took_over: list[str] = []
    driver = threading.Thread(target=lambda: took_over.append(_take_over(tmp_path)))
    driver.start()
    time.sleep(0.3)
    assert not took_over  # still waiting for the old replica's write slot
    release.set()
    driver.join(5)
    worker.join(5)
    assert took_over and took_over[0] != old_run
    _remove_stale_temporaries(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))

    shard = ShardRange(0, 1)
    with pytest.raises(ShardError, match="another encode"):
        with _writer_slot(tmp_path, old_run):
            write_shard(tmp_path, shard, ["a"], [np.ones((2, 4), np.float32)])
    assert not (tmp_path / shard.name).exists()
    with _writer_slot(tmp_path, took_over[0]):
        write_shard(tmp_path, shard, ["a"], [np.ones((2, 4), np.float32)])
    assert (tmp_path / shard.name).exists()
