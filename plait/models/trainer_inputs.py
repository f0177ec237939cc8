"""What a plait model hands sentence-transformers' trainer: role-aware tokenisation of a column.

sentence-transformers' trainer builds its data collator from ``model.preprocess``, which it calls
once per column without saying which column it is. A plait model's ``preprocess`` calls
:func:`tokenize_for_trainer`, which returns the document encoding plus the query encoding under
keys prefixed :data:`QUERY_PREFIX`; the losses use the query encoding for the first column (the
query, by the trainer's convention). ``router_mapping`` in the training arguments (``task=``) names
the roles instead, and then each column is tokenised once. This lives with the model (not in
:mod:`plait.training`) because the model's own ``preprocess`` needs it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from torch import Tensor

__all__ = [
    "DOCUMENT_TASKS",
    "QUERY_PREFIX",
    "QUERY_TASKS",
    "flatten_texts",
    "task_is_query",
    "tokenize_for_trainer",
]

#: Key prefix of the query encoding that :func:`tokenize_for_trainer` adds next to the document one.
#: (A ``.`` rather than ``_`` keeps sentence-transformers from reading it as another column.)
QUERY_PREFIX = "query."

QUERY_TASKS = ("query", "queries", "anchor")
DOCUMENT_TASKS = ("document", "documents", "doc", "passage", "corpus")


def flatten_texts(texts: Sequence[Any]) -> list[Any]:
    """Return a column of lists (a query's candidate documents) as one flat list."""
    if texts and isinstance(texts[0], (list, tuple)):
        return list(itertools.chain.from_iterable(texts))
    return list(texts)


def task_is_query(task: str | None) -> bool | None:
    """``True``/``False`` for a query/document task name, ``None`` when unknown or absent."""
    if task is None:
        return None
    name = task.lower()
    if name in QUERY_TASKS:
        return True
    if name in DOCUMENT_TASKS:
        return False
    raise ValueError(
        f"unknown task {task!r} for a ColBERT model: use one of {QUERY_TASKS + DOCUMENT_TASKS}"
    )


def tokenize_for_trainer(
    model: Any,
    inputs: Sequence[Any],
    prompt: str | None = None,
    task: str | None = None,
    is_query: bool | None = None,
) -> dict[str, Tensor]:
    """Tokenise ``inputs`` for sentence-transformers' data collator (a model's ``preprocess``).

    With a role (``is_query``, or ``task`` from the trainer's ``router_mapping``) the texts are
    tokenised once for it. Without one they are tokenised as documents, and the query encoding
    is added under ``"query.<key>"`` so the losses can use it for the query column.

    Raises
    ------
    TypeError
        An input is not a string (lists of strings are flattened first).
    """
    texts = flatten_texts(inputs)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"inputs[{position}] is {type(text).__name__}, expected str; a ColBERT model "
                "trains on text columns (drop id/number columns from the dataset)"
            )
    if prompt:
        texts = [prompt + text for text in texts]
    role = is_query if is_query is not None else task_is_query(task)
    if role is not None:
        return dict(model.tokenize(texts, is_query=role))
    documents = dict(model.tokenize(texts, is_query=False))
    queries = model.tokenize(texts, is_query=True)
    documents.update({QUERY_PREFIX + key: value for key, value in queries.items()})
    return documents
