"""Ranking metrics through trec_eval (``pytrec_eval``): nDCG with linear gain as BEIR, MRR, recall, ...

:func:`evaluate` accepts a run in any of the shapes plait produces:

* PyLate's: one ranked list of ``{"id", "score"}`` per query plus the aligned query ids
  (``queries`` as ids or as ``{"id", ...}`` dicts, e.g. from :func:`plait.evaluation.load_beir`);
* a mapping ``{query_id: [{"id", "score"}, ...]}``;
* a TREC-style mapping ``{query_id: {document_id: score}}``.

Judged queries missing from the run count as zero (as in trec_eval); run queries without judgements
are ignored. Metric names (those ranx uses): ``ndcg@10``, ``mrr@10``, ``recall@100``, ``map@100``,
``precision@5``, ``hits@1``, ``hit_rate@10``, ``f1@10``, ``r-precision``; without ``@k`` the whole
ranked list counts. The ranking is the run's own order: results sorted by descending score, ties
kept in the order given (trec_eval alone would break them by document id). ``mrr@k`` is trec_eval's
reciprocal rank on the run cut at ``k``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_METRICS", "evaluate", "max_cutoff", "to_run"]

DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "mrr@10", "recall@100")
_SUPPORTED = {"hits", "hit_rate", "precision", "recall", "f1", "r-precision", "mrr", "map", "ndcg"}
_METRIC = re.compile(r"^([a-z][a-z0-9_-]*?)(?:@(\d+))?$")

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]


def _check_metrics(metrics: Sequence[str]) -> list[str]:
    if isinstance(metrics, str):
        metrics = [metrics]
    if not metrics:
        raise ValueError("metrics is empty: name at least one, e.g. 'ndcg@10'")
    checked = []
    for metric in metrics:
        match = _METRIC.match(str(metric).strip().lower())
        if not match or match.group(1) not in _SUPPORTED:
            supported = ", ".join(sorted(_SUPPORTED))
            raise ValueError(
                f"unknown metric {metric!r}; use one of {supported} (with @k, e.g. ndcg@10)"
            )
        if match.group(2) is not None and int(match.group(2)) < 1:
            raise ValueError(f"metric {metric!r}: the cutoff must be at least 1")
        checked.append(match.group(0))
    return checked


def max_cutoff(metrics: Sequence[str], default: int = 100) -> int:
    """Return the largest ``@k`` among ``metrics`` (``default`` when none has a cutoff).

    >>> max_cutoff(["ndcg@10", "recall@100"])
    100
    """
    cutoffs = [int(m.split("@")[1]) for m in _check_metrics(metrics) if "@" in m]
    return max(cutoffs) if cutoffs else default


def _hits_to_dict(hits: Any, query_id: str) -> dict[str, float]:
    if isinstance(hits, Mapping):
        return {str(doc): float(score) for doc, score in hits.items()}
    ranked: dict[str, float] = {}
    for position, hit in enumerate(hits):
        if not isinstance(hit, Mapping) or "id" not in hit or "score" not in hit:
            raise ValueError(
                f"query {query_id!r}: result {position} must be a dict with 'id' and 'score', got {hit!r}"
            )
        document_id = str(hit["id"])
        ranked.setdefault(document_id, float(hit["score"]))  # keep the best-ranked duplicate
    return ranked


def to_run(scores: Any, queries: Sequence[Any] | None = None) -> Run:
    """Normalise any accepted result shape to ``{query_id: {document_id: score}}``."""
    if isinstance(scores, Mapping):
        return {str(qid): _hits_to_dict(hits, str(qid)) for qid, hits in scores.items()}
    if queries is None:
        raise ValueError("scores is a list of result lists: pass the aligned query ids as queries=")
    query_ids = [str(q["id"]) if isinstance(q, Mapping) else str(q) for q in queries]
    if len(query_ids) != len(scores):
        raise ValueError(
            f"{len(scores)} result lists but {len(query_ids)} queries: they must align"
        )
    if len(set(query_ids)) != len(query_ids):
        raise ValueError("queries holds duplicate ids: each query must appear once")
    return {qid: _hits_to_dict(hits, qid) for qid, hits in zip(query_ids, scores, strict=True)}


def evaluate(
    scores: Any,
    qrels: Mapping[str, Mapping[str, int]],
    queries: Sequence[Any] | None = None,
    metrics: Sequence[str] = DEFAULT_METRICS,
    *,
    per_query: bool = False,
) -> dict[str, Any]:
    """Score a run against judgements; returns ``{metric: mean}`` (or per-query arrays).

    Parameters
    ----------
    scores
        The run (see the module docstring for the accepted shapes).
    qrels
        ``{query_id: {document_id: grade}}``; grade 0 means judged non-relevant.
    queries
        Query ids (or ``{"id", ...}`` dicts) aligned with ``scores`` when it is a list.
    metrics
        Metric names (see the module docstring).
    per_query
        Return ``{metric: {query_id: value}}`` for every judged query instead of the means.

    Examples
    --------
    >>> scores = [[{"id": "d2", "score": 0.9}, {"id": "d1", "score": 0.5}]]
    >>> evaluate(scores, {"q1": {"d1": 1}}, queries=["q1"], metrics=["mrr@10", "recall@1"])
    {'mrr@10': 0.5, 'recall@1': 0.0}
    """
    names = _check_metrics(metrics)
    run = to_run(scores, queries)
    judged = {str(qid): {str(d): int(g) for d, g in docs.items()} for qid, docs in qrels.items()}
    judged = {qid: docs for qid, docs in judged.items() if docs}
    if not judged:
        raise ValueError("qrels holds no judgements")
    if run and not set(run) & set(judged):
        example = next(iter(run))
        raise ValueError(
            f"none of the run's {len(run)} query ids appear in qrels (e.g. {example!r}): "
            "are the ids aligned?"
        )
    values = _trec_eval(judged, run, names)
    if per_query:
        return {name: {qid: values[qid][name] for qid in judged} for name in names}
    return {name: sum(values[qid][name] for qid in judged) / len(judged) for name in names}


def _ranked(hits: Mapping[str, float]) -> list[str]:
    """Document ids by descending score; ties keep the order given (a stable sort)."""
    return sorted(hits, key=lambda doc: -hits[doc])


def _trec_eval(judged: Qrels, run: Run, names: list[str]) -> dict[str, dict[str, float]]:
    """``{query_id: {metric: value}}`` for every judged query, computed by trec_eval.

    The run is handed over with rank-derived scores (``n - position``) so that trec_eval ranks it
    in plait's order; its own tie-break (document id) would otherwise reorder equal scores.
    """
    import pytrec_eval

    ranked = {qid: _ranked(run[qid]) for qid in judged if run.get(qid)}
    measures: set[str] = set()
    for name in names:
        measures.update(_measures(name))
    evaluator = pytrec_eval.RelevanceEvaluator(judged, measures)
    full = evaluator.evaluate(_scored(ranked))
    mrr_cutoffs = {int(n.split("@")[1]) for n in names if n.startswith("mrr@")}
    reciprocal = {k: evaluator.evaluate(_scored(ranked, k)) for k in mrr_cutoffs}
    values: dict[str, dict[str, float]] = {}
    for qid in judged:
        row = full.get(qid)  # a query with an empty run scores 0 everywhere (as in trec_eval -c)
        values[qid] = {
            name: 0.0 if row is None else _value(name, row, reciprocal, qid) for name in names
        }
    return values


def _scored(ranked: Mapping[str, list[str]], k: int | None = None) -> Run:
    """Return a run trec_eval ranks in the given order: scores ``n - position`` (top ``k`` kept)."""
    return {
        qid: {doc: float(len(docs) - i) for i, doc in enumerate(docs[:k])}
        for qid, docs in ranked.items()
    }


def _measures(name: str) -> list[str]:
    """trec_eval measures (``pytrec_eval`` names) behind one plait metric."""
    metric, _, k = name.partition("@")
    if metric == "mrr":
        return ["recip_rank"]  # on the run cut at k (see _trec_eval)
    if metric == "r-precision":
        return ["Rprec"]  # R-precision has its own cutoff: the number of relevant documents
    if not k:
        return [
            {
                "ndcg": "ndcg",
                "map": "map",
                "precision": "set_P",
                "recall": "set_recall",
                "f1": "set_F",
                "hits": "num_rel_ret",
                "hit_rate": "num_rel_ret",
            }[metric]
        ]
    return {
        "ndcg": [f"ndcg_cut.{k}"],
        "map": [f"map_cut.{k}"],
        "precision": [f"P.{k}"],
        "recall": [f"recall.{k}"],
        "f1": [f"P.{k}", f"recall.{k}"],
        "hits": [f"P.{k}"],
        "hit_rate": [f"success.{k}"],
    }[metric]


def _value(
    name: str, row: Mapping[str, float], reciprocal: Mapping[int, Mapping[str, Any]], qid: str
) -> float:
    """One plait metric from trec_eval's values for one query."""
    metric, _, cutoff = name.partition("@")
    k = int(cutoff) if cutoff else None
    if metric == "mrr":
        return float(reciprocal[k][qid]["recip_rank"]) if k else float(row["recip_rank"])
    if metric == "r-precision":
        return float(row["Rprec"])
    if k is None:
        if metric == "hit_rate":
            return float(row["num_rel_ret"] > 0)
        key = _measures(name)[0]
        return float(row[key])
    if metric == "hits":
        return float(round(row[f"P_{k}"] * k))  # trec_eval's P@k divides by k
    if metric == "f1":
        precision, recall = row[f"P_{k}"], row[f"recall_{k}"]
        return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return float(row[_measures(name)[0].replace(".", "_")])
