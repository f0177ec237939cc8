"""evaluate(): hand-computed values, a slow reference on random runs, every accepted run shape."""

from __future__ import annotations

import math
import random

import pytest

from plait.evaluation import evaluate
from plait.evaluation.metrics import max_cutoff, to_run

LOG3 = math.log2(3)


def reference(run: dict, qrels: dict, metric: str) -> float:
    """trec_eval definitions, written out (linear-gain nDCG, reciprocal rank, AP, ...); tied
    scores keep the run's order."""
    name, _, cutoff = metric.partition("@")
    values = []
    for qid, judged in qrels.items():
        full = sorted(run.get(qid, {}).items(), key=lambda item: -item[1])  # stable: ties in order
        k = int(cutoff) if cutoff else len(full)
        ranked = full[:k]
        gains = [judged.get(doc, 0) for doc, _ in ranked]
        n_relevant = sum(1 for grade in judged.values() if grade > 0)
        found = sum(1 for g in gains if g > 0)
        if name == "ndcg":
            dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains))
            ideal = sorted((g for g in judged.values() if g > 0), reverse=True)
            ideal = ideal[: int(cutoff)] if cutoff else ideal  # no cutoff: every relevant document
            idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
            values.append(dcg / idcg if idcg else 0.0)
        elif name == "mrr":
            values.append(next((1.0 / (i + 1) for i, g in enumerate(gains) if g > 0), 0.0))
        elif name == "recall":
            values.append(found / n_relevant if n_relevant else 0.0)
        elif name == "precision":
            values.append(found / (int(cutoff) if cutoff else max(len(full), 1)) if full else 0.0)
        elif name == "hits":
            values.append(float(found))
        elif name == "hit_rate":
            values.append(float(found > 0))
        elif name == "f1":
            p = found / (int(cutoff) if cutoff else max(len(full), 1)) if full else 0.0
            r = found / n_relevant if n_relevant else 0.0
            values.append(2 * p * r / (p + r) if p + r else 0.0)
        elif name == "map":
            precisions = [
                sum(1 for g in gains[: i + 1] if g > 0) / (i + 1)
                for i, g in enumerate(gains)
                if g > 0
            ]
            values.append(sum(precisions) / n_relevant if n_relevant else 0.0)
        elif name == "r-precision":
            top = [judged.get(doc, 0) for doc, _ in full[:n_relevant]]
            values.append(sum(1 for g in top if g > 0) / n_relevant if n_relevant else 0.0)
        else:
            raise AssertionError(metric)
    return sum(values) / len(values)


def test_hand_computed_values() -> None:
    qrels = {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}}
    scores = [
        [{"id": "d2", "score": 0.9}, {"id": "d1", "score": 0.5}, {"id": "d9", "score": 0.1}],
        [{"id": "d8", "score": 3.0}, {"id": "d3", "score": 2.0}],
    ]
    got = evaluate(scores, qrels, queries=["q1", "q2"], metrics=["ndcg@10", "mrr@10", "recall@1"])
    ndcg_q1 = (1 + 2 / LOG3) / (2 + 1 / LOG3)  # linear gain: d2 (grade 1) then d1 (grade 2)
    ndcg_q2 = (1 / LOG3) / 1.0
    assert got["ndcg@10"] == pytest.approx((ndcg_q1 + ndcg_q2) / 2, abs=1e-9)
    assert got["mrr@10"] == pytest.approx((1.0 + 0.5) / 2)
    assert got["recall@1"] == pytest.approx((0.5 + 0.0) / 2)
    assert ndcg_q1 == pytest.approx(0.859719, abs=1e-6)


def test_cutoff_and_missing_query_count_as_zero() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    run = {"q1": {f"x{i}": 10.0 - i for i in range(10)} | {"d1": 0.5}}  # d1 at rank 11
    got = evaluate(run, qrels, metrics=["mrr@10", "recall@10", "recall@11"])
    assert got == {"mrr@10": 0.0, "recall@10": 0.0, "recall@11": 0.5}


def test_grade_zero_is_not_relevant() -> None:
    qrels = {"q1": {"d1": 0, "d2": 1}}
    got = evaluate({"q1": {"d1": 2.0, "d2": 1.0}}, qrels, metrics=["mrr@10", "recall@10"])
    assert got == {"mrr@10": 0.5, "recall@10": 1.0}


@pytest.mark.parametrize("seed", range(8))
def test_matches_reference_on_random_runs(seed: int) -> None:
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(40)]
    qrels = {
        f"q{q}": {d: rng.randint(1, 3) for d in rng.sample(docs, rng.randint(1, 6))}
        for q in range(12)
    }
    run = {qid: {d: rng.random() for d in rng.sample(docs, rng.randint(0, 30))} for qid in qrels}
    del run["q0"]  # a judged query without results
    run["unjudged"] = {"d1": 1.0}
    if seed % 2:  # ties: scores on a coarse grid; the run's order decides among equal scores
        run = {qid: {d: round(s, 1) for d, s in hits.items()} for qid, hits in run.items()}
    metrics = [
        "ndcg@10",
        "ndcg@3",
        "ndcg",
        "mrr@10",
        "mrr",
        "recall@5",
        "recall@100",
        "recall",
        "map@10",
        "map",
        "precision@5",
        "precision",
        "hits@5",
        "hits",
        "hit_rate@3",
        "hit_rate",
        "f1@5",
        "f1",
        "r-precision",
    ]
    got = evaluate(run, qrels, metrics=metrics)
    for metric in metrics:
        assert got[metric] == pytest.approx(reference(run, qrels, metric), abs=1e-9), metric
    per_query = evaluate(run, qrels, metrics=["mrr@10"], per_query=True)["mrr@10"]
    assert set(per_query) == set(qrels)
    for qid in qrels:
        assert per_query[qid] == pytest.approx(reference(run, {qid: qrels[qid]}, "mrr@10"))


def test_run_shapes_agree() -> None:
    qrels = {"a": {"1": 1}, "b": {"2": 1, "3": 1}}
    lists = [[{"id": "1", "score": 2.0}, {"id": "2", "score": 1.0}], [{"id": "3", "score": 5.0}]]
    as_ids = evaluate(lists, qrels, queries=["a", "b"])
    as_dicts = evaluate(lists, qrels, queries=[{"id": "a", "text": "x"}, {"id": "b", "text": "y"}])
    as_mapping = evaluate({"a": lists[0], "b": lists[1]}, qrels)
    as_trec = evaluate({"a": {"1": 2.0, "2": 1.0}, "b": {"3": 5.0}}, qrels)
    assert as_ids == as_dicts == as_mapping == as_trec
    assert set(as_ids) == {"ndcg@10", "mrr@10", "recall@100"}
    assert all(isinstance(v, float) for v in as_ids.values())


def test_duplicate_hit_keeps_best_rank() -> None:
    run = to_run([[{"id": "d", "score": 3.0}, {"id": "d", "score": 1.0}]], ["q"])
    assert run == {"q": {"d": 3.0}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ["ndgc@10"]}, "unknown metric 'ndgc@10'"),
        ({"metrics": []}, "metrics is empty"),
        ({"metrics": ["ndcg@0"]}, "cutoff must be at least 1"),
        ({"queries": None}, "pass the aligned query ids"),
        ({"queries": ["q1", "q2"]}, "1 result lists but 2 queries"),
        ({"queries": ["zzz"]}, "none of the run's 1 query ids appear in qrels"),
    ],
)
def test_errors(kwargs: dict, message: str) -> None:
    arguments = {"queries": ["q1"], **kwargs}
    with pytest.raises(ValueError, match=message):
        evaluate([[{"id": "d1", "score": 1.0}]], {"q1": {"d1": 1}}, **arguments)


def test_malformed_hits_and_empty_qrels() -> None:
    with pytest.raises(ValueError, match="result 0 must be a dict with 'id' and 'score'"):
        evaluate([["d1"]], {"q1": {"d1": 1}}, queries=["q1"])
    with pytest.raises(ValueError, match="qrels holds no judgements"):
        evaluate({"q1": {}}, {})


def test_max_cutoff() -> None:
    assert max_cutoff(["ndcg@10", "recall@100", "mrr@5"]) == 100
    assert max_cutoff(["ndcg"]) == 100
    assert max_cutoff(["ndcg@3"]) == 3
