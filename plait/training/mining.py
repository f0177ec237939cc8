"""Hard-negative mining: documents a first-stage retriever ranks high but not judged relevant.

They are picked for each (query, positive) pair.

For every query the scorer (BM25, a bi-encoder or a ColBERT model, see
:mod:`plait.training.scorers`) scores the whole corpus. The query's judged positives (grade > 0)
are removed, the remaining documents are ranked, and the candidates are those at ranks
``[range_min, range_max)``. Two optional filters drop candidates that are probably unlabelled
positives, as sentence-transformers' ``mine_hard_negatives`` does:

* ``absolute_margin``: drop a candidate whose score is above ``positive_score - absolute_margin``;
* ``relative_margin``: drop a candidate whose score is above ``positive_score * (1 - relative_margin)``.

Then ``num_negatives`` are taken from the top (``sampling="top"``) or at random
(``sampling="random"``, seeded). Known positives are never returned as negatives: not the pair's
positive, nor any other positive of the same query.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Literal

import numpy as np

from plait.training.scorers import Scorer, make_scorer

logger = logging.getLogger(__name__)

Texts = Mapping[str, str] | Sequence[Mapping[str, str]]


@dataclass(frozen=True)
class MiningSettings:
    """How negatives are chosen (see :func:`mine_hard_negatives`)."""

    num_negatives: int = 1
    range_min: int = 0
    range_max: int = 50
    absolute_margin: float | None = None
    relative_margin: float | None = None
    sampling: Literal["top", "random"] = "top"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.num_negatives < 1:
            raise ValueError(f"num_negatives must be >= 1, got {self.num_negatives}")
        if not 0 <= self.range_min < self.range_max:
            raise ValueError(
                f"need 0 <= range_min < range_max, got range_min={self.range_min}, "
                f"range_max={self.range_max}"
            )
        if self.sampling not in ("top", "random"):
            raise ValueError(f"sampling must be 'top' or 'random', got {self.sampling!r}")
        if self.relative_margin is not None and not 0 <= self.relative_margin < 1:
            raise ValueError(f"relative_margin must be in [0, 1), got {self.relative_margin}")


def _as_dict(texts: Texts, name: str) -> dict[str, str]:
    if isinstance(texts, Mapping):
        items = [(str(k), v) for k, v in texts.items()]
    else:
        items = [(str(row["id"]), row["text"]) for row in texts]
    for key, value in items:
        if not isinstance(value, str):
            raise TypeError(f"{name}[{key!r}] is {type(value).__name__}, expected str")
    return dict(items)


def load_inputs(
    data: str | os.PathLike[str] | None,
    queries: Texts | None,
    corpus: Texts | None,
    qrels: Mapping[str, Mapping[str, int]] | None,
    split: str,
) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """Return ``(queries, corpus, qrels)`` as dicts, from a BEIR folder or the given objects."""
    if data is not None:
        if queries is not None or corpus is not None or qrels is not None:
            raise ValueError("give either a BEIR folder or (queries, corpus, qrels), not both")
        from plait.evaluation.beir import load_beir

        documents, judged_queries, judgements = load_beir(data, split=split)
        return _as_dict(judged_queries, "queries"), _as_dict(documents, "corpus"), judgements
    if queries is None or corpus is None or qrels is None:
        raise ValueError("give a BEIR folder, or all of queries, corpus and qrels")
    return (
        _as_dict(queries, "queries"),
        _as_dict(corpus, "corpus"),
        {str(q): {str(d): int(g) for d, g in docs.items()} for q, docs in qrels.items()},
    )


def select_negatives(
    scores: np.ndarray,
    positives: Sequence[int],
    positive: int,
    settings: MiningSettings,
    rng: np.random.Generator,
) -> list[int]:
    """Return the indices of negatives for one (query, positive) pair.

    It is given the query's scores over the corpus and the indices of all its positives, and never
    returns an index in ``positives``.
    """
    candidates = np.argsort(-scores, kind="stable")
    candidates = candidates[~np.isin(candidates, np.asarray(positives, dtype=np.int64))]
    candidates = candidates[settings.range_min : settings.range_max]
    threshold = np.inf
    if settings.absolute_margin is not None:
        threshold = min(threshold, scores[positive] - settings.absolute_margin)
    if settings.relative_margin is not None:
        threshold = min(threshold, scores[positive] * (1 - settings.relative_margin))
    candidates = candidates[scores[candidates] <= threshold]
    count = min(settings.num_negatives, len(candidates))
    if settings.sampling == "random":
        return [int(i) for i in rng.choice(candidates, size=count, replace=False)]
    return [int(i) for i in candidates[:count]]


def _pairs(
    queries: Mapping[str, str], corpus: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]]
) -> list[tuple[str, list[str]]]:
    """Return the queries that have a text and at least one positive found in the corpus."""
    pairs = []
    for query_id, judged in qrels.items():
        positives = [d for d, grade in judged.items() if grade > 0 and d in corpus]
        if query_id in queries and positives:
            pairs.append((query_id, positives))
    if not pairs:
        raise ValueError("no query has a positive document in the corpus: nothing to mine")
    return pairs


OUTPUT_FORMATS: tuple[str, ...] = ("triplet", "n-tuple")  # a row per negative / per pair


def mine_hard_negatives(
    data: str | os.PathLike[str] | None = None,
    *,
    queries: Texts | None = None,
    corpus: Texts | None = None,
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    split: str = "train",
    retriever: Any = "bm25",
    num_negatives: int = 1,
    range_min: int = 0,
    range_max: int = 50,
    absolute_margin: float | None = None,
    relative_margin: float | None = None,
    sampling: Literal["top", "random"] = "top",
    output_format: Literal["triplet", "n-tuple"] = "n-tuple",
    seed: int = 0,
    output_path: str | os.PathLike[str] | None = None,
    batch_size: int = 256,
    show_progress_bar: bool = False,
    negations: int = 0,
) -> list[dict[str, str]]:
    """Mine hard negatives and return training rows (optionally written as JSONL).

    Parameters
    ----------
    data
        A BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``); or give
        ``queries`` / ``corpus`` (``{id: text}`` or ``[{"id", "text"}]``) and ``qrels``
        (``{query_id: {document_id: grade}}``).
    split
        The qrels split of ``data`` (default ``train``: never mine on the test split).
    retriever
        ``"bm25"``, ``"biencoder"`` (the packaged MiniLM), ``"colbert"`` (the default plait model),
        a ColBERT model or folder, a bi-encoder folder, or a :class:`Scorer`.
    num_negatives
        Negatives per (query, positive) pair.
    range_min, range_max
        Ranks (0-based, positives removed) the negatives are taken from.
    absolute_margin, relative_margin
        Drop candidates scored too close to the positive.
    sampling
        ``"top"`` (highest-ranked candidates) or ``"random"`` (seeded sample).
    output_format
        ``"n-tuple"``: one row per pair, ``{"query", "positive", "negative"}`` with one negative or
        ``negative_1..negative_n``; pairs with fewer candidates than ``num_negatives`` are dropped
        (rows must have the same columns). ``"triplet"``: one ``{"query", "positive", "negative"}``
        row per negative.
    seed
        Random seed for ``sampling="random"``.
    output_path
        Write the rows there as JSON lines.
    batch_size
        Queries scored at once.
    negations
        Also up to this many negated twins of each positive as negatives
        (:func:`plait.training.negation.negated_twins`, the change placed where the query matches,
        seeded by ``seed`` and the pair's ids): the positive with one claim's polarity flipped.
        ``"triplet"``: a row per twin besides the ``num_negatives`` mined rows. ``"n-tuple"``:
        every row holds ``num_negatives + negations`` negatives, the twins first and mined
        negatives in the place of twins a positive does not have (no documented pattern applies).

    Returns
    -------
    list of dict
        The rows, in qrels order.
    """
    settings = MiningSettings(
        num_negatives, range_min, range_max, absolute_margin, relative_margin, sampling, seed
    )
    if negations < 0:
        raise ValueError(f"negations must be >= 0, got {negations}")
    width = num_negatives + negations  # negatives per n-tuple row
    if output_format == "n-tuple" and negations:
        settings = replace(settings, num_negatives=width)  # mined ones fill in for missing twins
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"output_format must be 'triplet' or 'n-tuple', got {output_format!r}")
    query_texts, documents, judgements = load_inputs(data, queries, corpus, qrels, split)
    pairs = _pairs(query_texts, documents, judgements)
    scorer: Scorer = make_scorer(retriever)
    document_ids = list(documents)
    position = {document_id: i for i, document_id in enumerate(document_ids)}
    scorer.fit([documents[d] for d in document_ids])
    rng = np.random.default_rng(seed)
    rows: list[dict[str, str]] = []
    dropped = made = 0
    from tqdm.auto import tqdm

    for start in tqdm(
        range(0, len(pairs), batch_size), desc="Mining", disable=not show_progress_bar
    ):
        batch = pairs[start : start + batch_size]
        scores = np.asarray(scorer.score([query_texts[q] for q, _ in batch]), dtype=np.float64)
        for (query_id, positives), row_scores in zip(batch, scores, strict=True):
            indices = [position[d] for d in positives]
            for positive in positives:
                chosen = select_negatives(row_scores, indices, position[positive], settings, rng)
                negatives = [documents[document_ids[i]] for i in chosen]
                if negations:
                    twins = _twins(
                        query_texts[query_id],
                        documents[positive],
                        {documents[d] for d in positives},
                        negations,
                        f"{seed}:{query_id}:{positive}",
                    )
                    made += len(twins)
                    negatives = (
                        twins + negatives if output_format == "n-tuple" else negatives + twins
                    )
                new = _rows(
                    query_texts[query_id],
                    documents[positive],
                    negatives[:width],
                    width,
                    output_format,
                )
                dropped += not new
                rows.extend(new)
    if dropped:
        logger.warning(
            "%d (query, positive) pairs had too few candidates and were skipped", dropped
        )
    if negations:
        logger.info("%d negated twins added as negatives", made)
    if output_path is not None:
        write_jsonl(rows, output_path)
    return rows


def _twins(query: str, positive: str, positives: set[str], n: int, seed: str) -> list[str]:
    """Up to ``n`` negated twins of ``positive`` for ``query``, none of them a known positive."""
    from plait.training.negation import negated_twins

    twins = negated_twins(positive, n, query=query, seed=seed)
    return [twin.text for twin in twins if twin.text not in positives]


def _rows(
    query: str,
    positive: str,
    negatives: list[str],
    width: int,
    output_format: str,
) -> list[dict[str, str]]:
    if output_format == "triplet":
        return [{"query": query, "positive": positive, "negative": n} for n in negatives]
    if len(negatives) < width:
        return []
    if width == 1:
        return [{"query": query, "positive": positive, "negative": negatives[0]}]
    row = {"query": query, "positive": positive}
    row.update({f"negative_{i}": text for i, text in enumerate(negatives, start=1)})
    return [row]


def write_jsonl(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str]) -> None:
    """Write rows as JSON lines (UTF-8), creating the parent folder; replaces the file atomically."""
    from plait.indexes.files import atomic_write

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)

    def write(handle: BinaryIO) -> None:
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))

    atomic_write(path, write)
