"""Input checks shared by the baselines (same messages as the ColBERT retriever's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def check_queries(queries: Any, why_text: str = "") -> list[str]:
    """Return ``queries`` as a non-empty list of strings (a single string is wrapped).

    ``why_text`` is appended to the error for a non-string item.
    """
    if isinstance(queries, str):
        return [queries]
    if (
        queries is None
        or not isinstance(queries, Sequence)
        or isinstance(queries, bytes)
        or len(queries) == 0
    ):
        raise ValueError("queries must be a non-empty list of strings")
    for position, text in enumerate(queries):
        if not isinstance(text, str):
            raise TypeError(
                f"queries[{position}] must be a string, got {type(text).__name__}{why_text}"
            )
    return list(queries)


def check_corpus(
    collection: Any, document_ids: Any, existing: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """Texts and string ids of equal length, ids unique (also against ``existing``)."""
    if isinstance(collection, str) or not isinstance(collection, Sequence) or not collection:
        raise ValueError("collection must be a non-empty list of strings")
    if isinstance(document_ids, str) or not isinstance(document_ids, Sequence):
        raise ValueError("document_ids must be a list of ids, one per document")
    if len(collection) != len(document_ids):
        raise ValueError(
            f"collection has {len(collection)} documents but document_ids has {len(document_ids)} ids"
        )
    for position, text in enumerate(collection):
        if not isinstance(text, str):
            raise TypeError(f"collection[{position}] must be a string, got {type(text).__name__}")
    ids = [str(document_id) for document_id in document_ids]
    seen = set(existing)
    for document_id in ids:
        if document_id in seen:
            raise ValueError(f"duplicate document id {document_id!r}")
        seen.add(document_id)
    return list(collection), ids


def resolve_k(k: int, top_k: int | None) -> int:
    """``top_k`` (the seed's name) wins over ``k`` (PyLate's); must be a positive int."""
    value = top_k if top_k is not None else k
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"top_k must be a positive integer, got {value!r}")
    return value
