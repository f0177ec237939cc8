"""Ranking metrics through ranx (nDCG with linear gain as trec_eval and BEIR, MRR, recall, ...).

:func:`evaluate` accepts a run in any of the shapes plait produces:

* PyLate's: one ranked list of ``{"id", "score"}`` per query plus the aligned query ids
  (``queries`` as ids or as ``{"id", ...}`` dicts, e.g. from :func:`plait.evaluation.load_beir`);
* a mapping ``{query_id: [{"id", "score"}, ...]}``;
* a TREC-style mapping ``{query_id: {document_id: score}}``.

Judged queries missing from the run count as zero (as in trec_eval); run queries without judgements
are ignored. Metric names are ranx's: ``ndcg@10``, ``mrr@10``, ``recall@100``, ``map@100``,
``precision@5``, ``hits@1``, ...
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["DEFAULT_METRICS", "evaluate", "max_cutoff", "to_run"]

DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "mrr@10", "recall@100")
_SUPPORTED = {"hits", "hit_rate", "precision", "recall", "f1", "r-precision", "mrr", "map", "ndcg"}
_METRIC = re.compile(r"^([a-z_-]+)(?:@(\d+))?$")

Run = dict[str, dict[str, float]]


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
    """The largest ``@k`` among ``metrics`` (``default`` when none has a cutoff).

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
        ranx metric names.
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
    full_run = {qid: run.get(qid, {}) for qid in judged}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba type-safety chatter from ranx
        from ranx import Qrels as RanxQrels
        from ranx import Run as RanxRun
        from ranx import evaluate as ranx_evaluate

        ranx_qrels = RanxQrels(judged)
        values = ranx_evaluate(
            ranx_qrels, RanxRun(full_run), names, return_mean=not per_query, make_comparable=True
        )
    if not isinstance(values, dict):  # ranx returns a bare value for a single metric
        values = {names[0]: values}
    if per_query:
        order = list(ranx_qrels.keys())  # ranx sorts query ids; its arrays follow that order
        return {name: dict(zip(order, map(float, values[name]), strict=True)) for name in names}
    return {name: float(values[name]) for name in names}
