"""Training rows from unlabelled corpus text: each document's title as a query for its body.

A titled corpus (every BEIR corpus with a ``title`` field, e.g. SciFact's abstracts) holds many
free (query, positive) pairs: the title asks for the body it heads. :func:`title_pairs` turns a
corpus into ``(queries, corpus, qrels)`` of that kind, and :func:`title_rows` mines hard negatives
for them with :func:`plait.training.mine_hard_negatives`, giving rows in the same
``{"query", "positive", "negative"}`` shape as labelled training data. With a teacher
(``plait train --teacher``) these rows mostly add distillation data: the student learns the
teacher's ranking on many more queries than the labelled ones, without any relevance labels.

The bodies are used without their titles (a title would otherwise find itself word for word), for
the positive and the negatives alike.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Literal

import numpy as np

logger = logging.getLogger(__name__)

#: ``plait train --pseudo-queries`` values.
PSEUDO_QUERY_SOURCES: tuple[str, ...] = ("title",)


def title_pairs(
    data: str | os.PathLike[str],
    *,
    min_title_words: int = 3,
    min_body_words: int = 5,
    max_queries: int | None = None,
    seed: int = 0,
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """Return ``(queries, corpus, qrels)``: one query per distinct title of the corpus in ``data``.

    ``corpus`` maps each document id to its body (title removed); a title query's positives are
    every document that carries that title. Documents whose title has fewer than
    ``min_title_words`` words or whose body has fewer than ``min_body_words`` are left out of the
    queries (their bodies still serve as negatives). ``max_queries`` keeps a seeded random sample.

    Raises
    ------
    ValueError
        No document has both a usable title and body.
    """
    from plait.evaluation.beir import load_titled_corpus

    records = load_titled_corpus(data)
    corpus = {r["id"]: r["text"] for r in records if r["text"]}
    by_title: dict[str, dict[str, int]] = {}
    for record in records:
        title, body = record["title"], record["text"]
        if len(title.split()) >= min_title_words and len(body.split()) >= min_body_words:
            by_title.setdefault(title, {})[record["id"]] = 1
    if not by_title:
        raise ValueError(
            f"{data}: no document has a title of >= {min_title_words} words and a body of "
            f">= {min_body_words} words: nothing to make pseudo-queries from"
        )
    titles = list(by_title)
    if max_queries is not None and max_queries < len(titles):
        chosen = np.random.default_rng(seed).choice(len(titles), size=max_queries, replace=False)
        titles = [titles[i] for i in sorted(chosen)]
    queries = {f"title-{i}": title for i, title in enumerate(titles)}
    qrels = {f"title-{i}": by_title[title] for i, title in enumerate(titles)}
    return queries, corpus, qrels


def title_rows(
    data: str | os.PathLike[str],
    *,
    retriever: Any = "bm25",
    num_negatives: int = 1,
    range_max: int = 50,
    output_format: Literal["triplet", "n-tuple"] = "triplet",
    max_queries: int | None = None,
    seed: int = 0,
    show_progress_bar: bool = False,
) -> list[dict[str, str]]:
    """Return training rows ``{"query": title, "positive": body, "negative": body}`` for ``data``.

    The negatives are mined by ``retriever`` (as :func:`plait.training.mine_hard_negatives`: never
    a document of the same title).
    """
    from plait.training.mining import mine_hard_negatives

    queries, corpus, qrels = title_pairs(data, max_queries=max_queries, seed=seed)
    logger.info("pseudo-queries: %d titles over %d bodies", len(queries), len(corpus))
    return mine_hard_negatives(
        queries=queries,
        corpus=corpus,
        qrels=qrels,
        retriever=retriever,
        num_negatives=num_negatives,
        range_max=range_max,
        output_format=output_format,
        seed=seed,
        show_progress_bar=show_progress_bar,
    )
