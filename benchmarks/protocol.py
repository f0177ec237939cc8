"""What both sides of the benchmark share: the worker loop, embedding files, RSS and disk size.

This module runs in both virtual environments (plait's and the peer's), so it imports only the
standard library and numpy. A worker is a long-lived subprocess that reads one JSON request per
line on stdin (``{"op": name, ...arguments}``) and answers one JSON line (``{"ok": true,
"result": ...}`` or ``{"ok": false, "error": traceback}``). The answers go to a private copy of the
original stdout; file descriptor 1 is pointed at stderr so that libraries printing progress cannot
corrupt the protocol.

Embedding sets live in a folder (see :func:`load_embeddings`)::

    tokens.npy      float32 (n_tokens, dim), every document's token rows, concatenated
    offsets.npy     int64 (n_documents + 1,); document j is tokens[offsets[j]:offsets[j + 1]]
    ids.json        document ids (strings)
    queries.npy     float32 (n_queries, query_tokens, dim)
    query_ids.json  query ids (strings)
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

Handler = Callable[..., Any]


# ----------------------------------------------------------------------------- memory and disk
def memory_kib() -> dict[str, int]:
    """``VmRSS`` (now) and ``VmHWM`` (peak so far) of this process, in KiB (Linux)."""
    values = {"rss_kib": 0, "peak_kib": 0}
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    values["rss_kib"] = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    values["peak_kib"] = int(line.split()[1])
    except OSError:  # not Linux: fall back to getrusage (peak only)
        import resource

        values["peak_kib"] = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return values


def folder_bytes(path: str) -> tuple[int, int]:
    """Total size in bytes and number of regular files under ``path`` (every file counted)."""
    total = count = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                total += os.path.getsize(full)
                count += 1
    return total, count


# ----------------------------------------------------------------------------- embedding sets
def load_embeddings(folder: str, *, documents: bool = True) -> dict[str, Any]:
    """Read an embedding set into memory (documents as views into one float32 matrix)."""
    data: dict[str, Any] = {}
    if documents:
        tokens = np.load(os.path.join(folder, "tokens.npy"))
        offsets = np.load(os.path.join(folder, "offsets.npy"))
        with open(os.path.join(folder, "ids.json")) as f:
            data["ids"] = json.load(f)
        data["tokens"] = np.ascontiguousarray(tokens, dtype=np.float32)
        data["offsets"] = offsets.astype(np.int64)
        data["documents"] = [
            data["tokens"][offsets[j] : offsets[j + 1]] for j in range(len(offsets) - 1)
        ]
    data["queries"] = np.ascontiguousarray(np.load(os.path.join(folder, "queries.npy")), np.float32)
    with open(os.path.join(folder, "query_ids.json")) as f:
        data["query_ids"] = json.load(f)
    return data


def package_versions(names: tuple[str, ...]) -> dict[str, str]:
    """Python, the given packages' installed versions ("absent" if missing) and torch's threads."""
    import importlib.metadata as md

    found = {"python": sys.version.split()[0]}
    for name in names:
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = "absent"
    import torch

    found["torch_threads"] = str(torch.get_num_threads())
    return found


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """``(seconds, result)`` of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


# ----------------------------------------------------------------------------- worker loop
def _exit_with_parent(interval: float = 2.0) -> None:
    """Stop this worker (from a daemon thread) as soon as the orchestrator that started it dies."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def serve(handlers: dict[str, Handler]) -> None:
    """Answer requests on stdin until EOF or ``{"op": "quit"}``.

    Built-in operations: ``ping``, ``memory`` (:func:`memory_kib`), ``folder_bytes``, ``quit``.
    The worker exits by itself when its parent process dies.
    """
    _exit_with_parent()
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # stray prints from libraries go to stderr
    sys.stdout = sys.stderr
    builtins: dict[str, Handler] = {
        "ping": lambda: "pong",
        "memory": memory_kib,
        "folder_bytes": lambda path: folder_bytes(path),
    }
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.pop("op")
        if op == "quit":
            out.write(json.dumps({"ok": True, "result": None}) + "\n")
            break
        handler = handlers.get(op) or builtins.get(op)
        try:
            if handler is None:
                raise ValueError(f"unknown operation {op!r}")
            answer = {"ok": True, "result": handler(**request)}
        except Exception:  # report every failure to the orchestrator, keep serving
            answer = {"ok": False, "error": traceback.format_exc()}
        out.write(json.dumps(answer) + "\n")
