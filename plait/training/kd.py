"""Distillation data: resolve query and document ids to texts (PyLate's ``utils.KDProcessing``)."""

from __future__ import annotations

import ast
import logging
from collections.abc import Iterable, Mapping
from typing import Any

logger = logging.getLogger(__name__)


def _texts_by_id(source: Any, id_column: str, split: str) -> dict[str, str]:
    """``{id: text}`` from a mapping, a ``datasets.Dataset(DatasetDict)`` or rows of dicts."""
    if isinstance(source, Mapping) and not hasattr(source, "column_names"):
        if split in source and not isinstance(source[split], str):  # a DatasetDict-like mapping
            return _texts_by_id(source[split], id_column, split)
        return {str(key): str(value) for key, value in source.items()}
    if hasattr(source, "column_names") and isinstance(source.column_names, dict):
        source = source[split]  # datasets.DatasetDict
    if hasattr(source, "column_names"):
        if id_column not in source.column_names or "text" not in source.column_names:
            raise ValueError(
                f"expected columns {id_column!r} and 'text', got {source.column_names}"
            )
        return {str(i): str(t) for i, t in zip(source[id_column], source["text"], strict=True)}
    rows: Iterable[Mapping[str, Any]] = source
    return {str(row[id_column]): str(row["text"]) for row in rows}


def _literal(value: Any) -> Any:
    return ast.literal_eval(value) if isinstance(value, str) else value


class KDProcessing:
    """Turn ``{"query_id", "document_ids", "scores"}`` rows into ``{"query", "documents", "scores"}``.

    Use ``dataset.set_transform(KDProcessing(...).transform)`` (batched) or
    ``dataset.map(KDProcessing(...).map)`` (one row). A document id that is not found becomes an
    empty text, with a warning, as in PyLate.

    Parameters
    ----------
    queries
        Query texts: ``{id: text}``, or a dataset / rows with ``query_id`` and ``text``.
    documents
        Document texts: ``{id: text}``, or a dataset / rows with ``document_id`` and ``text``.
    split
        Split used when ``queries``/``documents`` are ``DatasetDict``s.
    n_ways
        Candidates kept per query (the first ``n_ways`` ids and scores).

    Examples
    --------
    >>> kd = KDProcessing({"q1": "what?"}, {"d1": "one", "d2": "two"}, n_ways=2)
    >>> kd.map({"query_id": "q1", "document_ids": ["d2", "d1"], "scores": [0.9, 0.1]})
    {'scores': [0.9, 0.1], 'query': 'what?', 'documents': ['two', 'one']}
    """

    def __init__(
        self, queries: Any, documents: Any, split: str = "train", n_ways: int = 32
    ) -> None:
        if n_ways < 1:
            raise ValueError(f"n_ways must be >= 1, got {n_ways}")
        self.queries = _texts_by_id(queries, "query_id", split)
        self.documents = _texts_by_id(documents, "document_id", split)
        self.n_ways = n_ways

    def _query(self, query_id: Any) -> str:
        try:
            return self.queries[str(query_id)]
        except KeyError:
            raise KeyError(f"query id {query_id!r} is not in the queries") from None

    def _documents(self, document_ids: Iterable[Any]) -> list[str]:
        texts = []
        for document_id in document_ids:
            text = self.documents.get(str(document_id))
            if text is None:
                logger.warning("Unable to find document: %s", document_id)
                text = ""
            texts.append(text)
        return texts

    def map(self, example: dict[str, Any]) -> dict[str, Any]:
        """Process one row."""
        scores = list(_literal(example["scores"]))[: self.n_ways]
        document_ids = list(_literal(example["document_ids"]))[: self.n_ways]
        if len(scores) != len(document_ids):
            raise ValueError(
                f"query {example.get('query_id')!r}: {len(document_ids)} document ids but "
                f"{len(scores)} scores"
            )
        return {
            "scores": scores,
            "query": self._query(example["query_id"]),
            "documents": self._documents(document_ids),
        }

    def transform(self, examples: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """Process a batch (``datasets`` ``set_transform`` format: column -> list of values)."""
        rows = [
            self.map({key: examples[key][i] for key in ("query_id", "document_ids", "scores")})
            for i in range(len(examples["query_id"]))
        ]
        return {key: [row[key] for row in rows] for key in ("query", "documents", "scores")}
