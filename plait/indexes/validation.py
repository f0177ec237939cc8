"""Input checks shared by index implementations: ids, embeddings, subsets, k.

Every check raises an :class:`~plait.indexes.base.IndexInputError` (a ``ValueError``) or a
``TypeError`` whose message names the offending argument and item, before anything is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from plait.indexes.base import DuplicateIdError, IndexInputError, UnknownIdError
from plait.utils.tensor import as_matrices, is_array, to_numpy

MAX_ABS_VALUE = 1e12
"""Largest magnitude an embedding value may have. Far beyond any real embedding (rows are usually
L2-normalised), and small enough that no MaxSim score can overflow float32: a score is at most
``n_query_tokens * dim * MAX_ABS_VALUE**2`` (8.6e30 for 2,048 tokens of 4,096 dimensions)."""


def _out_of_range(matrix: np.ndarray) -> bool:
    """NaN, infinite, or beyond :data:`MAX_ABS_VALUE` (where scores could overflow)."""
    with np.errstate(invalid="ignore"):
        return bool(matrix.size) and not float(np.abs(matrix).max()) <= MAX_ABS_VALUE


def check_ids(documents_ids: Any, what: str = "documents_ids") -> list[str]:
    """Return a list of string ids; duplicates raise :class:`DuplicateIdError`.

    A bare string is one id (PyLate's ``add_documents("a", matrix)``), never split into characters.
    """
    if isinstance(documents_ids, str):
        documents_ids = [documents_ids]
    ids = check_id_list(documents_ids, what, dedupe=False)
    if len(set(ids)) != len(ids):
        dupes = sorted(i for i, count in Counter(ids).items() if count > 1)
        raise DuplicateIdError(f"{what} contains duplicate ids: {dupes[:10]}")
    return ids


def check_id_list(
    documents_ids: Any, what: str = "documents_ids", *, dedupe: bool = True
) -> list[str]:
    """Return string ids in order (duplicates dropped with ``dedupe``), for removals and look-ups.

    A bare string is an error, never split into one id per character.
    """
    if isinstance(documents_ids, (str, bytes)):
        raise TypeError(
            f"{what} must be a list of string ids, got the string {documents_ids!r} "
            f"(pass [{documents_ids!r}] for one id)"
        )
    if not isinstance(documents_ids, Iterable):
        raise TypeError(f"{what} must be a list of string ids, got {type(documents_ids).__name__}")
    ids = list(documents_ids)
    for i, doc_id in enumerate(ids):
        if not isinstance(doc_id, str):
            raise TypeError(
                f"{what}[{i}] is {type(doc_id).__name__} {doc_id!r}; document ids must be strings"
            )
    return list(dict.fromkeys(ids)) if dedupe else ids


def check_texts(documents_ids: Sequence[str], texts: Any) -> list[str | None] | None:
    """``None`` (no texts) or one string (or ``None``) per id."""
    if texts is None:
        return None
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(f"texts must be a list of strings, one per id, got {type(texts).__name__}")
    if len(texts) != len(documents_ids):
        raise IndexInputError(f"got {len(documents_ids)} documents_ids but {len(texts)} texts")
    for doc_id, text in zip(documents_ids, texts, strict=True):
        if text is not None and not isinstance(text, str):
            raise TypeError(f"the text of document {doc_id!r} is {type(text).__name__}, not str")
    return list(texts)


def check_storable(
    documents_ids: Sequence[str], matrices: Sequence[np.ndarray], dtype: str
) -> None:
    """Every value fits the storage dtype (float16 holds at most 65504 in magnitude)."""
    limit = float(np.finfo(dtype).max)
    for doc_id, matrix in zip(documents_ids, matrices, strict=True):
        if matrix.size and float(np.abs(matrix).max()) > limit:
            raise IndexInputError(
                f"document {doc_id!r} has embedding values beyond {dtype}'s range (+-{limit:g}); "
                "they would be stored as infinity"
            )


def check_embeddings(
    documents_ids: Sequence[str], documents_embeddings: Any, dim: int | None
) -> list[np.ndarray]:
    """One finite float32 ``(n_tokens >= 1, dim)`` matrix per id, all of the same dimension.

    A 3-D array/tensor is read as a zero-padded batch (``encode(..., padding=True)``): its all-zero
    rows are dropped, so padding can never win a max. A single 2-D array/tensor is one document's
    ``(n_tokens, dim)`` matrix, as in PyLate (``add_documents(["a"], encode("text"))``).
    """
    single = is_array(documents_embeddings) and np.ndim(documents_embeddings) == 2
    if is_array(documents_embeddings) and np.ndim(documents_embeddings) not in (2, 3):
        raise ValueError(
            "documents_embeddings must be a list of (n_tokens, dim) matrices, one such matrix or "
            f"a 3-D array, got shape {tuple(np.shape(documents_embeddings))}"
        )
    matrices = as_matrices(documents_embeddings, "documents_embeddings")
    if is_array(documents_embeddings) and not single:  # a padded batch: all-zero rows are padding
        matrices = [m[np.any(m != 0, axis=1)] for m in matrices]
    if len(matrices) != len(documents_ids):
        what = " (one 2-D matrix is one document)" if single else ""
        raise IndexInputError(
            f"got {len(documents_ids)} documents_ids but {len(matrices)} documents_embeddings{what}"
        )
    for doc_id, matrix in zip(documents_ids, matrices, strict=True):
        if matrix.shape[0] == 0:
            raise IndexInputError(
                f"document {doc_id!r} has no token embeddings (0 rows); every document needs at "
                "least one token (an empty text still encodes to its special tokens)"
            )
        expected = dim if dim is not None else matrices[0].shape[1]
        if matrix.shape[1] != expected:
            raise IndexInputError(
                f"document {doc_id!r} has {matrix.shape[1]}-dimensional embeddings but the index "
                f"holds {expected}-dimensional ones"
            )
        if _out_of_range(matrix):
            raise IndexInputError(
                f"document {doc_id!r} has NaN or infinite embedding values, or values beyond "
                f"+-{MAX_ABS_VALUE:g} (scores would overflow)"
            )
    return matrices


def check_queries(queries_embeddings: Any, dim: int | None) -> list[np.ndarray]:
    """Return queries as a list of float32 ``(n_tokens, dim)`` matrices (2-D input: one query)."""
    queries = as_matrices(queries_embeddings, "queries_embeddings")
    for i, query in enumerate(queries):
        if query.shape[0] == 0:
            raise IndexInputError(f"queries_embeddings[{i}] has no token embeddings (0 rows)")
        if dim is not None and query.shape[1] != dim:
            raise IndexInputError(
                f"queries_embeddings[{i}] has dimension {query.shape[1]} but the index holds "
                f"{dim}-dimensional embeddings"
            )
        if _out_of_range(query):
            raise IndexInputError(
                f"queries_embeddings[{i}] has NaN or infinite values, or values beyond "
                f"+-{MAX_ABS_VALUE:g} (scores would overflow)"
            )
    return queries


def check_k(k: Any) -> int:
    """Return ``k`` as an int; anything but a positive integer (bools included) raises."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)


def normalize_subset(subset: Any, n_queries: int) -> list[list[str]] | None:
    """``None``, one id list for every query, or one id list per query -> a list per query."""
    if subset is None:
        return None
    if isinstance(subset, (str, bytes)) or is_array(subset) or not isinstance(subset, Sequence):
        raise TypeError(
            "subset must be a list of document ids (shared by all queries) or one list per query, "
            f"got {type(subset).__name__}"
        )
    if len(subset) == 0 or all(isinstance(s, str) for s in subset):
        return [list(subset)] * n_queries
    if any(isinstance(s, str) for s in subset):
        raise TypeError("subset mixes ids and lists; give one list of ids or one list per query")
    if len(subset) != n_queries:
        raise IndexInputError(f"subset has {len(subset)} lists but there are {n_queries} queries")
    lists = []
    for i, ids in enumerate(subset):
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
            raise TypeError(f"subset[{i}] must be a list of document ids")
        lists.append([str(x) if not isinstance(x, str) else x for x in ids])
    return lists


def unknown_ids(ids: Iterable[str], known: Any) -> list[str]:
    """Return the ids not in ``known``, in order."""
    return [i for i in ids if i not in known]


MISSING_CHOICES = ("ignore", "raise")


def check_missing(missing: Any) -> str:
    """Return ``missing`` (``"ignore"`` or ``"raise"``, what removals do with unknown ids)."""
    if missing not in MISSING_CHOICES:
        raise ValueError(f"missing must be 'ignore' or 'raise', got {missing!r}")
    return str(missing)


def known_only(ids: list[str], known: Any, missing: str) -> list[str]:
    """Return the ids to remove: unknown ones dropped (``"ignore"``, PyLate's behaviour) or refused.

    With ``missing="raise"`` any unknown id raises :class:`UnknownIdError` naming them.
    """
    if check_missing(missing) == "raise":
        raise_unknown(unknown_ids(ids, known))
        return ids
    return [i for i in ids if i in known]


def raise_unknown(missing: list[str]) -> None:
    """Raise :class:`UnknownIdError` naming (the first ten of) ``missing``, if there are any."""
    if missing:
        raise UnknownIdError(
            f"{len(missing)} unknown document id(s): {missing[:10]}"
            + (" ..." if len(missing) > 10 else "")
        )


__all__ = [
    "MAX_ABS_VALUE",
    "MISSING_CHOICES",
    "check_embeddings",
    "check_id_list",
    "check_ids",
    "check_k",
    "check_missing",
    "check_queries",
    "check_storable",
    "check_texts",
    "known_only",
    "normalize_subset",
    "raise_unknown",
    "to_numpy",
    "unknown_ids",
]
