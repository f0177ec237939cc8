"""Batch collation for ColBERT training: queries are tokenised as queries, documents as documents.

Two ways in, one result:

* :class:`ColBERTCollator` (PyLate's ``utils.ColBERTCollator``) decides by column name: a column
  whose name contains ``query`` or ``anchor`` holds queries, columns whose name contains ``_id`` are
  skipped, the others (``positive``, ``negative``, ``negative_1``, ``documents``...) hold documents;
  a column of lists (a query's candidate documents) is flattened.
* With no collator, sentence-transformers' trainer builds its own from ``model.preprocess``, which
  it calls once per column without saying which column it is. A plait model's ``preprocess``
  then calls :func:`plait.models.trainer_inputs.tokenize_for_trainer`, which returns the document encoding plus the query
  encoding under keys prefixed ``"query."``; the losses use the query encoding for the first column
  (the query, by the trainer's convention) and the document encoding for the others.
  ``router_mapping={"query": "query", "positive": "document", ...}`` in the training arguments names
  the roles instead, and then each column is tokenised once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor

from plait.models.trainer_inputs import (  # noqa: F401  (re-exported: plait.training's names)
    QUERY_PREFIX,
    flatten_texts,
    task_is_query,
    tokenize_for_trainer,
)

Role = Literal["query", "document", "skip"]


def column_role(column: str) -> Role:
    """Return the role of a dataset column by its name (PyLate's rule).

    Examples
    --------
    >>> [column_role(c) for c in ["query", "anchor", "positive", "negative_2", "query_id"]]
    ['query', 'query', 'document', 'document', 'skip']
    """
    if "_id" in column:
        return "skip"
    if "query" in column or "anchor" in column:
        return "query"
    return "document"


class ColBERTCollator:
    """Collate dataset rows into model inputs, tokenising each column for its role.

    Parameters
    ----------
    tokenize_fn
        ``model.tokenize`` (called as ``tokenize_fn(texts, is_query=...)``).
    valid_label_columns
        Columns holding labels or teacher scores (first one found becomes ``batch["label"]``);
        default ``["label", "scores"]``.

    Examples
    --------
    >>> fake = lambda texts, is_query: {"input_ids": torch.full((len(texts), 2), int(is_query))}
    >>> batch = ColBERTCollator(fake)([{"query": "q", "positive": "p", "negative": "n"}])
    >>> batch["query_input_ids"].tolist(), batch["positive_input_ids"].tolist()
    ([[1, 1]], [[0, 0]])
    """

    def __init__(
        self,
        tokenize_fn: Callable[..., dict[str, Tensor]],
        valid_label_columns: list[str] | None = None,
    ) -> None:
        self.tokenize_fn = tokenize_fn
        self.valid_label_columns = (
            list(valid_label_columns) if valid_label_columns is not None else ["label", "scores"]
        )

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        """Turn a list of rows into ``{column}_{input_ids|attention_mask|...}`` tensors."""
        if not features:
            raise ValueError("cannot collate an empty batch")
        batch: dict[str, Any] = {"return_loss": True}
        columns = list(features[0].keys())
        if "dataset_name" in columns:
            columns.remove("dataset_name")
            batch["dataset_name"] = features[0]["dataset_name"]
        for label_column in self.valid_label_columns:
            if label_column in columns:
                batch["label"] = torch.tensor([row[label_column] for row in features])
                columns.remove(label_column)
                break
        if not any(column_role(column) == "query" for column in columns):
            raise ValueError(
                f"no query column among {columns}: name it 'query' or 'anchor' "
                "(columns named *_id are skipped)"
            )
        for column in columns:
            role = column_role(column)
            if role == "skip":
                continue
            texts = flatten_texts([row[column] for row in features])
            tokenized = self.tokenize_fn(texts, is_query=role == "query")
            for key, value in tokenized.items():
                batch[f"{column}_{key}"] = value
        return batch
