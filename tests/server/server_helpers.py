"""Helpers shared by the server tests: random documents with known embeddings, reference MaxSim."""

from __future__ import annotations

import numpy as np

DIM = 8


def random_documents(n: int, seed: int = 0, prefix: str = "d") -> tuple[list[str], list[np.ndarray]]:
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
