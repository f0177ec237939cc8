"""Crash contract, for every index of the conformance registry (conftest.py): a kill -9 at any point
of an add, a remove, an upsert (``add_documents(..., replace=True)``) or a compaction leaves exactly
the last committed state, texts and metadata included.

A child process (crash_child.py, forked from a forkserver with plait imported) applies a seeded
sequence of operations and reports each one after it returns. It is SIGKILLed (i) at its N-th call of
``os.fsync`` / ``os.replace``, N spread over the calls an unkilled run makes plus the last two calls
of two operations' commits (the manifest's rename and the folder fsync after it), and (ii) after
random delays. The parent then reopens the index with the factory, runs the integrity check
(``verify()``), and checks that it holds the state after the last reported operation or after the
next one (which may have committed just before the kill): the ids, every text
(``get_documents``), and the embeddings (exact kinds bit for bit in their stored dtype; PLAID the
same token counts and close vectors). Then it searches and writes once more (a killed writer's lock
does not outlive it).

A sharded index commits each shard on its own (documented in plait.distributed.sharded: a write
spanning several shards is applied shard by shard), so there the rule is checked per shard: each
shard holds that shard's part of the last reported or of the next state. ShardedPLAID has no
``compact()`` (its plan adds instead).

benchmarks/crash_test.py runs the same idea at benchmark scale.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import time
import zlib
from pathlib import Path
from typing import Any

import crash_child
import numpy as np
import pytest

from plait.indexes import Exact

SPREAD_KILLS = 4  # syscall kill points spread over a full run
COMMIT_KILLS = 2  # operations whose commit is hit at its last two syscalls
TIMER_KILLS = 2  # kills after a random delay

_CONTEXT: Any = None


def context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = mp.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(
            [
                "numpy",
                "plait.indexes",
                "plait.indexes.plaid",
                "plait.distributed.sharded",
                "crash_child",
            ]
        )
    return _CONTEXT


def run_child(
    factory: Any, folder: Path, seed: int, kill_at: int = 0, delay: float | None = None
) -> tuple[int, list[int], float, bool]:
    """One writer run on ``folder``; returns (last reported operation, syscall count after each
    reported operation, seconds from the first operation to the end, whether it finished)."""
    ctx = context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=crash_child.writer, args=(factory.name, str(folder), seed, kill_at, send)
    )
    child.start()
    send.close()
    assert receive.poll(60), f"{factory.name}: the writer did not start"
    started = time.perf_counter()
    if delay is not None:
        time.sleep(delay)
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
    child.join(60)
    elapsed = time.perf_counter() - started
    if child.is_alive():
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        pytest.fail(f"{factory.name}: the writer hung (kill_at={kill_at}, delay={delay})")
    last, ends, finished = 0, [], False
    while True:
        try:
            kind, i, calls = receive.recv()
        except EOFError:
            break
        if kind == "done":
            last = i
            ends.append(calls)
        finished |= kind == "finished"
    receive.close()
    if kill_at == 0 and delay is None:
        assert finished and child.exitcode == 0, f"{factory.name}: the unkilled run failed"
    else:
        assert finished or child.exitcode == -signal.SIGKILL, (
            f"{factory.name}: exit {child.exitcode}"
        )
    return last, ends, elapsed, finished


def part_of(index: Any) -> Any:
    """Which unit of atomicity holds an id: the shard for a sharded index, else the whole index."""
    if hasattr(index, "n_shards"):
        from plait.distributed.partition import shard_of

        return lambda doc_id: shard_of(doc_id, index.n_shards)
    return lambda doc_id: 0


def same_content(index: Any, expected: crash_child.State) -> str | None:
    """None when ``index`` holds ``expected``'s texts and embeddings for those ids, else why not."""
    order = sorted(expected)
    if not order:
        return None
    documents = index.get_documents(order)
    for doc_id, document in zip(order, documents, strict=True):
        if document["text"] != crash_child.text(doc_id, expected[doc_id]):
            return f"text of {doc_id} is {document['text']!r}, not version {expected[doc_id]}'s"
        if document["metadata"] != crash_child.metadata(doc_id, expected[doc_id]):
            return f"metadata of {doc_id} is {document['metadata']!r}, not version {expected[doc_id]}'s"
    for doc_id, got in zip(order, index.get_documents_embeddings(order), strict=True):
        want = crash_child.embedding(doc_id, expected[doc_id])
        if got.shape != want.shape:
            return f"{doc_id} has {got.shape[0]} tokens, version {expected[doc_id]} has {want.shape[0]}"
        if isinstance(index, Exact):
            if not np.array_equal(got, want.astype(index.dtype).astype(np.float32)):
                return f"embedding of {doc_id} differs from version {expected[doc_id]}'s"
        elif float(np.mean(np.sum(got * want, axis=1))) < 0.8:
            return f"embedding of {doc_id} is far from version {expected[doc_id]}'s"
    return None


def check(factory: Any, folder: Path, states: list[crash_child.State], last: int) -> str:
    """Reopen, verify and compare with the states ``last`` / ``last + 1``; then search and write once
    more. Returns which state the index holds: ``"last"``, ``"next"`` or (a sharded index, some
    shards written) ``"mixed"``."""
    index = factory.reopen(folder)
    index.verify()
    ids = index.documents_ids
    assert len(ids) == len(set(ids)) == len(index), (
        f"ids repeated or len wrong: {len(ids)} vs {len(index)}"
    )
    part = part_of(index)
    candidates = [c for c in (last, last + 1) if c < len(states)]
    held_by_all = set(candidates)
    for p in sorted({part(i) for s in states for i in s} | {part(i) for i in ids}):
        held = {i for i in ids if part(i) == p}
        matched, problems = set(), []
        for (
            c
        ) in candidates:  # both: an upsert keeps the ids, a part the operation missed matches both
            expected = {i: v for i, v in states[c].items() if part(i) == p}
            problem = (
                f"ids differ ({sorted(held ^ set(expected))[:6]})"
                if set(expected) != held
                else same_content(index, expected)
            )
            if problem is None:
                matched.add(c)
            else:
                problems.append(f"state {c}: {problem}")
        if not matched:
            pytest.fail(
                f"{factory.name}: part {p} holds no committed state: " + "; ".join(problems)
            )
        held_by_all &= matched
    if ids:
        probe = sorted(ids)[0]
        hits = index.search(index.get_documents_embeddings([probe]), k=3)[0]
        assert set(hits.ids) <= set(ids) and len(hits) == min(3, len(ids))
        if isinstance(index, Exact):
            assert hits.ids[0] == probe
    index.add_documents(
        ["after-crash"], [crash_child.embedding("after-crash", 0)], texts=["written after"]
    )
    again = factory.reopen(folder)
    assert again.get_documents(["after-crash"]) == [
        {"id": "after-crash", "text": "written after", "metadata": {}}
    ]
    again.verify()
    if last in held_by_all:
        return "last"
    return "next" if held_by_all else "mixed"


@pytest.mark.slow_kinds("exact-float16", "plaid", "sharded-plaid")  # seconds each: child processes
def test_kill_9_leaves_the_last_committed_state(index_factory, tmp_path):
    seed = zlib.crc32(index_factory.name.encode())
    ops, states = crash_child.plan(seed, crash_child.can_compact(index_factory.name))
    rng = random.Random(seed)

    def fresh(run: str) -> Path:
        folder = tmp_path / run
        index_factory.create(folder)
        return folder

    folder = fresh("unkilled")
    last, ends, full_run_s, _ = run_child(index_factory, folder, seed)
    assert last == len(ops) and check(index_factory, folder, states, last) == "last"
    total = ends[-1]
    points: list[tuple[int, float | None]] = [
        (1 + round((total - 1) * (j + 0.5) / SPREAD_KILLS), None) for j in range(SPREAD_KILLS)
    ]
    for i in rng.sample(range(len(ops)), COMMIT_KILLS):
        points += [(ends[i] - 1, None), (ends[i], None)]
    points += [(0, rng.uniform(0.0, full_run_s)) for _ in range(TIMER_KILLS)]

    outcomes: list[str] = []
    for run, (kill_at, delay) in enumerate(points):
        folder = fresh(f"run{run}")
        last, _, _, finished = run_child(index_factory, folder, seed, kill_at, delay)
        held = check(index_factory, folder, states, last)
        outcomes.append("finished" if finished else held)
    print(
        f"{index_factory.name}: {total} commit syscalls per run, kill points {points}, "
        f"outcomes {outcomes}"
    )
    # the kills did land on both sides of a commit point
    assert "next" in outcomes and ("last" in outcomes or "mixed" in outcomes), outcomes
    if not hasattr(index_factory.reopen(tmp_path / "unkilled"), "n_shards"):
        assert "mixed" not in outcomes
