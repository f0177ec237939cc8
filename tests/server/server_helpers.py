"""Helpers shared by the server tests: random documents with known embeddings, reference MaxSim,
a live uvicorn server in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from plait.server.connections import ConnectionLimits, protocol_class

DIM = 8


def random_documents(
    n: int, seed: int = 0, prefix: str = "d"
) -> tuple[list[str], list[np.ndarray]]:
    """``n`` documents of 1-6 L2-normalised ``DIM``-dimensional tokens."""
    rng = np.random.default_rng(seed)
    ids = [f"{prefix}{i}" for i in range(n)]
    docs = []
    for _ in range(n):
        m = rng.normal(size=(int(rng.integers(1, 7)), DIM)).astype(np.float32)
        docs.append(m / np.linalg.norm(m, axis=1, keepdims=True))
    return ids, docs


def maxsim(query: np.ndarray, doc: np.ndarray) -> float:
    """Reference MaxSim with plain numpy."""
    return float((query @ doc.T).max(axis=1).sum())


@contextmanager
def live_server(app: Any, limits: ConnectionLimits) -> Iterator[int]:
    """Run ``app`` with real uvicorn and :class:`GuardedH11Protocol` in a thread; yields the port.

    Built like :func:`plait.server.connections.serve` but without touching the process's file
    descriptor limit or log filters.
    """
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http=protocol_class(limits), ws="none", log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float, bool]:
    """Everything the server sends until it closes the connection or ``limit`` seconds pass:
    ``(bytes, seconds waited, closed)``."""
    start = time.monotonic()
    data = b""
    while (left := limit - (time.monotonic() - start)) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return data, time.monotonic() - start, True
        if not chunk:
            return data, time.monotonic() - start, True
        data += chunk
    return data, time.monotonic() - start, False
