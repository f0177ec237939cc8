"""Evaluators for use inside training (sentence-transformers' ``evaluator=``) or on their own.

* :class:`ColBERTTripletEvaluator`: the share of triplets where MaxSim(query, positive) beats
  MaxSim(query, negative).
* :class:`ColBERTInformationRetrievalEvaluator`: exact MaxSim search of every query over the whole
  corpus, scored with nDCG@10, MRR@10 and Recall@100 (trec_eval, through :func:`plait.evaluation.evaluate`);
  built from ``(queries, corpus, qrels)`` or a BEIR folder (:meth:`~ColBERTInformationRetrievalEvaluator.from_beir`).

Both return a ``dict`` of metrics and name their ``primary_metric``, so the trainer logs them and can
keep the best checkpoint.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

try:  # sentence-transformers >= 6
    from sentence_transformers.base.evaluation.evaluator import BaseEvaluator as SentenceEvaluator
except ImportError:  # pragma: no cover - sentence-transformers 5
    from sentence_transformers.evaluation import SentenceEvaluator  # type: ignore[no-redef]

from plait.evaluation.metrics import DEFAULT_METRICS, evaluate, max_cutoff
from plait.scores import colbert_scores, colbert_scores_pairwise

__all__ = [
    "ColBERTInformationRetrievalEvaluator",
    "ColBERTTripletEvaluator",
    "exact_search",
    "maxsim_matrix",
]


def _padded(embeddings: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad ragged ``(n_i, dim)`` matrices into ``(n, max n_i, dim)`` plus a boolean mask."""
    tensors = [torch.as_tensor(np.asarray(e, dtype=np.float32)) for e in embeddings]
    width = max((t.shape[0] for t in tensors), default=0)
    dim = tensors[0].shape[1] if tensors else 0
    padded = torch.zeros(len(tensors), max(width, 1), dim)
    mask = torch.zeros(len(tensors), max(width, 1), dtype=torch.bool)
    for i, tensor in enumerate(tensors):
        padded[i, : tensor.shape[0]] = tensor
        mask[i, : tensor.shape[0]] = True
    return padded, mask


def _check_texts(name: str, texts: Sequence[Any]) -> list[str]:
    texts = list(texts)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{position}] is {type(text).__name__}, expected str")
    return texts


class ColBERTTripletEvaluator(SentenceEvaluator):
    """Accuracy of MaxSim(anchor, positive) > MaxSim(anchor, negative) over triplets.

    Ties (equal scores) count as failures.

    Parameters
    ----------
    anchors
        Query texts.
    positives
        One relevant document per query.
    negatives
        One non-relevant document per query.
    name
        Prefix of the metric names (``{name}_accuracy``).
    batch_size
        Encoding batch size.
    show_progress_bar
        Show encoding progress.
    write_csv
        Append results to ``triplet_evaluation_{name}_results.csv`` under ``output_path``.
    """

    def __init__(
        self,
        anchors: Sequence[str],
        positives: Sequence[str],
        negatives: Sequence[str],
        name: str = "",
        batch_size: int = 32,
        show_progress_bar: bool = False,
        write_csv: bool = True,
    ) -> None:
        super().__init__()
        self.anchors = _check_texts("anchors", anchors)
        self.positives = _check_texts("positives", positives)
        self.negatives = _check_texts("negatives", negatives)
        if not (len(self.anchors) == len(self.positives) == len(self.negatives)) or not anchors:
            raise ValueError(
                "anchors, positives and negatives must be non-empty and of equal length, got "
                f"{len(self.anchors)}, {len(self.positives)}, {len(self.negatives)}"
            )
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.primary_metric = "accuracy"
        self.csv_file = f"triplet_evaluation{'_' + name if name else ''}_results.csv"

    def __call__(
        self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        """Encode, score and return ``{"{name}_accuracy": ...}`` (plus mean score margins)."""
        kwargs = {"batch_size": self.batch_size, "show_progress_bar": self.show_progress_bar}
        queries, q_mask = _padded(model.encode(self.anchors, is_query=True, **kwargs))
        positives, p_mask = _padded(model.encode(self.positives, is_query=False, **kwargs))
        negatives, n_mask = _padded(model.encode(self.negatives, is_query=False, **kwargs))
        with torch.no_grad():
            pos = colbert_scores_pairwise(queries, positives, q_mask, p_mask)
            neg = colbert_scores_pairwise(queries, negatives, q_mask, n_mask)
        metrics = {
            "accuracy": float((pos > neg).float().mean()),
            "mean_margin": float((pos - neg).mean()),
        }
        _append_csv(self.write_csv, output_path, self.csv_file, epoch, steps, metrics)
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics


def maxsim_matrix(
    model: Any,
    queries: Sequence[str],
    documents_embeddings: Sequence[np.ndarray],
    batch_size: int = 32,
    show_progress_bar: bool = False,
) -> torch.Tensor:
    """MaxSim of every query against every (already encoded) document: ``(n_queries, n_documents)``.

    Documents are scored in blocks of similar length, so padding and memory stay bounded.
    """
    query_embeddings = model.encode(
        list(queries), is_query=True, batch_size=batch_size, show_progress_bar=show_progress_bar
    )
    q, q_mask = _padded(query_embeddings)
    order = np.argsort([len(e) for e in documents_embeddings], kind="stable")
    scores = torch.zeros(len(query_embeddings), len(documents_embeddings))
    block = 256
    with torch.no_grad():
        for start in range(0, len(order), block):
            ids = order[start : start + block]
            d, d_mask = _padded([documents_embeddings[i] for i in ids])
            scores[:, torch.as_tensor(ids)] = colbert_scores(q, d, q_mask, d_mask)
    return scores


def exact_search(
    model: Any,
    queries: Sequence[str],
    documents: Sequence[str],
    document_ids: Sequence[str],
    k: int = 100,
    batch_size: int = 32,
    show_progress_bar: bool = False,
    documents_embeddings: Sequence[np.ndarray] | None = None,
) -> list[list[dict[str, Any]]]:
    """Exhaustive MaxSim top-``k`` for every query: ``[[{"id", "score"}, ...], ...]``, best first.

    Documents are encoded once (or given as ``documents_embeddings``). With fewer than ``k``
    documents every document is returned.
    """
    if documents_embeddings is None:
        documents_embeddings = model.encode(
            list(documents),
            is_query=False,
            batch_size=batch_size,
            show_progress_bar=show_progress_bar,
        )
    scores = maxsim_matrix(model, queries, documents_embeddings, batch_size, show_progress_bar)
    k = min(k, len(document_ids))
    if k == 0:
        return [[] for _ in queries]
    top = torch.topk(scores, k, dim=1)
    return [
        [
            {"id": document_ids[int(i)], "score": float(s)}
            for s, i in zip(top.values[row], top.indices[row], strict=True)
        ]
        for row in range(len(queries))
    ]


class ColBERTInformationRetrievalEvaluator(SentenceEvaluator):
    """Exact MaxSim retrieval over a corpus, scored by :func:`plait.evaluation.evaluate`.

    The default metrics are nDCG@10, MRR@10 and Recall@100. Only queries with at least one
    judgement are run.

    Parameters
    ----------
    queries
        ``{query_id: text}``.
    corpus
        ``{document_id: text}``.
    relevant_docs
        ``{query_id: {document_id: grade}}`` (a set of ids means grade 1).
    name
        Prefix of the metric names (``{name}_ndcg@10``...).
    metrics
        Metric names (see :mod:`plait.evaluation.metrics`); the first is the ``primary_metric``.
    batch_size
        Encoding batch size.
    show_progress_bar
        Show encoding progress.
    write_csv
        Append results to ``ir_evaluation_{name}_results.csv`` under ``output_path``.
    """

    def __init__(
        self,
        queries: Mapping[str, str],
        corpus: Mapping[str, str],
        relevant_docs: Mapping[str, Any],
        name: str = "",
        metrics: Sequence[str] = DEFAULT_METRICS,
        batch_size: int = 32,
        show_progress_bar: bool = False,
        write_csv: bool = True,
    ) -> None:
        super().__init__()
        self.qrels = _normalise_qrels(relevant_docs)
        self.query_ids = [str(qid) for qid in queries if str(qid) in self.qrels]
        if not self.query_ids:
            raise ValueError("no query has a judgement in relevant_docs: nothing to evaluate")
        self.queries = _check_texts(
            "queries", [queries[qid] for qid in queries if str(qid) in self.qrels]
        )
        if not corpus:
            raise ValueError("corpus is empty")
        self.document_ids = [str(did) for did in corpus]
        self.documents = _check_texts("corpus", list(corpus.values()))
        self.metrics = list(metrics)
        self.k = max_cutoff(self.metrics)
        self.name = name
        self.batch_size = batch_size
        self.show_progress_bar = show_progress_bar
        self.write_csv = write_csv
        self.primary_metric = self.metrics[0]
        self.csv_file = f"ir_evaluation{'_' + name if name else ''}_results.csv"

    @classmethod
    def from_beir(
        cls,
        path: str | os.PathLike[str],
        split: str = "test",
        max_queries: int | None = None,
        **kwargs: Any,
    ) -> ColBERTInformationRetrievalEvaluator:
        """Build from a BEIR folder (see :func:`plait.evaluation.load_beir`).

        ``max_queries`` keeps the first judged queries only (faster periodic evaluation). ``name``
        defaults to the folder.
        """
        from plait.evaluation.beir import load_beir

        documents, queries, qrels = load_beir(path, split=split)
        if max_queries is not None:
            queries = queries[:max_queries]
        kwargs.setdefault("name", os.path.basename(os.path.normpath(str(path))))
        return cls(
            queries={q["id"]: q["text"] for q in queries},
            corpus={d["id"]: d["text"] for d in documents},
            relevant_docs={q["id"]: qrels[q["id"]] for q in queries},
            **kwargs,
        )

    def __call__(
        self, model: Any, output_path: str | None = None, epoch: int = -1, steps: int = -1
    ) -> dict[str, float]:
        """Search every query exhaustively and return the metrics, prefixed with ``name``."""
        results = exact_search(
            model,
            self.queries,
            self.documents,
            self.document_ids,
            k=self.k,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress_bar,
        )
        run = dict(zip(self.query_ids, results, strict=True))
        metrics = {m: float(v) for m, v in evaluate(run, self.qrels, metrics=self.metrics).items()}
        _append_csv(self.write_csv, output_path, self.csv_file, epoch, steps, metrics)
        metrics = self.prefix_name_to_metrics(metrics, self.name)
        self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
        return metrics


#: PyLate's name for an IR evaluator over ColBERT models.
PyLateInformationRetrievalEvaluator = ColBERTInformationRetrievalEvaluator


def _normalise_qrels(relevant_docs: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for qid, docs in relevant_docs.items():
        if isinstance(docs, Mapping):
            judged = {str(d): int(g) for d, g in docs.items()}
        else:
            judged = {str(d): 1 for d in docs}
        if judged:
            qrels[str(qid)] = judged
    return qrels


def _append_csv(
    enabled: bool,
    output_path: str | None,
    file_name: str,
    epoch: int,
    steps: int,
    metrics: Mapping[str, float],
) -> None:
    if not enabled or output_path is None:
        return
    os.makedirs(output_path, exist_ok=True)
    path = os.path.join(output_path, file_name)
    new = not os.path.isfile(path)
    with open(path, "a", newline="", encoding="utf8") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(["epoch", "steps", *metrics])
        writer.writerow([epoch, steps, *metrics.values()])
