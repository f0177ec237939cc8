"""Knowledge distillation from teacher scores (PyLate's ``losses.Distillation``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from plait.losses.common import documents_mask, embed, queries_mask, split_features
from plait.scores import colbert_kd_scores


def min_max_normalize(scores: Tensor, epsilon: float = 1e-8) -> Tensor:
    """Rescale each row of ``scores`` to ``[0, 1]`` (PyLate's ``normalize_scores``)."""
    low = scores.min(dim=1, keepdim=True).values
    high = scores.max(dim=1, keepdim=True).values
    return (scores - low) / (high - low + epsilon)


def distillation_loss(scores: Tensor, teacher: Tensor, size_average: bool = True) -> Tensor:
    """``KL(softmax(teacher) || softmax(scores))``, averaged over queries or summed."""
    return F.kl_div(
        F.log_softmax(scores, dim=-1),
        F.log_softmax(teacher, dim=-1),
        reduction="batchmean" if size_average else "sum",
        log_target=True,
    )


class Distillation(nn.Module):
    """KL divergence between the model's MaxSim scores and a teacher's over each query's candidates.

    The data is PyLate's: rows ``{"query_id", "document_ids", "scores"}`` turned into
    ``{"query", "documents", "scores"}`` by :class:`plait.utils.KDProcessing`, then collated by
    :class:`plait.utils.ColBERTCollator`, which gives two feature dicts (the ``B`` queries and the
    ``B * n_ways`` documents, query-major) and ``labels`` = teacher scores ``(B, n_ways)``.

    Parameters
    ----------
    model
        A :class:`plait.models.ColBERT`.
    score_metric
        ``(Q[B,Lq,d], D[B,n,Ld,d], queries_mask, documents_mask) -> [B, n]``; defaults to
        :func:`plait.scores.colbert_kd_scores`.
    size_average
        Mean over queries (``batchmean``) or sum.
    normalize_scores
        Min-max normalise the student's scores per query before the softmax (PyLate's default;
        MaxSim sums are on a larger scale than teacher logits).
    """

    def __init__(
        self,
        model: nn.Module,
        score_metric: Callable[..., Tensor] = colbert_kd_scores,
        size_average: bool = True,
        normalize_scores: bool = True,
    ) -> None:
        super().__init__()
        self.model = model
        self.score_metric = score_metric
        self.size_average = size_average
        self.normalize_scores = normalize_scores

    def forward(self, sentence_features: Sequence[dict[str, Any]], labels: Tensor) -> Tensor:
        """Loss for one batch; ``labels`` are the teacher scores ``(B, n_ways)``."""
        query_features, document_features = split_features(sentence_features)
        if len(document_features) != 1:
            raise ValueError(
                "Distillation expects two columns (query, documents), got "
                f"{1 + len(document_features)}; put each query's candidates in one list column"
            )
        teacher = _check_labels(labels, query_features["input_ids"].size(0))
        queries = embed(self.model, query_features)
        documents = embed(self.model, document_features[0])
        mask = documents_mask(self.model, document_features[0])
        n_queries, n_ways = teacher.shape
        if documents.size(0) != n_queries * n_ways:
            raise ValueError(
                f"got {documents.size(0)} documents for {n_queries} queries with {n_ways} teacher "
                f"scores each; expected {n_queries * n_ways}"
            )
        documents = documents.view(n_queries, n_ways, *documents.shape[1:])
        mask = mask.view(n_queries, n_ways, -1)
        scores = self.score_metric(
            queries, documents, queries_mask(self.model, query_features), mask
        )
        if self.normalize_scores:
            scores = min_max_normalize(scores)
        return distillation_loss(scores, teacher.to(scores), self.size_average)

    def get_config_dict(self) -> dict[str, Any]:
        """Return the settings shown in the model card."""
        return {"size_average": self.size_average, "normalize_scores": self.normalize_scores}


def _check_labels(labels: Tensor | None, n_queries: int) -> Tensor:
    if labels is None:
        raise ValueError("Distillation needs teacher scores: a 'scores' (or 'label') column")
    teacher = torch.as_tensor(labels, dtype=torch.float32)
    if teacher.ndim != 2 or teacher.size(0) != n_queries:
        raise ValueError(
            f"teacher scores must have shape (n_queries={n_queries}, n_ways), "
            f"got {tuple(teacher.shape)}"
        )
    return teacher
