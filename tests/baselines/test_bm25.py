"""BM25 baseline: scores equal a written-out Lucene BM25, API shape and input errors."""

from __future__ import annotations

import math
import re

import pytest

from plait.baselines import BM25

DOCS = [
    "the cat sat on the mat",
    "dogs and cats living together",
    "a dog barked at the cat and the cat ran",
    "stock markets fell sharply today",
    "cat cat cat cat",
]
IDS = ["a", "b", "c", "d", "e"]


def lucene_bm25(query: str, docs: list[str], k1: float = 1.5, b: float = 0.75) -> list[float]:
    from bm25s.stopwords import STOPWORDS_EN

    def tokens(text: str) -> list[str]:
        return [t for t in re.findall(r"(?u)\b\w\w+\b", text.lower()) if t not in STOPWORDS_EN]

    tokenized = [tokens(d) for d in docs]
    avgdl = sum(map(len, tokenized)) / len(tokenized)
    scores = []
    for doc in tokenized:
        score = 0.0
        for term in set(tokens(query)):
            df = sum(term in other for other in tokenized)
            if df == 0:
                continue
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            tf = doc.count(term)
            score += idf * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


@pytest.mark.parametrize("query", ["cat", "dogs cat", "the markets", "cat ran today"])
def test_scores_match_reference(query: str) -> None:
    bm25 = BM25(stemmer=None)
    bm25.index(DOCS, IDS)
    hits = bm25.retrieve([query], top_k=10)[0]
    expected = lucene_bm25(query, DOCS)
    order = sorted((i for i, s in enumerate(expected) if s > 0), key=lambda i: -expected[i])
    assert [h["id"] for h in hits] == [IDS[i] for i in order]
    for hit in hits:
        assert hit["score"] == pytest.approx(expected[IDS.index(hit["id"])], rel=1e-5)


def test_stemming_top_k_and_incremental_index() -> None:
    bm25 = BM25()
    bm25.index(DOCS[:3], IDS[:3])
    bm25.index(DOCS[3:], IDS[3:])
    assert len(bm25) == 5
    hits = bm25.retrieve("barking", k=1)  # a single string is one query; stem "bark"
    assert hits == [[{"id": "c", "score": pytest.approx(hits[0][0]["score"])}]]
    assert bm25.retrieve(["the and", "zebra"], top_k=3) == [[], []]  # stopwords / unknown words
    assert len(bm25.retrieve(["cat"], top_k=2)[0]) == 2


def test_empty_index_and_errors() -> None:
    bm25 = BM25()
    assert bm25.retrieve(["cat"]) == [[]]
    with pytest.raises(ValueError, match="collection has 2 documents but document_ids has 1 ids"):
        bm25.index(["a", "b"], ["1"])
    with pytest.raises(ValueError, match="duplicate document id '1'"):
        bm25.index(["a", "b"], ["1", "1"])
    with pytest.raises(TypeError, match=r"collection\[1\] must be a string"):
        bm25.index(["a", None], ["1", "2"])
    with pytest.raises(ValueError, match="queries must be a non-empty list"):
        bm25.retrieve([])
    with pytest.raises(TypeError, match=r"queries\[0\] must be a string"):
        bm25.retrieve([3])
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        bm25.retrieve(["cat"], top_k=0)
    with pytest.raises(ValueError, match="stemmer must be"):
        BM25(stemmer="french")
