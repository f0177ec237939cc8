"""Threads for plait's kernels: one setting (torch's thread count) and named worker pools.

Kernels that split work across threads (exact MaxSim blocks, PLAID queries of a batch) run it on a
:func:`worker_pool`: ``get_num_threads()`` threads, each limited to single-threaded OpenMP (torch's
matrix multiply), so the workers do not oversubscribe the cores. Pools are per name, so a kernel
running on one pool never waits for a task queued behind itself on the same pool, and they are
recreated after a fork (a child process inherits no threads).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for plait's kernels (also torch's intra-op pool, which runs the multiply).

    The compiled (numba) parts are serial per thread and never start numba's own thread pool
    (launching it resets the OpenMP thread count torch uses).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"number of threads must be a positive integer, got {n!r}")
    import torch

    torch.set_num_threads(n)


def get_num_threads() -> int:
    """Threads plait's kernels use (torch's setting; by default the cores available)."""
    import torch  # imported here so that opening an index does not load torch

    return torch.get_num_threads()


def _single_threaded_worker() -> None:
    """Pool initializer: this thread's OpenMP (torch's matmul) runs on one thread."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="openmp")  # per-thread setting; the caller's is kept
    except Exception:  # pragma: no cover - without it the worker still computes correctly
        pass


_LOCK = threading.Lock()
_POOLS: dict[str, tuple[int, int, ThreadPoolExecutor]] = {}  # name -> (pid, workers, executor)


def worker_pool(name: str, workers: int) -> ThreadPoolExecutor:
    """Return the shared pool ``name`` with ``workers`` single-threaded-OpenMP threads.

    The pool is made on first use, and again in a forked process or for another ``workers``.
    """
    with _LOCK:
        current = _POOLS.get(name)
        if current is None or current[:2] != (os.getpid(), workers):
            if current is not None and current[0] == os.getpid():
                current[2].shutdown(wait=False)
            executor = ThreadPoolExecutor(
                workers, thread_name_prefix=f"plait-{name}", initializer=_single_threaded_worker
            )
            _POOLS[name] = (os.getpid(), workers, executor)
        return _POOLS[name][2]
