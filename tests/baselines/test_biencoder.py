"""Bi-encoder baseline on the packaged MiniLM: results equal brute-force cosine over its vectors."""

from __future__ import annotations

import numpy as np
import pytest

from plait.baselines import BiEncoder

DOCS = [
    "The patient has no history of cardiac disease.",
    "The patient was admitted with acute heart failure.",
    "Sourdough bread rises slowly at room temperature.",
    "Interest rates were raised by the central bank.",
]


@pytest.fixture(scope="module")
def encoder() -> BiEncoder:
    model = BiEncoder(device="cpu")
    model.index(DOCS[:2], ["a", "b"], batch_size=2)
    model.index(DOCS[2:], ["c", "d"])
    return model


def test_matches_brute_force_cosine(encoder: BiEncoder) -> None:
    queries = ["heart disease in patients", "how to bake bread", "monetary policy"]
    hits = encoder.retrieve(queries, top_k=4)
    docs = encoder.model.encode(DOCS, convert_to_numpy=True)
    docs = docs / np.linalg.norm(docs, axis=1, keepdims=True)
    for query, ranked in zip(queries, hits, strict=True):
        q = encoder.model.encode([query], convert_to_numpy=True)[0]
        expected = docs @ (q / np.linalg.norm(q))
        order = np.argsort(-expected)
        assert [h["id"] for h in ranked] == [["a", "b", "c", "d"][i] for i in order]
        assert [h["score"] for h in ranked] == pytest.approx(expected[order].tolist(), abs=1e-5)
    assert hits[1][0]["id"] == "c" and hits[2][0]["id"] == "d"


def test_top_k_larger_than_collection_and_errors(encoder: BiEncoder) -> None:
    assert len(encoder) == 4
    assert len(encoder.retrieve(["bread"], top_k=100)[0]) == 4
    assert len(encoder.retrieve("bread", k=2)[0]) == 2
    with pytest.raises(ValueError, match="duplicate document id 'a'"):
        encoder.index(["x"], ["a"])
    with pytest.raises(FileNotFoundError, match="bi-encoder model folder not found"):
        BiEncoder("/nonexistent/model-folder")
