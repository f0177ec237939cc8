"""The negation probe of ``plait compare``: which systems rank a document's negation above it.

For judged queries, one judged-relevant document each (the highest grade first), plait's twin
generator (:func:`plait.training.negation.negated_twins`) writes a *negated twin*: the document
with the polarity of one claim flipped, in the sentence that matches the query ("the drug **is**
effective" -> "the drug **is not** effective"). The twins are added to a copy of the corpus used
for this probe only; every probed system scores each probe query against that whole copy, and
the report gives per system

* how often the twin ranks above the original (a tie counts one half): a system that reads
  polarity keeps the original above its negation;
* the mean rank of the original and of the twin in the corpus copy.

Probed: BM25 (a fresh index of the corpus copy, the baseline's settings), the bi-encoder, exact
ColBERT (both reuse their corpus encodings; only the twins are encoded) and, when it ran, the
cross-encoder (its two scores per pair; it ranks only what its first stage proposes, so it has
no rank here). Documents without a documented negation pattern in a sentence that shares a word
with the query get no twin and are not probed. The per-pair outcomes of two systems are compared
with the comparison's paired test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plait.compare.results import SignificanceTest
from plait.compare.stats import paired_test

__all__ = ["NEGATION_SYSTEMS", "NegationProbe", "ProbePair", "negation_probe", "probe_pairs"]

#: Systems the probe scores, in report order.
NEGATION_SYSTEMS: tuple[str, ...] = ("bm25", "biencoder", "colbert", "cross-encoder")
N_EXAMPLES = 3


@dataclass(frozen=True)
class ProbePair:
    """One probe: a query, a judged-relevant document and its negated twin."""

    query_id: str
    query: str
    document_id: str
    document: str
    twin: str
    pattern: str
    before: str
    after: str


@dataclass
class NegationProbe:
    """What the probe measured.

    ``systems`` maps a system name to ``{"label", "twin_above", "ties", "original_rank",
    "twin_rank"}`` (ranks ``nan`` where the system does not rank the corpus); ``outcomes`` holds
    each system's per-pair credit (1: the twin above the original, 1/2: a tie, 0: below);
    ``examples`` a few pairs with every system's scores and ranks.
    """

    n_pairs: int
    n_documents: int
    n_without_twin: int
    systems: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, list[float]] = field(default_factory=dict, repr=False)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def test(self, name: str, other: str, stat_test: str = "student") -> SignificanceTest | None:
        """Paired test of how often ``name`` puts the twin above, minus ``other``."""
        if name not in self.outcomes or other not in self.outcomes:
            return None
        return paired_test(self.outcomes[other], self.outcomes[name], stat_test)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary."""
        return {
            "n_pairs": self.n_pairs,
            "n_documents": self.n_documents,
            "n_without_twin": self.n_without_twin,
            "systems": self.systems,
            "examples": self.examples,
        }


def probe_pairs(
    queries: Sequence[dict[str, str]],
    documents: dict[str, str],
    qrels: dict[str, dict[str, int]],
    limit: int,
) -> tuple[list[ProbePair], int]:
    """Return up to ``limit`` probe pairs and the number of queries without one.

    One pair per query, in query order: its judged-relevant documents, highest grade first, until
    one has a twin; a query whose relevant documents have none counts as without.
    """
    from plait.training.negation import negated_twins

    pairs, missing = [], 0
    for query in queries:
        judged = qrels.get(query["id"], {})
        relevant = sorted((d for d, g in judged.items() if g > 0 and d in documents),
                          key=lambda d: (-judged[d], d))  # fmt: skip
        if not relevant:
            continue
        for doc_id in relevant:
            twins = negated_twins(
                documents[doc_id], 1, query=query["text"], seed=f"{query['id']}:{doc_id}"
            )
            if twins:
                twin = twins[0]
                pairs.append(
                    ProbePair(query["id"], query["text"], doc_id, documents[doc_id], twin.text,
                              twin.pattern, twin.before.strip(), twin.after.strip())
                )  # fmt: skip
                break
        else:
            missing += 1
        if len(pairs) == limit:
            break
    return pairs, missing


def _ranks(scores: np.ndarray, column: np.ndarray) -> np.ndarray:
    """Rank (1 = best, ties share the average) of ``scores[i, column[i]]`` in each row."""
    chosen = scores[np.arange(len(column)), column][:, None]
    return 1 + np.sum(scores > chosen, axis=1) + 0.5 * (np.sum(scores == chosen, axis=1) - 1)


def _colbert_scores(session: Any, texts: list[str], twins: list[str], queries: list[str]) -> Any:
    from plait.compare.systems import StoredEncoder
    from plait.evaluation.evaluators import maxsim_matrix

    known = session.corpus_embeddings()
    extra = [t for t in dict.fromkeys(twins) if t not in known]
    encoded = session.model.encode(extra, is_query=False, show_progress_bar=False) if extra else []
    documents = {**known, **dict(zip(extra, encoded, strict=True))}
    stand_in = StoredEncoder(session.model, documents, session.query_memo)
    matrix = [documents[t] for t in texts + twins]
    return maxsim_matrix(stand_in, queries, matrix, session.settings.batch_size).numpy()


def _biencoder_scores(session: Any, texts: list[str], twins: list[str], queries: list[str]) -> Any:
    from plait.baselines.biencoder import normalized_vectors

    memo = session.retrievers["biencoder"].model  # the DocumentMemo: corpus vectors known
    known = {**memo.known, **memo.encoded}
    extra = [t for t in dict.fromkeys(texts + twins) if t not in known]
    if extra:
        vectors = normalized_vectors(memo, extra, session.settings.batch_size)
        known.update(zip(extra, vectors, strict=True))
    documents = np.stack([known[t] for t in texts + twins])
    return normalized_vectors(memo, queries, session.settings.batch_size) @ documents.T


def _bm25_scores(session: Any, texts: list[str], twins: list[str], queries: list[str]) -> Any:
    from plait.training.scorers import BM25Scorer

    scorer = BM25Scorer()
    scorer.fit(texts + twins)
    return scorer.score(queries)


def _cross_encoder_pairs(session: Any, pairs: list[ProbePair]) -> tuple[np.ndarray, np.ndarray]:
    model = session.retrievers["cross-encoder"].model
    inputs = [(p.query, p.document) for p in pairs] + [(p.query, p.twin) for p in pairs]
    scores = np.asarray(
        model.predict(inputs, batch_size=session.settings.batch_size, show_progress_bar=False),
        dtype=np.float64,
    ).reshape(len(inputs), -1)[:, -1]
    return scores[: len(pairs)], scores[len(pairs) :]


_FULL_SCORERS = {"bm25": _bm25_scores, "biencoder": _biencoder_scores, "colbert": _colbert_scores}


def negation_probe(session: Any, limit: int) -> NegationProbe | None:
    """Run the probe on a comparison's session (``None`` without judgements or twins)."""
    from plait.compare.systems import LABELS

    data = session.data
    if not data.has_qrels or limit < 1:
        return None
    documents = dict(zip(session.ids, session.texts, strict=True))
    pairs, missing = probe_pairs(data.queries, documents, data.qrels, limit)
    names = [n for n in NEGATION_SYSTEMS if n in session.systems and session.wanted(n)]
    if not pairs or not names:
        return None
    session.log(f"negation probe: {len(pairs)} negated twins of judged-relevant documents")
    texts, twins = list(session.texts), [p.twin for p in pairs]
    position = {doc_id: i for i, doc_id in enumerate(session.ids)}
    original = np.array([position[p.document_id] for p in pairs])
    twin_column = len(texts) + np.arange(len(pairs))
    probe = NegationProbe(len(pairs), len(texts) + len(twins), missing)
    details: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
    for name in names:
        if name == "cross-encoder":
            mine, theirs = _cross_encoder_pairs(session, pairs)
            ranks = np.full(len(pairs), np.nan)
            details[name] = (mine, theirs, ranks, ranks)
        else:
            scores = np.asarray(
                _FULL_SCORERS[name](session, texts, twins, [p.query for p in pairs])
            )
            rows = np.arange(len(pairs))
            details[name] = (
                scores[rows, original],
                scores[rows, twin_column],
                _ranks(scores, original),
                _ranks(scores, twin_column),
            )
        mine, theirs, rank, twin_rank = details[name]
        credit = np.where(theirs > mine, 1.0, np.where(theirs == mine, 0.5, 0.0))
        probe.outcomes[name] = credit.tolist()
        probe.systems[name] = {
            "label": LABELS[name],
            "twin_above": float(credit.mean()),
            "ties": int(np.sum(credit == 0.5)),
            "original_rank": float(np.mean(rank)),
            "twin_rank": float(np.mean(twin_rank)),
        }
    probe.examples = _examples(pairs, details, probe.outcomes)
    return probe


def _examples(
    pairs: list[ProbePair],
    details: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
    outcomes: dict[str, list[float]],
) -> list[dict[str, Any]]:
    """Pick a few pairs: where the systems disagree most, else where ColBERT put the twin above."""
    names = list(outcomes)
    spread = np.ptp(np.array([outcomes[n] for n in names]), axis=0) if len(names) > 1 else None
    fooled = np.array(outcomes.get("colbert", outcomes[names[0]]))
    key = fooled + (2 * spread if spread is not None else 0)
    chosen = [int(i) for i in np.argsort(-key, kind="stable")[:N_EXAMPLES]]
    out = []
    for i in chosen:
        pair = pairs[i]
        out.append(
            {
                "query_id": pair.query_id,
                "query": pair.query,
                "document_id": pair.document_id,
                "pattern": pair.pattern,
                "before": pair.before,
                "after": pair.after,
                "systems": {
                    name: {
                        "original_score": float(details[name][0][i]),
                        "twin_score": float(details[name][1][i]),
                        "original_rank": float(details[name][2][i]),
                        "twin_rank": float(details[name][3][i]),
                        "twin_above": outcomes[name][i],
                    }
                    for name in names
                },
            }
        )
    return out
