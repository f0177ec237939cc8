"""One code path that indexes a collection with any retriever, runs the queries and scores the run.

BM25, the bi-encoder baseline and plait's ColBERT retriever all go through
:func:`evaluate_retriever`, so their numbers are comparable: same documents, same query texts, same
cutoff, same metrics, same timers. A retriever is anything with the seed's text API::

    retriever.index(collection=[...], document_ids=[...], batch_size=32)
    retriever.retrieve(queries=[...], top_k=100)  # -> [[{"id", "score"}, ...], ...]
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from plait.evaluation.beir import load_beir
from plait.evaluation.metrics import DEFAULT_METRICS, evaluate, max_cutoff

__all__ = ["EvaluationResult", "TextRetriever", "evaluate_beir", "evaluate_retriever"]


@runtime_checkable
class TextRetriever(Protocol):
    """The seed's retriever API, honoured by plait.retrieve.ColBERT and plait.baselines."""

    def index(
        self, collection: Sequence[str], document_ids: Sequence[str], batch_size: int = 32
    ) -> Any:
        """Add texts under the given ids."""

    def retrieve(self, queries: Sequence[str], top_k: int = 10) -> list[list[dict[str, Any]]]:
        """Ranked ``{"id", "score"}`` lists, one per query."""


@dataclass
class EvaluationResult:
    """Metric means plus what it cost: wall-clock seconds per stage and collection sizes."""

    metrics: dict[str, float]
    timings: dict[str, float]
    n_documents: int
    n_queries: int
    top_k: int
    run: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the run)."""
        return {
            "metrics": dict(self.metrics),
            "timings": dict(self.timings),
            "n_documents": self.n_documents,
            "n_queries": self.n_queries,
            "top_k": self.top_k,
        }


def _accepts_progress(retriever: Any) -> bool:
    """Whether ``retriever.index`` takes ``show_progress_bar`` (plait's retrievers do)."""
    try:
        return "show_progress_bar" in inspect.signature(retriever.index).parameters
    except (TypeError, ValueError):
        return False


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _search(
    retriever: Any, texts: Sequence[str], top_k: int, batch_size: int, progress: bool
) -> list[list[dict[str, Any]]]:
    from tqdm.auto import tqdm

    results: list[list[dict[str, Any]]] = []
    chunks = _batches(texts, max(batch_size, 1) * 4)
    for chunk in tqdm(chunks, desc="search", unit="batch", disable=not progress or len(chunks) < 2):
        hits = retriever.retrieve(list(chunk), top_k=top_k)
        if len(hits) != len(chunk):
            raise RuntimeError(
                f"retriever returned {len(hits)} result lists for {len(chunk)} queries"
            )
        results.extend(hits)
    return results


def evaluate_retriever(
    retriever: Any,
    documents: Sequence[Mapping[str, str]],
    queries: Sequence[Mapping[str, str]],
    qrels: Mapping[str, Mapping[str, int]],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    top_k: int | None = None,
    batch_size: int = 32,
    build_index: bool = True,
    show_progress_bar: bool = False,
) -> EvaluationResult:
    """Index ``documents`` with ``retriever``, retrieve ``queries`` and score the run.

    ``top_k`` defaults to the largest metric cutoff (100 for ``recall@100``). With
    ``build_index=False`` the retriever is assumed to hold the documents already. Timings:
    ``index_s`` (encoding + indexing), ``search_s`` (encoding queries + search) and
    ``ms_per_query``.
    """
    if not queries:
        raise ValueError("no queries to evaluate")
    k = top_k if top_k is not None else max_cutoff(metrics)
    if k < 1:
        raise ValueError(f"top_k must be at least 1, got {k}")
    timings: dict[str, float] = {}
    if build_index:
        if not documents:
            raise ValueError("no documents to index")
        start = time.perf_counter()
        extra = {"show_progress_bar": show_progress_bar} if _accepts_progress(retriever) else {}
        retriever.index(
            collection=[d["text"] for d in documents],
            document_ids=[d["id"] for d in documents],
            batch_size=batch_size,
            **extra,
        )
        timings["index_s"] = time.perf_counter() - start
    start = time.perf_counter()
    hits = _search(retriever, [q["text"] for q in queries], k, batch_size, show_progress_bar)
    timings["search_s"] = time.perf_counter() - start
    timings["ms_per_query"] = 1000.0 * timings["search_s"] / len(queries)
    run = {q["id"]: ranked for q, ranked in zip(queries, hits, strict=True)}
    scores = evaluate(run, qrels, metrics=metrics)
    return EvaluationResult(scores, timings, len(documents), len(queries), k, run)


def evaluate_beir(
    retriever: Any,
    path: str | os.PathLike[str],
    split: str = "test",
    **kwargs: Any,
) -> EvaluationResult:
    """:func:`load_beir` then :func:`evaluate_retriever`; adds ``load_s`` to the timings."""
    start = time.perf_counter()
    documents, queries, qrels = load_beir(path, split=split)
    load_s = time.perf_counter() - start
    result = evaluate_retriever(retriever, documents, queries, qrels, **kwargs)
    result.timings = {"load_s": load_s, **result.timings}
    return result
