"""Training evaluators against brute-force loops and hand-computed metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plait.evaluation.evaluators import (
    ColBERTInformationRetrievalEvaluator,
    ColBERTTripletEvaluator,
    exact_search,
)

CORPUS = {
    "d1": "Cats eat fish and meat.",
    "d2": "The sky is blue because of scattering.",
    "d3": "Cheetahs are the fastest land animals.",
    "d4": "Bread is made of flour, water and yeast.",
    "d5": "Paris is the capital of France.",
}
QUERIES = {"q1": "what do cats eat", "q2": "why is the sky blue", "q3": "fastest animal", "q4": "x"}
QRELS = {"q1": {"d1": 1}, "q2": {"d2": 1, "d5": 0}, "q3": {"d3": 2, "d1": 1}}


def brute_maxsim(q: np.ndarray, d: np.ndarray) -> float:
    return float(sum(max(float(row @ tok) for tok in d) if len(d) else 0.0 for row in q))


def test_triplet_accuracy_matches_loop(tiny_model, tmp_path):
    anchors = ["what do cats eat", "sky colour", "fast animals", "bread"]
    positives = ["Cats eat fish.", "The sky is blue.", "Cheetahs are fast.", "Flour and water."]
    negatives = ["Paris, France.", "Cats eat fish.", "Bread is baked.", "The sky is blue."]
    evaluator = ColBERTTripletEvaluator(anchors, positives, negatives, name="dev")
    metrics = evaluator(tiny_model, output_path=str(tmp_path))
    q = tiny_model.encode(anchors, is_query=True)
    p = tiny_model.encode(positives, is_query=False)
    n = tiny_model.encode(negatives, is_query=False)
    wins = [brute_maxsim(q[i], p[i]) > brute_maxsim(q[i], n[i]) for i in range(len(anchors))]
    assert metrics["dev_accuracy"] == pytest.approx(sum(wins) / len(wins))
    assert evaluator.primary_metric == "dev_accuracy"
    assert (tmp_path / "triplet_evaluation_dev_results.csv").is_file()


def test_triplet_evaluator_rejects_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        ColBERTTripletEvaluator(["a"], ["b", "c"], ["d"])
    with pytest.raises(TypeError, match="positives\\[0\\]"):
        ColBERTTripletEvaluator(["a"], [None], ["d"])


def test_exact_search_matches_brute_force(tiny_model):
    ids = list(CORPUS)
    results = exact_search(tiny_model, list(QUERIES.values()), list(CORPUS.values()), ids, k=3)
    q = tiny_model.encode(list(QUERIES.values()), is_query=True)
    d = tiny_model.encode(list(CORPUS.values()), is_query=False)
    for row, hits in enumerate(results):
        scores = np.array([brute_maxsim(q[row], doc) for doc in d])
        expected = [ids[i] for i in np.argsort(-scores, kind="stable")[:3]]
        assert [h["id"] for h in hits] == expected
        assert [h["score"] for h in hits] == pytest.approx(
            sorted(scores, reverse=True)[:3], rel=1e-5
        )


def ndcg_at_10(ranking: list[str], judged: dict[str, int]) -> float:
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:10]))
    ideal = sorted(judged.values(), reverse=True)
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal[:10]))
    return dcg / idcg


def test_ir_evaluator_metrics_match_hand_computed(tiny_model):
    evaluator = ColBERTInformationRetrievalEvaluator(QUERIES, CORPUS, QRELS, name="tiny")
    metrics = evaluator(tiny_model)
    assert evaluator.primary_metric == "tiny_ndcg@10"
    assert evaluator.query_ids == ["q1", "q2", "q3"]  # q4 has no judgement
    runs = exact_search(
        tiny_model,
        [QUERIES[q] for q in evaluator.query_ids],
        list(CORPUS.values()),
        list(CORPUS),
        k=10,
    )
    expected_ndcg, expected_mrr = [], []
    for qid, hits in zip(evaluator.query_ids, runs, strict=True):
        ranking = [h["id"] for h in hits]
        expected_ndcg.append(ndcg_at_10(ranking, QRELS[qid]))
        first = next(r for r, doc in enumerate(ranking) if QRELS[qid].get(doc, 0) > 0)
        expected_mrr.append(1 / (first + 1))
    assert metrics["tiny_ndcg@10"] == pytest.approx(np.mean(expected_ndcg), rel=1e-6)
    assert metrics["tiny_mrr@10"] == pytest.approx(np.mean(expected_mrr), rel=1e-6)
    assert metrics["tiny_recall@100"] == pytest.approx(1.0)


def test_ir_evaluator_from_beir_folder(tiny_model, tmp_path):
    import json

    (tmp_path / "qrels").mkdir()
    with open(tmp_path / "corpus.jsonl", "w") as f:
        for did, text in CORPUS.items():
            f.write(json.dumps({"_id": did, "title": "", "text": text}) + "\n")
    with open(tmp_path / "queries.jsonl", "w") as f:
        for qid, text in QUERIES.items():
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(tmp_path / "qrels" / "test.tsv", "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for qid, docs in QRELS.items():
            for did, grade in docs.items():
                f.write(f"{qid}\t{did}\t{grade}\n")
    from_folder = ColBERTInformationRetrievalEvaluator.from_beir(tmp_path, name="b")
    in_memory = ColBERTInformationRetrievalEvaluator(QUERIES, CORPUS, QRELS, name="b")
    assert from_folder(tiny_model) == pytest.approx(in_memory(tiny_model))


def test_ir_evaluator_rejects_unjudged_queries():
    with pytest.raises(ValueError, match="no query has a judgement"):
        ColBERTInformationRetrievalEvaluator({"q": "x"}, CORPUS, {"other": {"d1": 1}})
