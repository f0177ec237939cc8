"""Crash test: kill -9 a writer at random points of add / upsert / remove / compaction runs.

Each run starts a writer process (forked from a clean fork server that has plait imported) that
applies a seeded sequence of operations to an index and reports each operation after it returns.
The parent SIGKILLs it, half the runs at a random commit-path system call (the N-th ``os.fsync`` /
``os.replace``, N drawn from the calls a full run makes), half after a random delay. Then the parent
opens the index, runs its integrity check (``verify()``: every file's size and CRC-32), and checks
that it holds exactly a committed state: the state after the last reported operation, or after the
next one (which may have committed just before the kill). For the exact index the stored
embeddings must equal the expected ones bit for bit; PLAID (lossy) must hold the same ids with the
same token counts and embeddings close to the originals. Finally it searches and writes once more
(a killed writer's lock does not outlive it).

    python benchmarks/crash_test.py --runs 50 --kind exact --kind plaid
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import signal
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

DIM = 16
N_OPS = 10

State = dict[str, int]  # document id -> version (embeddings are a function of both)
RUN_SECONDS: list[float] = []  # time from the writer's first operation to its end, per run


def embedding(doc_id: str, version: int) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(f"{doc_id}/{version}".encode()))
    m = rng.normal(size=(int(rng.integers(1, 9)), DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def plan(seed: int) -> tuple[list[tuple[str, list[str]]], list[State]]:
    """``N_OPS`` operations and the state after each; ``states[0]`` is the empty index."""
    rng = random.Random(seed)
    ops: list[tuple[str, list[str]]] = [("add", [f"d{i}" for i in range(40)])]
    state: State = {}
    states: list[State] = [{}]
    next_id = 40
    for step in range(N_OPS):
        if step > 0:
            live = sorted(state)
            kind = rng.choice(["add", "add", "upsert", "remove", "compact"])
            if kind == "add":
                ops.append(("add", [f"d{next_id + i}" for i in range(rng.randint(1, 20))]))
                next_id += len(ops[-1][1])
            elif kind in ("upsert", "remove") and live:
                ops.append((kind, rng.sample(live, min(len(live), rng.randint(1, 15)))))
            else:
                ops.append(("compact", []))
        kind, ids = ops[-1]
        state = dict(state)
        if kind in ("add", "upsert"):
            for doc_id in ids:
                state[doc_id] = state.get(doc_id, -1) + 1
        elif kind == "remove":
            for doc_id in ids:
                del state[doc_id]
        states.append(state)
    return ops, states


def open_index(kind: str, folder: Path, create: bool = False) -> Any:
    if kind == "exact":
        from plait.indexes import Exact

        return Exact(index_folder=folder, index_name="crash", override=create)
    from plait.indexes.plaid import PLAID

    return PLAID(index_folder=folder, index_name="crash", override=create, n_centroids=16)


def sabotage_commits() -> None:
    """Make commits unsafe (manifest rewritten in place, in two fsynced halves) to show that this
    test notices: with ``--sabotage`` runs must fail."""
    from plait.indexes import storage

    def atomic_write(path: Any, data: Any, **_: Any) -> None:
        text = data if isinstance(data, str) else data.decode("utf-8")
        with open(path, "w", encoding="utf-8") as handle:
            for part in (text[: len(text) // 2], text[len(text) // 2 :]):
                handle.write(part)
                handle.flush()
                os.fsync(handle.fileno())

    storage.atomic_write = atomic_write  # type: ignore[assignment]


def writer(
    kind: str, folder: str, seed: int, kill_at: int, conn: Any, sabotage: bool = False
) -> None:
    """Child: apply the plan, report ``i`` after operation ``i`` returns; die at syscall ``kill_at``."""
    if sabotage:
        sabotage_commits()
    calls = 0
    real_fsync, real_replace = os.fsync, os.replace

    def counted(real: Any) -> Any:
        def call(*args: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args)

        return call

    os.fsync, os.replace = counted(real_fsync), counted(real_replace)  # type: ignore[assignment]
    index = open_index(kind, Path(folder))
    conn.send(("ready", 0, 0))
    state: State = {}
    ops, _ = plan(seed)
    for i, (op, ids) in enumerate(ops, start=1):
        if op in ("add", "upsert"):
            versions = [state.get(doc_id, -1) + 1 for doc_id in ids]
            index.add_documents(
                ids,
                [embedding(d, v) for d, v in zip(ids, versions, strict=True)],
                replace=op == "upsert",
            )
            state.update(zip(ids, versions, strict=True))
        elif op == "remove":
            index.remove_documents(ids)
            for doc_id in ids:
                del state[doc_id]
        else:
            index.compact()
        conn.send(("done", i, calls))
    conn.send(("finished", len(ops), calls))


def check(kind: str, folder: Path, states: list[State], last: int) -> tuple[int | None, str]:
    """Open, verify and compare; returns (matched state number or None, message)."""
    index = open_index(kind, folder)
    index.verify()
    ids = set(index.documents_ids)
    problem = f"{len(ids)} ids match neither state {last} nor {last + 1}"
    for candidate in (last, last + 1):
        if candidate >= len(states) or set(states[candidate]) != ids:
            continue
        if not _same_embeddings(kind, index, states[candidate]):
            problem = f"ids match state {candidate} but embeddings differ"
            continue  # an upsert keeps the ids: the other candidate may match
        order = sorted(states[candidate])
        if order:
            hits = index.search([embedding(order[0], states[candidate][order[0]])], k=3)[0]
            if kind == "exact" and hits.ids[0] != order[0]:
                return None, "search after recovery does not find a stored document"
        index.add_documents(["after-crash"], [embedding("after-crash", 0)])
        if "after-crash" not in open_index(kind, folder).documents_ids:
            return None, "write after recovery was lost"
        return candidate, "ok"
    return None, problem


def _same_embeddings(kind: str, index: Any, expected: State) -> bool:
    order = sorted(expected)
    stored = index.get_documents_embeddings(order) if order else []
    for doc_id, got in zip(order, stored, strict=True):
        want = embedding(doc_id, expected[doc_id])
        if got.shape != want.shape:
            return False
        if kind == "exact" and not np.array_equal(got, want):
            return False
        if kind != "exact" and float(np.mean(np.sum(got * want, axis=1))) < 0.5:
            return False
    return True


def run_once(
    ctx: Any, kind: str, seed: int, kill_at: int, delay: float | None, sabotage: bool = False
) -> tuple[int, int, int]:
    """One child run; returns (last reported operation, state found, commit syscalls seen)."""
    with tempfile.TemporaryDirectory(prefix="plait-crash-") as tmp:
        folder = Path(tmp)
        open_index(kind, folder, create=True)
        _, states = plan(seed)
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=writer, args=(kind, str(folder), seed, kill_at, send, sabotage))
        child.start()
        send.close()
        last, calls = 0, 0
        if not receive.poll(60):
            raise AssertionError(f"{kind} seed={seed}: the writer did not start")
        receive.recv()  # ready: the index is open, operations start now
        started = time.perf_counter()
        if delay is not None:
            time.sleep(delay)
            if child.is_alive():
                os.kill(child.pid, signal.SIGKILL)
        child.join(120)
        elapsed = time.perf_counter() - started
        while receive.poll():
            try:
                _, last, calls = receive.recv()
            except EOFError:
                break
        RUN_SECONDS.append(elapsed)
        try:
            matched, message = check(kind, folder, states, last)
        except Exception as error:  # noqa: BLE001 - any failure to open or verify is a finding
            matched, message = None, f"{type(error).__name__}: {error}"
        if matched is None:
            raise AssertionError(f"{kind} seed={seed} kill_at={kill_at} delay={delay}: {message}")
        return last, matched, calls


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--kind", action="append", choices=["exact", "plaid"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--sabotage", action="store_true", help="unsafe commits: the test must then fail"
    )
    args = parser.parse_args()
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["numpy", "plait.indexes", "plait.indexes.plaid"])
    rng = random.Random(args.seed)
    failures = 0
    for kind in args.kind or ["exact"]:
        start = time.perf_counter()
        _, _, total_calls = run_once(
            ctx, kind, args.seed, kill_at=0, delay=None
        )  # dry run: count syscalls
        full_run_s = RUN_SECONDS[-1]
        outcomes = {"syscall": 0, "timer": 0, "finished": 0}
        matched_next = 0
        for r in range(args.runs):
            seed = args.seed * 1000 + r
            by_syscall = r % 2 == 0
            kill_at = rng.randint(1, total_calls) if by_syscall else 0
            delay = None if by_syscall else rng.uniform(0.0, full_run_s)
            try:
                last, matched, _ = run_once(ctx, kind, seed, kill_at, delay, args.sabotage)
            except AssertionError as error:
                failures += 1
                print(f"FAIL {error}", flush=True)
                continue
            outcomes["finished" if last == N_OPS else ("syscall" if by_syscall else "timer")] += 1
            matched_next += matched == last + 1
        print(
            f"{kind}: {args.runs} runs in {time.perf_counter() - start:.1f}s "
            f"({total_calls} commit syscalls per full run): killed at a syscall {outcomes['syscall']}, "
            f"killed by timer {outcomes['timer']}, finished before the kill {outcomes['finished']}; "
            f"recovered the last reported state {args.runs - failures - matched_next}, the in-flight "
            f"operation's state {matched_next}; "
            f"failures {failures}",
            flush=True,
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
