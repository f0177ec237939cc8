"""Negation: whether a retriever puts a document above its negated twin.

A negation set is a list of triples ``(query, positive, negative)`` where ``negative`` is
``positive`` with the polarity of one claim flipped (plait ships one, ``plait.data.load_negation_dev``;
``plait/data/NEGATION.md`` says how it was built). :func:`evaluate_negation` scores every query
against every document of the set, pooled into one corpus, with any retriever or scorer, and
reports

* **pair accuracy**: the share of triples whose positive scores above their negative (a tie
  counts one half, what a coin flip between the two would get);
* **mean rank** of the positive among all documents of the set (1 = first; ties share the
  average rank), and the share ranked first: the twins of the other triples, about the same
  topics, are the competition.

Both overall, per ``side`` (``document``: the query asks for the affirmed meaning; ``query``: the
query carries the negation and the positive satisfies it) and per ``domain``.

What can be evaluated (:func:`as_scorer`): a plait ColBERT model (exact MaxSim), a
sentence-transformers bi-encoder (cosine of normalised vectors), a retriever with the seed's text
API (``index`` / ``retrieve``, e.g. :class:`plait.baselines.BM25`, :class:`plait.baselines.BiEncoder`,
:class:`plait.retrieve.ColBERT`: every document is retrieved, one not returned scores ``-inf``),
or a scorer with ``fit(documents)`` / ``score(queries) -> (n_queries, n_documents)`` (the
scorers of :mod:`plait.training.scorers`). Scores come from one fit over the pooled documents,
so a corpus-dependent scorer (BM25's IDF) sees the whole set; for MaxSim and cosine a pair's two
scores are what scoring the pair alone gives.

>>> class Overlap:  # words shared with the query: "not" costs nothing, so twins tie
...     def fit(self, documents):
...         self.documents = [set(d.lower().split()) for d in documents]
...     def score(self, queries):
...         return [[len(set(q.lower().split()) & d) for d in self.documents] for q in queries]
>>> triples = [NegationTriple("t1", "is it safe", "it is safe", "it is not safe")]
>>> result = evaluate_negation(Overlap(), triples)
>>> result.pair_accuracy, result.ties, result.mean_rank
(0.5, 1, 1.5)
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "NegationResult",
    "NegationTriple",
    "TextScorer",
    "as_scorer",
    "evaluate_negation",
    "load_negation_triples",
]


@dataclass(frozen=True)
class NegationTriple:
    """One item of a negation set.

    ``side`` is ``"document"`` when the query asks for the affirmed meaning (``positive`` affirms
    it, ``negative`` negates it) and ``"query"`` when the query carries the negation (``positive``
    satisfies it, ``negative`` is its affirmed twin); ``domain`` groups the report.
    """

    id: str
    query: str
    positive: str
    negative: str
    side: str = "document"
    domain: str = ""


@runtime_checkable
class TextScorer(Protocol):
    """Scores every query against every document (higher is more similar)."""

    def fit(self, documents: Sequence[str]) -> None:
        """Index ``documents`` (called once)."""

    def score(self, queries: Sequence[str]) -> Any:
        """Return a ``(len(queries), n_documents)`` array-like of scores."""


def load_negation_triples(path: str | os.PathLike[str]) -> list[NegationTriple]:
    """Read a JSON-lines negation set: ``id``, ``query``, ``positive``, ``negative`` per line.

    ``side`` and ``domain`` are optional; other fields are ignored.

    Raises
    ------
    ValueError
        A line that is not JSON or lacks a field, naming the file and line.
    """
    triples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                triples.append(
                    NegationTriple(
                        str(row["id"]),
                        str(row["query"]),
                        str(row["positive"]),
                        str(row["negative"]),
                        str(row.get("side", "document")),
                        str(row.get("domain", "")),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise ValueError(f"{path} line {number}: not a negation triple ({error})") from None
    return triples


class _MaxSim:
    def __init__(self, model: Any, batch_size: int) -> None:
        self.model, self.batch_size = model, batch_size
        self.embeddings: list[Any] = []

    def fit(self, documents: Sequence[str]) -> None:
        self.embeddings = self.model.encode(
            list(documents), is_query=False, batch_size=self.batch_size, show_progress_bar=False
        )

    def score(self, queries: Sequence[str]) -> np.ndarray:
        from plait.evaluation.evaluators import maxsim_matrix

        return maxsim_matrix(self.model, queries, self.embeddings, self.batch_size).numpy()


class _Cosine:
    def __init__(self, model: Any, batch_size: int) -> None:
        self.model, self.batch_size = model, batch_size
        self.vectors = np.zeros((0, 0), dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def fit(self, documents: Sequence[str]) -> None:
        self.vectors = self.encode(documents)

    def score(self, queries: Sequence[str]) -> np.ndarray:
        return self.encode(queries) @ self.vectors.T


class _Retriever:
    def __init__(self, retriever: Any, batch_size: int) -> None:
        self.retriever, self.batch_size = retriever, batch_size
        self.n = 0

    def fit(self, documents: Sequence[str]) -> None:
        self.n = len(documents)
        ids = [str(i) for i in range(self.n)]
        self.retriever.index(list(documents), ids, batch_size=self.batch_size)

    def score(self, queries: Sequence[str]) -> np.ndarray:
        scores = np.full((len(queries), self.n), -np.inf)
        for row, hits in enumerate(self.retriever.retrieve(list(queries), top_k=self.n)):
            for hit in hits:
                scores[row, int(hit["id"])] = float(hit["score"])
        return scores


def as_scorer(system: Any, batch_size: int = 32) -> TextScorer:
    """Wrap ``system`` as a :class:`TextScorer` (see the module's list of what it takes).

    Raises
    ------
    TypeError
        ``system`` is none of the supported kinds.
    """
    if isinstance(system, TextScorer):
        return system
    if hasattr(system, "skiplist_mask"):  # a plait ColBERT model
        return _MaxSim(system, batch_size)
    if hasattr(system, "index") and hasattr(system, "retrieve"):
        return _Retriever(system, batch_size)
    if hasattr(system, "encode"):  # a sentence-transformers bi-encoder
        return _Cosine(system, batch_size)
    raise TypeError(
        "evaluate_negation needs a ColBERT model, a sentence-transformers model, a retriever "
        f"(index/retrieve) or a scorer (fit/score), got {type(system).__name__}"
    )


@dataclass
class NegationResult:
    """What :func:`evaluate_negation` measured (see the module for the definitions).

    ``groups`` holds the same three numbers and a count per ``side:<side>`` and
    ``domain:<domain>``; ``per_triple`` one record per triple (scores, rank, credit).
    """

    pair_accuracy: float
    mean_rank: float
    top1: float
    n_triples: int
    n_documents: int
    ties: int
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    per_triple: list[dict[str, Any]] = field(default_factory=list, repr=False)

    primary_metric = "pair_accuracy"

    def to_dict(self, per_triple: bool = False) -> dict[str, Any]:
        """Return a JSON-ready summary (the per-triple records only when asked)."""
        out = asdict(self)
        if not per_triple:
            out.pop("per_triple")
        return out

    def failures(self) -> list[dict[str, Any]]:
        """Return the triples whose negative scored at least as high as the positive, worst first."""
        lost = [t for t in self.per_triple if t["credit"] < 1]
        return sorted(lost, key=lambda t: t["positive_score"] - t["negative_score"])


def _summary(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    return {
        "pair_accuracy": float(np.mean([r["credit"] for r in records])),
        "mean_rank": float(np.mean([r["rank"] for r in records])),
        "top1": float(np.mean([r["rank"] == 1 for r in records])),
        "n": len(records),
    }


def evaluate_negation(
    system: Any, triples: Sequence[NegationTriple], *, batch_size: int = 32
) -> NegationResult:
    """Pair accuracy and rank of the positives of ``triples``, all documents in one corpus.

    Parameters
    ----------
    system
        A ColBERT model, a sentence-transformers model, a retriever or a scorer (:func:`as_scorer`).
    triples
        The negation set (e.g. ``plait.data.load_negation_dev()``).
    batch_size
        Texts encoded at once.

    Returns
    -------
    NegationResult
        Overall, per side and per domain.

    Raises
    ------
    ValueError
        No triples, or a triple whose positive and negative are the same text.
    """
    if not triples:
        raise ValueError("no negation triples to evaluate")
    same = [t.id for t in triples if t.positive == t.negative]
    if same:
        raise ValueError(f"triple {same[0]!r}: the positive and the negative are the same text")
    documents = list(dict.fromkeys(text for t in triples for text in (t.positive, t.negative)))
    where = {text: i for i, text in enumerate(documents)}
    scorer = as_scorer(system, batch_size)
    scorer.fit(documents)
    scores = np.asarray(scorer.score([t.query for t in triples]), dtype=np.float64)
    records = []
    for triple, row in zip(triples, scores, strict=True):
        positive, negative = row[where[triple.positive]], row[where[triple.negative]]
        credit = 1.0 if positive > negative else 0.5 if positive == negative else 0.0
        rank = 1 + np.sum(row > positive) + 0.5 * (np.sum(row == positive) - 1)
        records.append(
            {
                "id": triple.id,
                "side": triple.side,
                "domain": triple.domain,
                "query": triple.query,
                "positive": triple.positive,
                "negative": triple.negative,
                "positive_score": float(positive),
                "negative_score": float(negative),
                "credit": credit,
                "rank": float(rank),
            }
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(f"side:{record['side']}", []).append(record)
        if record["domain"]:
            groups.setdefault(f"domain:{record['domain']}", []).append(record)
    overall = _summary(records)
    return NegationResult(
        pair_accuracy=overall["pair_accuracy"],
        mean_rank=overall["mean_rank"],
        top1=overall["top1"],
        n_triples=len(records),
        n_documents=len(documents),
        ties=sum(r["credit"] == 0.5 for r in records),
        groups={name: _summary(members) for name, members in sorted(groups.items())},
        per_triple=records,
    )
