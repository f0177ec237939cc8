"""Teacher vectors for :class:`plait.losses.TeacherContrastive`: encode every training text once.

A single-vector teacher (by default the packaged all-MiniLM-L6-v2 bi-encoder) encodes each
distinct query and document of the training rows before training; each row then gets a ``label``
column holding its own index, through which the loss finds its vectors in any batch order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from plait.training.collator import column_role

logger = logging.getLogger(__name__)

#: ``plait train --teacher`` value for the packaged MiniLM bi-encoder.
BIENCODER = "biencoder"


@dataclass
class LexicalScores:
    """Lexical (BM25) scores of every distinct training query against every distinct document.

    ``scores`` is ``(n_queries, n_documents)``; ``queries`` ``(n_rows,)`` holds each row's query
    index into it, ``documents`` one ``(n_rows,)`` index tensor per document column.
    """

    scores: Tensor
    queries: Tensor
    documents: list[Tensor]

    def batch(self, rows: Tensor) -> Tensor:
        """Return the ``(B, B * n_columns)`` scores of a batch of ``rows``.

        They are laid out like the dense teacher's logits
        (:func:`plait.losses.teacher.teacher_scores`).
        """
        documents = torch.cat([column[rows] for column in self.documents])
        return self.scores[self.queries[rows]][:, documents]


@dataclass
class TeacherVectors:
    """Per-row teacher vectors.

    ``queries`` ``(n_rows, dim)``, one tensor per document column; ``lexical``: optional BM25
    scores of the same rows (:func:`lexical_scores`).
    """

    queries: Tensor
    documents: list[Tensor]
    columns: list[str]
    lexical: LexicalScores | None = None


def text_columns(row: dict[str, Any]) -> tuple[str, list[str]]:
    """Return the query column and the document columns of a contrastive row (collator order)."""
    queries = [c for c in row if column_role(c) == "query"]
    documents = [c for c in row if column_role(c) == "document" and c != "label"]
    if len(queries) != 1 or not documents:
        raise ValueError(
            f"teacher distillation needs one query column and document columns, got {list(row)}"
        )
    return queries[0], documents


def attach_teacher(
    rows: Sequence[dict[str, Any]],
    teacher: str = BIENCODER,
    batch_size: int = 64,
    show_progress_bar: bool = False,
    lexical: bool = False,
) -> TeacherVectors:
    """Encode the rows' texts with ``teacher`` and set each row's ``label`` to its index.

    ``teacher`` is ``"biencoder"`` (the packaged all-MiniLM-L6-v2) or a sentence-transformers
    folder. With ``lexical``, also score the rows with BM25 (:func:`lexical_scores`). The rows are
    changed in place.

    Raises
    ------
    ValueError
        The rows already have a ``label`` column, or are not contrastive rows.
    """
    from plait.baselines import BiEncoder

    if not rows:
        raise ValueError("no training rows to encode with the teacher")
    if "label" in rows[0]:
        raise ValueError("the rows already have a 'label' column; the teacher needs it for row ids")
    query_column, document_columns = text_columns(rows[0])
    texts = sorted({str(row[c]) for row in rows for c in (query_column, *document_columns)})
    encoder = BiEncoder(None if teacher == BIENCODER else teacher)  # its own device choice
    logger.info("teacher %s: encoding %d distinct training texts", teacher, len(texts))
    vectors = torch.from_numpy(encoder.encode(texts, batch_size, show_progress_bar))
    position = {text: i for i, text in enumerate(texts)}

    def column(name: str) -> Tensor:
        return vectors[[position[str(row[name])] for row in rows]]

    result = TeacherVectors(
        column(query_column),
        [column(c) for c in document_columns],
        document_columns,
        lexical_scores(rows, query_column, document_columns) if lexical else None,
    )
    for index, row in enumerate(rows):
        row["label"] = index
    return result


def lexical_scores(
    rows: Sequence[dict[str, Any]], query_column: str, document_columns: Sequence[str]
) -> LexicalScores:
    """Score every distinct query of the rows against every distinct document with BM25.

    The scorer is :class:`plait.training.scorers.BM25Scorer`, fitted on the rows' distinct
    documents.
    """
    from plait.training.scorers import BM25Scorer

    queries = sorted({str(row[query_column]) for row in rows})
    documents = sorted({str(row[c]) for row in rows for c in document_columns})
    scorer = BM25Scorer()
    scorer.fit(documents)
    logger.info("lexical teacher: BM25 of %d queries x %d documents", len(queries), len(documents))
    scores = torch.from_numpy(scorer.score(queries))
    query_index = {text: i for i, text in enumerate(queries)}
    document_index = {text: i for i, text in enumerate(documents)}
    return LexicalScores(
        scores,
        torch.tensor([query_index[str(row[query_column])] for row in rows]),
        [torch.tensor([document_index[str(row[c])] for row in rows]) for c in document_columns],
    )
