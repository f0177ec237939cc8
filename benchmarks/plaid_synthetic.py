"""Synthetic clustered token embeddings for the PLAID benchmarks (topic -> word -> token).

512 unit topic vectors; 128 "words" per topic (topic + noise, normalised); a document picks 3 topics
and draws its tokens from their words, plus a little token noise; a query draws 32 tokens from the
words of one document's topics. Generation is deterministic per (seed, chunk) and chunked, so 10M
tokens never have to exist at once.
"""

from __future__ import annotations

import numpy as np

N_TOPICS, WORDS_PER_TOPIC = 512, 128


def _unit(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return x


class SyntheticCorpus:
    def __init__(self, dim: int = 128, tokens_per_doc: int = 100, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        topics = _unit(rng.normal(size=(N_TOPICS, dim)).astype(np.float32))
        noise = _unit(rng.normal(size=(N_TOPICS, WORDS_PER_TOPIC, dim)).astype(np.float32))
        self.words = _unit(topics[:, None, :] + 0.6 * noise)  # (topics, words, dim)
        self.dim, self.tokens_per_doc, self.seed = dim, tokens_per_doc, seed

    def chunk(self, start: int, n_docs: int) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Ids, embeddings ``(n_docs, tokens, dim)`` float32 and topics ``(n_docs, 3)`` of documents
        ``start .. start + n_docs``."""
        rng = np.random.default_rng([self.seed, start])
        topics = rng.integers(N_TOPICS, size=(n_docs, 3))
        slot = rng.integers(3, size=(n_docs, self.tokens_per_doc))
        word = rng.integers(WORDS_PER_TOPIC, size=(n_docs, self.tokens_per_doc))
        tokens = self.words[np.take_along_axis(topics, slot, axis=1), word]
        tokens += rng.standard_normal(size=tokens.shape, dtype=np.float32) * np.float32(
            0.1 / np.sqrt(self.dim)
        )
        return [f"doc{start + i}" for i in range(n_docs)], _unit(tokens), topics

    def queries(self, topics: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
        """``(n, 32, dim)`` queries, each drawn from the topics of a random document."""
        rng = np.random.default_rng([self.seed, seed, 7])
        picked = topics[rng.integers(len(topics), size=n)]
        slot = rng.integers(3, size=(n, 32))
        word = rng.integers(WORDS_PER_TOPIC, size=(n, 32))
        q = self.words[np.take_along_axis(picked, slot, axis=1), word]
        q += rng.standard_normal(size=q.shape, dtype=np.float32) * np.float32(
            0.1 / np.sqrt(self.dim)
        )
        return _unit(q)
