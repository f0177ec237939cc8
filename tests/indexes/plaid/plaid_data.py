"""Synthetic clustered corpora for PLAID tests, and an exhaustive MaxSim oracle.

Tokens follow topic -> word -> token structure: 64 topic centres, 1,024 "words" scattered around
them, tokens = word + small noise, L2-normalised. Documents come in families of 15 that share a
12-word vocabulary (plus background words); a query draws 8 tokens from one family's words, so its
exact top 10 are well separated from the rest (ties at the boundary would make overlap meaningless).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


@dataclass
class Corpus:
    ids: list[str]
    docs: list[np.ndarray]
    queries: list[np.ndarray]


def clustered_corpus(
    n_families: int = 20, family_size: int = 15, dim: int = 32, n_queries: int = 20, seed: int = 0
) -> Corpus:
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(64, dim)))
    words = unit(centres[rng.integers(64, size=1024)] + 0.5 * unit(rng.normal(size=(1024, dim))))
    vocab = [rng.choice(1024, 12, replace=False) for _ in range(n_families)]

    def tokens(choices: np.ndarray, n: int) -> np.ndarray:
        noise = rng.normal(scale=0.1 / np.sqrt(dim), size=(n, dim))
        return unit(words[rng.choice(choices, n)] + noise)

    docs = []
    for f in range(n_families):
        for _ in range(family_size):
            n = int(rng.integers(10, 40))
            docs.append(
                np.concatenate([tokens(vocab[f], n - n // 3), tokens(np.arange(1024), n // 3)])
            )
    queries = [tokens(vocab[int(rng.integers(n_families))], 8) for _ in range(n_queries)]
    return Corpus([f"doc-{i}" for i in range(len(docs))], docs, queries)


def exact_scores(query: np.ndarray, docs: list[np.ndarray]) -> np.ndarray:
    """Brute-force MaxSim (float64) of one query against every document."""
    q = query.astype(np.float64)
    return np.array([(q @ d.astype(np.float64).T).max(axis=1).sum() for d in docs])
