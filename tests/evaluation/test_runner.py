"""evaluate_retriever / evaluate_beir: one code path that indexes, searches and scores any retriever."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from plait.baselines import BM25
from plait.evaluation import EvaluationResult, evaluate_beir, evaluate_retriever, load_beir


class ScriptedRetriever:
    """Records what it is given and answers from a fixed table (query text -> ranked ids)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.indexed: tuple[list[str], list[str], int] | None = None
        self.calls: list[tuple[list[str], int]] = []

    def index(self, collection, document_ids, batch_size=32):
        self.indexed = (list(collection), list(document_ids), batch_size)

    def retrieve(self, queries, top_k=10):
        self.calls.append((list(queries), top_k))
        return [
            [{"id": d, "score": float(-rank)} for rank, d in enumerate(self.answers.get(q, []))][
                :top_k
            ]
            for q in queries
        ]


def test_scripted_retriever_hand_computed(beir_folder: Path) -> None:
    retriever = ScriptedRetriever(
        {
            "patients with cardiac conditions": ["d2", "d3", "d1"],  # grades 1, 0, 2
            "how to bake bread": ["d3"],
            "shared id document": ["d1", "q3"],  # the document with the query's id is kept
        }
    )
    result = evaluate_beir(retriever, beir_folder, batch_size=7)
    assert isinstance(result, EvaluationResult)
    texts, ids, batch_size = retriever.indexed
    assert ids == ["d1", "d2", "d3", "q3"] and batch_size == 7
    assert texts[0] == "Cardiac disease The patient has a history of heart failure."
    assert retriever.calls[0][1] == 100  # recall@100 needs the top 100
    ndcg_q1 = (1 + 2 / math.log2(4)) / (2 + 1 / math.log2(3))
    ndcg_q3 = 1 / math.log2(3)
    assert result.metrics["ndcg@10"] == pytest.approx((ndcg_q1 + 1 + ndcg_q3) / 3)
    assert result.metrics["mrr@10"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert result.metrics["recall@100"] == pytest.approx(1.0)
    assert (result.n_documents, result.n_queries, result.top_k) == (4, 3, 100)
    assert set(result.timings) == {"load_s", "index_s", "search_s", "ms_per_query"}
    assert result.to_dict()["metrics"] == result.metrics
    assert result.run["q2"] == [{"id": "d3", "score": 0.0}]


def test_top_k_and_no_index(beir_folder: Path) -> None:
    documents, queries, qrels = load_beir(beir_folder)
    retriever = ScriptedRetriever({"patients with cardiac conditions": ["d2", "d1"]})
    result = evaluate_retriever(
        retriever, documents, queries, qrels, metrics=["recall@1"], build_index=False
    )
    assert retriever.indexed is None and retriever.calls[0][1] == 1
    assert result.metrics["recall@1"] == pytest.approx(0.5 / 3)
    assert "index_s" not in result.timings


def test_broken_retriever_and_empty_inputs(beir_folder: Path) -> None:
    documents, queries, qrels = load_beir(beir_folder)

    class Short(ScriptedRetriever):
        def retrieve(self, queries, top_k=10):
            return []

    with pytest.raises(RuntimeError, match="returned 0 result lists for 3 queries"):
        evaluate_retriever(Short({}), documents, queries, qrels)
    with pytest.raises(ValueError, match="no queries"):
        evaluate_retriever(Short({}), documents, [], qrels)
    with pytest.raises(ValueError, match="no documents"):
        evaluate_retriever(Short({}), [], queries, qrels)


def test_bm25_through_the_same_path(beir_folder: Path) -> None:
    result = evaluate_beir(BM25(), beir_folder)
    # q2 "how to bake bread" only matches d3; "shared id document" matches q3 ("shared", "id")
    assert result.run["q2"][0]["id"] == "d3"
    assert result.run["q3"][0]["id"] == "q3"
    assert 0.0 < result.metrics["ndcg@10"] <= 1.0


def test_colbert_retriever_matches_brute_force_maxsim(beir_folder: Path, tiny_model) -> None:
    import numpy as np

    from plait import indexes, retrieve

    documents, queries, qrels = load_beir(beir_folder)
    retriever = retrieve.ColBERT(index=indexes.Exact(index_folder=None), model=tiny_model)
    result = evaluate_retriever(
        retriever, documents, queries, qrels, metrics=["mrr@10", "recall@1"]
    )
    d_emb = tiny_model.encode([d["text"] for d in documents], is_query=False)
    q_emb = tiny_model.encode([q["text"] for q in queries], is_query=True)
    reciprocal, hit_at_1 = [], []
    for query, q in zip(queries, q_emb, strict=True):
        scores = np.array([(q @ d.T).max(axis=1).sum() for d in d_emb])
        ranked = [documents[i]["id"] for i in np.argsort(-scores, kind="stable")]
        assert [h["id"] for h in result.run[query["id"]]] == ranked
        first = min(ranked.index(doc) for doc, grade in qrels[query["id"]].items() if grade > 0)
        reciprocal.append(1 / (first + 1))
        relevant = [doc for doc, grade in qrels[query["id"]].items() if grade > 0]
        hit_at_1.append(float(ranked[0] in relevant) / len(relevant))
    assert result.metrics["mrr@10"] == pytest.approx(np.mean(reciprocal))
    assert result.metrics["recall@1"] == pytest.approx(np.mean(hit_at_1))
