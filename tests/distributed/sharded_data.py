"""Synthetic collections for the sharded-index tests (no model needed)."""

from __future__ import annotations

import numpy as np

from plait.distributed.partition import shard_of


def clustered_docs(n_docs: int, dim: int = 32, seed: int = 0) -> tuple[list[str], list[np.ndarray]]:
    """``n_docs`` documents of 3-24 L2-normalised tokens drawn around 24 topic centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(24, dim)).astype(np.float32)
    ids, docs = [], []
    for d in range(n_docs):
        topic = centres[rng.integers(0, 24, size=rng.integers(3, 25))]
        tokens = topic + 0.4 * rng.normal(size=topic.shape).astype(np.float32)
        docs.append((tokens / np.linalg.norm(tokens, axis=1, keepdims=True)).astype(np.float32))
        ids.append(f"doc-{d}")
    return ids, docs


def queries(n: int, dim: int = 32, seed: int = 1, length: int = 8) -> list[np.ndarray]:
    _, docs = clustered_docs(n, dim, seed)
    return [d[:length] for d in docs]


def shard_order(ids: list[str], n_shards: int) -> list[int]:
    """Positions of ``ids`` shard by shard: the insertion order of the equivalent single index."""
    return [p for s in range(n_shards) for p, i in enumerate(ids) if shard_of(i, n_shards) == s]
