"""In-batch contrastive loss for ColBERT (PyLate's ``losses.Contrastive``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from plait.losses.common import (
    check_temperature,
    documents_mask,
    embed,
    gather,
    gather_with_grad,
    queries_mask,
    split_features,
    world_size,
)
from plait.scores import colbert_scores


def contrastive_scores(
    score_metric: Callable[..., Tensor],
    queries: Tensor,
    queries_mask: Tensor | None,
    documents: Sequence[Tensor],
    documents_masks: Sequence[Tensor],
) -> Tensor:
    """Score every query against every document of every column: ``(B, sum of column sizes)``.

    Column ``c`` occupies the score columns ``[offset_c, offset_c + n_c)``; the positive of query
    ``i`` (first document column) is score column ``i``.
    """
    return torch.cat(
        [
            score_metric(queries, column, queries_mask, mask)
            for column, mask in zip(documents, documents_masks, strict=True)
        ],
        dim=1,
    )


def check_columns(queries: Tensor, documents: Sequence[Tensor]) -> None:
    """Every document column must have one row per query (its positive, its i-th negative)."""
    for position, column in enumerate(documents, start=1):
        if column.size(0) != queries.size(0):
            raise ValueError(
                f"column {position} has {column.size(0)} rows but there are {queries.size(0)} "
                "queries; contrastive losses need one document per query in every column"
            )


def contrastive_loss(
    scores: Tensor, labels: Tensor, temperature: float, size_average: bool
) -> Tensor:
    """Cross-entropy of ``scores / temperature`` with ``labels`` as the target column."""
    return F.cross_entropy(
        scores / temperature, labels, reduction="mean" if size_average else "sum"
    )


def contrastive_objective(
    score_metric: Callable[..., Tensor],
    queries: Tensor,
    q_mask: Tensor | None,
    documents: list[Tensor],
    masks: list[Tensor],
    *,
    temperature: float,
    size_average: bool,
    gather_across_devices: bool,
) -> Tensor:
    """Return the contrastive loss from embeddings (shared by Contrastive and CachedContrastive).

    The negatives are in-batch plus hard negatives, with other processes' documents when
    ``gather_across_devices``.
    """
    check_columns(queries, documents)
    target = torch.arange(queries.size(0), device=queries.device)
    scale = 1.0
    if gather_across_devices:
        gathered = [gather_with_grad(column) for column in documents]
        documents = [column for column, _ in gathered]
        masks = [gather(mask) for mask in masks]
        target = target + gathered[0][1] * queries.size(0)
        scale = float(world_size())
    scores = contrastive_scores(score_metric, queries, q_mask, documents, masks)
    return contrastive_loss(scores, target, temperature, size_average) * scale


class Contrastive(nn.Module):
    """Contrastive loss with in-batch negatives and any number of hard negatives per query.

    The dataset has a query column, a positive column and zero or more negative columns
    (``query, positive, negative`` or ``anchor, positive, negative_1, ..., negative_n``). Every
    query is scored (MaxSim) against every document in the batch (its positive, the other queries'
    positives, and all negatives), and the loss is the cross-entropy with the query's own positive
    as the target.

    Parameters
    ----------
    model
        A :class:`plait.models.ColBERT`.
    score_metric
        ``(Q[B,Lq,d], D[n,Ld,d], queries_mask, documents_mask) -> [B, n]``; defaults to
        :func:`plait.scores.colbert_scores`.
    size_average
        Mean over the queries (``True``) or sum.
    gather_across_devices
        With ``torch.distributed``, also use the other processes' documents as negatives (document
        columns must then have the same padded length everywhere).
    temperature
        Scores are divided by it before the softmax.

    Examples
    --------
    >>> loss = Contrastive(model=model)  # doctest: +SKIP
    >>> features = [model.tokenize(["q"], is_query=True),
    ...             model.tokenize(["pos"], is_query=False),
    ...             model.tokenize(["neg"], is_query=False)]  # doctest: +SKIP
    >>> loss(features).shape  # doctest: +SKIP
    torch.Size([])
    """

    def __init__(
        self,
        model: nn.Module,
        score_metric: Callable[..., Tensor] = colbert_scores,
        size_average: bool = True,
        gather_across_devices: bool = False,
        temperature: float = 1.0,
    ) -> None:
        super().__init__()
        self.model = model
        self.score_metric = score_metric
        self.size_average = size_average
        self.gather_across_devices = gather_across_devices
        self.temperature = check_temperature(temperature)

    def forward(
        self, sentence_features: Sequence[dict[str, Any]], labels: Tensor | None = None
    ) -> Tensor:
        """Loss for one batch; ``labels`` is ignored (the positive is the target)."""
        query_features, document_features = split_features(sentence_features)
        queries = embed(self.model, query_features)
        documents = [embed(self.model, feature) for feature in document_features]
        masks = [documents_mask(self.model, feature) for feature in document_features]
        return contrastive_objective(
            self.score_metric,
            queries,
            queries_mask(self.model, query_features),
            documents,
            masks,
            temperature=self.temperature,
            size_average=self.size_average,
            gather_across_devices=self.gather_across_devices,
        )

    def get_config_dict(self) -> dict[str, Any]:
        """Return the settings shown in the model card."""
        return {
            "score_metric": getattr(self.score_metric, "__name__", repr(self.score_metric)),
            "size_average": self.size_average,
            "gather_across_devices": self.gather_across_devices,
            "temperature": self.temperature,
        }
