"""What every plait loss shares: which features are queries, masks, embedding, device gathering.

Losses receive ``sentence_features`` as sentence-transformers' trainer builds them: one dict of
tensors per dataset column, in column order. The first column is the query (PyLate's convention and
sentence-transformers'), the others are documents.

When the stock trainer collates a plait model's batch it does not know which column holds queries,
so the model's ``preprocess`` tokenises every column both ways (see
:func:`plait.models.trainer_inputs.tokenize_for_trainer`): documents under the usual keys and queries
under keys prefixed with :data:`QUERY_PREFIX`. :func:`split_features` picks the query encoding for
the first column and the document encoding for the rest, so both collators give the same loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from plait.models.trainer_inputs import QUERY_PREFIX


def unwrap(model: nn.Module) -> Any:
    """Return the plait model inside a (Distributed)DataParallel or compiled wrapper."""
    inner: Any = model
    while hasattr(inner, "module") and not hasattr(inner, "skiplist_mask"):
        inner = inner.module
    return inner


def _as_query(feature: dict[str, Any]) -> dict[str, Any]:
    if not any(key.startswith(QUERY_PREFIX) for key in feature):
        return feature
    return {
        key[len(QUERY_PREFIX) :]: value
        for key, value in feature.items()
        if key.startswith(QUERY_PREFIX)
    }


def _as_document(feature: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in feature.items() if not key.startswith(QUERY_PREFIX)}


def split_features(
    sentence_features: Sequence[dict[str, Any]], min_documents: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Split trainer features into ``(query_features, [document_features, ...])``.

    Raises
    ------
    ValueError
        Fewer than ``1 + min_documents`` columns, or a column without ``input_ids``.
    """
    features = list(sentence_features)
    if len(features) < 1 + min_documents:
        raise ValueError(
            f"expected a query column followed by at least {min_documents} document column(s), "
            f"got {len(features)} column(s); a triplet dataset has columns like "
            "query, positive, negative"
        )
    for position, feature in enumerate(features):
        if "input_ids" not in feature:
            raise ValueError(
                f"column {position} has no 'input_ids' (keys: {sorted(feature)}); "
                "was the batch tokenised by the model?"
            )
    return _as_query(features[0]), [_as_document(feature) for feature in features[1:]]


def embed(model: nn.Module, features: dict[str, Any]) -> Tensor:
    """Token embeddings ``(B, L, dim)``, L2-normalised, with gradients."""
    output = model(dict(features))
    return F.normalize(output["token_embeddings"], p=2, dim=-1)


def queries_mask(model: nn.Module, features: dict[str, Any]) -> Tensor | None:
    """Return the queries' mask: ``None`` with query expansion, else the attention mask.

    With expansion every one of the ``query_length`` rows is scored, as PyLate does; otherwise
    padding never counts.
    """
    if getattr(unwrap(model), "do_query_expansion", True):
        return None
    return features["attention_mask"].bool()


def documents_mask(model: nn.Module, features: dict[str, Any]) -> Tensor:
    """``attention_mask & skiplist_mask``: padding and skiplisted tokens (punctuation) never match."""
    keep = unwrap(model).skiplist_mask(features["input_ids"])
    return features["attention_mask"].bool() & keep.to(features["attention_mask"].device)


def gather_with_grad(tensor: Tensor) -> tuple[Tensor, int]:
    """Concatenate ``tensor`` from every process (gradients flow back to each process's part).

    Returns ``(gathered, rank)``. Without an initialised process group it is ``(tensor, 0)``.
    Tensors must have the same shape on every process (pad document columns to a fixed length).
    """
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor, 0
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor.contiguous()), dim=0), dist.get_rank()


def gather(tensor: Tensor) -> Tensor:
    """Concatenate ``tensor`` from every process, without gradients (masks)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=0)


def world_size() -> int:
    """Return the number of training processes (1 without ``torch.distributed``)."""
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def check_temperature(temperature: float) -> float:
    """Reject a temperature that would divide by zero or flip the ranking."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return float(temperature)
