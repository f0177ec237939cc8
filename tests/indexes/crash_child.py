"""The writer side of test_crash_contract.py (not a test module: pytest does not collect it).

:func:`writer` runs in a child process (forked from a ``forkserver`` that has this module, numpy and
plait imported). It opens an index with the conformance suite's factory (``INDEX_FACTORIES`` of
conftest.py, loaded here by path), applies the seeded operations of :func:`plan` and reports
``("done", i, calls)`` after operation ``i`` returns. ``kill_at=N`` makes it SIGKILL itself at its
N-th call of ``os.fsync`` / ``os.replace`` (the commit path's system calls), before that call runs.

:func:`plan` also gives the expected state after each operation: ``{id: version}``; the embeddings
and texts of a version are functions of ``(id, version)`` (:func:`embedding`, :func:`text`).
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

DIM = 16
N_OPS = 8  # the first add plus seven more

State = dict[str, int]  # document id -> version
Op = tuple[str, list[str]]  # ("add" | "upsert" | "remove" | "compact", ids)


def _load_factories() -> dict[str, Any]:
    name = "_plait_crash_index_factories"
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("conftest.py"))
    assert spec is not None and spec.loader is not None
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {factory.name: factory for factory in module.INDEX_FACTORIES}


FACTORIES = _load_factories()


def embedding(doc_id: str, version: int) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(f"{doc_id}/{version}".encode()))
    m = rng.normal(size=(int(rng.integers(2, 9)), DIM))
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def text(doc_id: str, version: int) -> str | None:
    """Most versions carry a text (some non-ASCII); about one in five has none."""
    if zlib.crc32(f"text/{doc_id}/{version}".encode()) % 5 == 0:
        return None
    return f"{doc_id}, version {version}: café ✓ " + "lorem " * (version % 3)


def metadata(doc_id: str, version: int) -> dict:
    """Each version's metadata (the version itself, a string, sometimes a flag): it must stay in
    step with the vectors and the text."""
    row: dict = {"version": version, "label": f"{doc_id}/{version}"}
    if zlib.crc32(f"meta/{doc_id}/{version}".encode()) % 3 == 0:
        row["flag"] = version % 2 == 0
    return row


def can_compact(factory_name: str) -> bool:
    return factory_name != "sharded-plaid"  # ShardedPLAID has no compact()


def plan(seed: int, compact: bool = True) -> tuple[list[Op], list[State]]:
    """``N_OPS`` operations (each kind at least once) and the state after each; ``states[0]`` is the
    empty index, ``states[i]`` the state once operation ``i`` (1-based) has committed."""
    rng = random.Random(seed)
    kinds = [
        "add",
        "upsert",
        "remove",
        "compact" if compact else "add",
        "upsert",
        "remove",
        "compact" if compact else "add",
    ]
    rng.shuffle(kinds)
    ops: list[Op] = [("add", [f"d{i}" for i in range(24)])]
    next_id = 24
    state: State = {doc_id: 0 for doc_id in ops[0][1]}
    states: list[State] = [{}, dict(state)]
    for kind in kinds[: N_OPS - 1]:
        live = sorted(state)
        if kind == "add":
            ids = [f"d{next_id + i}" for i in range(rng.randint(1, 8))]
            next_id += len(ids)
        elif kind == "upsert":  # some live ids and one new one
            ids = [*rng.sample(live, min(len(live), rng.randint(1, 6))), f"d{next_id}"]
            next_id += 1
        elif kind == "remove":
            ids = rng.sample(live, min(len(live) - 1, rng.randint(1, 5)))
        else:
            ids = []
        ops.append((kind, ids))
        state = dict(state)
        if kind in ("add", "upsert"):
            for doc_id in ids:
                state[doc_id] = state.get(doc_id, -1) + 1
        elif kind == "remove":
            for doc_id in ids:
                del state[doc_id]
        states.append(state)
    return ops, states


def apply(index: Any, op: Op, state: State) -> None:
    """Run one operation on ``index`` (and update ``state`` once it returned)."""
    kind, ids = op
    if kind in ("add", "upsert"):
        versions = [state.get(doc_id, -1) + 1 for doc_id in ids]
        index.add_documents(
            ids,
            [embedding(d, v) for d, v in zip(ids, versions, strict=True)],
            replace=kind == "upsert",
            texts=[text(d, v) for d, v in zip(ids, versions, strict=True)],
            metadata=[metadata(d, v) for d, v in zip(ids, versions, strict=True)],
        )
        state.update(zip(ids, versions, strict=True))
    elif kind == "remove":
        index.remove_documents(ids)
        for doc_id in ids:
            del state[doc_id]
    else:
        index.compact()


def writer(factory_name: str, folder: str, seed: int, kill_at: int, conn: Any) -> None:
    """Child: reopen the index, apply the plan, report each operation; die at syscall ``kill_at``."""
    calls = 0
    real_fsync, real_replace = os.fsync, os.replace

    def counted(real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += 1
            if calls == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        return call

    os.fsync, os.replace = counted(real_fsync), counted(real_replace)  # type: ignore[assignment]
    index = FACTORIES[factory_name].reopen(Path(folder))
    conn.send(("ready", 0, calls))
    ops, _ = plan(seed, can_compact(factory_name))
    state: State = {}
    for i, op in enumerate(ops, start=1):
        apply(index, op, state)
        conn.send(("done", i, calls))
    conn.send(("finished", len(ops), calls))
