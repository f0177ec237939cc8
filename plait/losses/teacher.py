"""Contrastive loss plus in-batch distillation from a single-vector teacher (e.g. a bi-encoder).

The plain contrastive recipe turns a general encoder into a specialist of its training domain.
Asking the student to also keep the teacher's view of the whole batch (every query against every
document in it) keeps more of what the teacher knows about text in general, at no extra encoding
cost: the teacher's vectors are computed once, before training, and looked up by row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from plait.losses.common import (
    check_temperature,
    documents_mask,
    embed,
    queries_mask,
    split_features,
)
from plait.losses.contrastive import check_columns, contrastive_loss, contrastive_scores
from plait.scores import colbert_scores

if TYPE_CHECKING:
    from plait.training.teacher import LexicalScores


def teacher_scores(
    query_vectors: Tensor, document_vectors: Sequence[Tensor], rows: Tensor, scale: float
) -> Tensor:
    """Return the teacher's ``(B, B * n_columns)`` logits for a batch of ``rows``.

    They are laid out like :func:`plait.losses.contrastive.contrastive_scores`:
    ``scale * cos(query_i, document_j)``.
    """
    documents = torch.cat([column[rows] for column in document_vectors])
    return scale * query_vectors[rows] @ documents.T


def mix_lexical(dense: Tensor, lexical: Tensor, weight: float) -> Tensor:
    """Teacher logits that mix a dense teacher's ``(B, M)`` logits with lexical scores (e.g. BM25).

    Per query row, the lexical scores are min-max scaled to the dense logits' own range, so both
    views spread over the same span, then mixed: ``(1 - weight) * dense + weight * lexical'``.
    A row whose lexical scores are all equal says nothing, so it keeps the dense logits as they are.
    """
    if not 0 <= weight <= 1:
        raise ValueError(f"lexical weight must be in [0, 1], got {weight}")
    if lexical.shape != dense.shape:
        raise ValueError(f"lexical scores {tuple(lexical.shape)} differ from {tuple(dense.shape)}")
    lexical = lexical.to(dense)
    low, high = lexical.min(dim=1, keepdim=True).values, lexical.max(dim=1, keepdim=True).values
    scaled = (lexical - low) / (high - low).clamp_min(1e-12)
    span = dense.max(dim=1, keepdim=True).values - dense.min(dim=1, keepdim=True).values
    mixed = (1 - weight) * dense + weight * scaled * span
    return torch.where(high > low, mixed, dense)


class TeacherContrastive(nn.Module):
    """``Contrastive`` + ``weight * KL(softmax(teacher) || softmax(student))`` over the batch.

    The student's logits are its MaxSim scores of every query against every document of the batch
    (divided by ``temperature``), exactly those of :class:`plait.losses.Contrastive`; the teacher's
    are ``scale`` times the cosine of its (normalised) vectors for the same texts.

    The dataset needs a ``label`` column holding each row's index into the vector tables
    (:func:`plait.training.teacher.attach_teacher` adds it).

    Parameters
    ----------
    model
        A :class:`plait.models.ColBERT`.
    query_vectors
        ``(n_rows, dim)`` teacher vectors of each training row's query.
    document_vectors
        One ``(n_rows, dim)`` tensor per document column (positive, then negatives), in the
        dataset's column order.
    weight
        Weight of the distillation term (0 = plain contrastive).
    scale
        Teacher cosine -> logit scale (20 is the scale bi-encoders are trained with).
    temperature
        Student scores are divided by it, as in ``Contrastive``.
    score_metric
        The student's MaxSim, as in ``Contrastive``.
    lexical
        Optional lexical teacher scores (:class:`plait.training.teacher.LexicalScores`, e.g. BM25),
        mixed into the teacher's logits by :func:`mix_lexical`.
    lexical_weight
        Share of the lexical view in the teacher's logits (0 = dense only).
    """

    def __init__(
        self,
        model: nn.Module,
        query_vectors: Tensor,
        document_vectors: Sequence[Tensor],
        weight: float = 1.0,
        scale: float = 20.0,
        temperature: float = 1.0,
        score_metric: Callable[..., Tensor] = colbert_scores,
        lexical: LexicalScores | None = None,
        lexical_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f"weight must be >= 0, got {weight}")
        if not document_vectors:
            raise ValueError("document_vectors needs one tensor per document column")
        shapes = {tuple(query_vectors.shape)} | {tuple(c.shape) for c in document_vectors}
        if len(shapes) != 1 or query_vectors.ndim != 2:
            raise ValueError(f"teacher vectors must all be (n_rows, dim), got shapes {shapes}")
        self.model = model
        self.query_vectors = query_vectors.float()
        self.document_vectors = [column.float() for column in document_vectors]
        self.weight = weight
        self.scale = scale
        self.temperature = check_temperature(temperature)
        self.score_metric = score_metric
        if not 0 <= lexical_weight <= 1:
            raise ValueError(f"lexical_weight must be in [0, 1], got {lexical_weight}")
        if lexical_weight and lexical is None:
            raise ValueError("lexical_weight > 0 needs lexical scores")
        if lexical is not None and len(lexical.documents) != len(self.document_vectors):
            raise ValueError(
                f"lexical scores have {len(lexical.documents)} document columns, the teacher "
                f"vectors {len(self.document_vectors)}"
            )
        self.lexical = lexical
        self.lexical_weight = lexical_weight

    def forward(self, sentence_features: Sequence[dict[str, Any]], labels: Tensor | None) -> Tensor:
        """Loss for one batch; ``labels`` are the rows' indices into the teacher's vectors."""
        query_features, document_features = split_features(sentence_features)
        if len(document_features) != len(self.document_vectors):
            raise ValueError(
                f"the batch has {len(document_features)} document columns, the teacher vectors "
                f"{len(self.document_vectors)}"
            )
        if labels is None:
            raise ValueError("TeacherContrastive needs a 'label' column of row indices")
        rows = torch.as_tensor(labels).long().cpu()
        if rows.min() < 0 or rows.max() >= self.query_vectors.size(0):
            raise ValueError(
                f"row index out of range [0, {self.query_vectors.size(0)}): the 'label' column "
                "must index the teacher vectors"
            )
        queries = embed(self.model, query_features)
        documents = [embed(self.model, feature) for feature in document_features]
        masks = [documents_mask(self.model, feature) for feature in document_features]
        check_columns(queries, documents)
        scores = contrastive_scores(
            self.score_metric, queries, queries_mask(self.model, query_features), documents, masks
        )
        target = torch.arange(queries.size(0), device=queries.device)
        loss = contrastive_loss(scores, target, self.temperature, size_average=True)
        if self.weight == 0:
            return loss
        teacher = teacher_scores(self.query_vectors, self.document_vectors, rows, self.scale)
        if self.lexical is not None and self.lexical_weight > 0:
            teacher = mix_lexical(teacher, self.lexical.batch(rows), self.lexical_weight)
        distillation = F.kl_div(
            F.log_softmax(scores / self.temperature, dim=-1),
            F.log_softmax(teacher.to(scores), dim=-1),
            reduction="batchmean",
            log_target=True,
        )
        return loss + self.weight * distillation

    def get_config_dict(self) -> dict[str, Any]:
        """Return the settings shown in the model card."""
        return {
            "weight": self.weight,
            "scale": self.scale,
            "temperature": self.temperature,
            "lexical_weight": self.lexical_weight,
        }
