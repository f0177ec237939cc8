"""The PLAID search driver: the control flow of a search, written once, over a candidate source.

Per query (batched: each question goes to the source for every pending query at once, so a source
behind remote calls pays one round trip per stage, not per query):

1. stage 1, :func:`~.stages.query_scores` against the centroids every part of the source shares;
2. candidates: the eligible documents under the top ``ncells`` centroids of any query token. While
   fewer than ``min(k, n_eligible)`` are found, ``ncells`` doubles (until every centroid is probed),
   so a search returns ``k`` results whenever ``k`` eligible documents exist. The small-subset rule:
   with a ``subset`` and ``n_eligible <= ndocs`` every eligible document is a candidate (decided
   before any probe when the source's :class:`Eligibility` bound shows it, else from the count the
   first probe returns);
3. pruned centroid interaction, when the query prunes (:meth:`~.stages.QueryScores.prunes`) and more
   than ``ndocs`` candidates were found -> the best ``ndocs``;
4. unpruned centroid interaction, when more than ``n_full_scores`` are left -> the best
   ``n_full_scores``;
5. exact MaxSim of the survivors -> the best ``k``.

Every condition is evaluated on the source's total counts, and every cut is :func:`~.stages.top_n`
over the candidates in the order the previous step left them (position order before the first cut),
so ties are broken by position and the answer does not depend on how a source splits its documents.

A :class:`CandidateSource` answers the questions. Two exist: the segments of one PLAID index
(:class:`~.segments.SegmentSource`) and the shards behind a ``ShardCaller``
(:class:`plait.distributed.search.ShardSource`, one :class:`~.segments.SegmentSource` per shard). A
source may drop candidates before answering only where no cut of this driver could keep them: each
part keeps its best ``ndocs`` by pruned score (when the query prunes) or its best ``n_full_scores``
by unpruned score, and answers in position order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from plait.indexes.base import SearchResult
from plait.indexes.plaid.centroids import CentroidQuantizer
from plait.indexes.plaid.search.stages import (
    PLAIDSearchParams,
    QueryScores,
    probe_cells,
    query_scores,
    top_n,
)


@dataclass(frozen=True)
class Cuts:
    """The resolved knobs every candidate question of one search shares."""

    ndocs: int
    n_full_scores: int
    threshold: float


@dataclass(frozen=True)
class Eligibility:
    """What a source knows of the documents one query may return before anything is probed.

    ``at_most``: no more documents than this are eligible (the exact count where the source counted
    them; ``None``: unknown). ``handle``: the source's own form of the restriction (per-segment masks,
    per-shard id lists), handed back to it in every :class:`CandidateAsk`.
    """

    at_most: int | None
    handle: Any


@dataclass(frozen=True)
class CandidateAsk:
    """Stages 2-4 for one query: the eligible candidates in ``cells``.

    ``cells`` ``None`` asks for every eligible document. ``scores``: the query's stage-1 products
    when the asker has them (else the source computes them).
    """

    query: np.ndarray
    eligible: Any
    cells: np.ndarray | None
    scores: QueryScores | None = None


@dataclass(frozen=True)
class Found:
    """A source's answer to a :class:`CandidateAsk`.

    ``n_eligible``: eligible documents; ``n_found``: candidates before any cut; ``refs``: ``(width,
    n)`` int64 positions of the candidates kept (position order; the source's own coordinates, e.g.
    segment and local index); ``pruned`` / ``full``: their pruned and unpruned centroid-interaction
    scores. A source holding every document (its counts are the totals) leaves ``None`` where the
    driver's cuts will not read them; a part of a split source always gives both (``pruned`` zeros
    when the query does not prune).
    """

    n_eligible: int
    n_found: int
    refs: np.ndarray
    pruned: np.ndarray | None
    full: np.ndarray | None

    @classmethod
    def nothing(cls, width: int) -> Found:
        """No eligible document (an empty part)."""
        none = np.zeros(0, dtype=np.float32)
        return cls(0, 0, np.zeros((width, 0), dtype=np.int64), none, none)


@dataclass(frozen=True)
class ExactAsk:
    """Stage 5 for one query: exact MaxSim of the candidates ``refs`` (a :class:`Found`'s columns)."""

    query: np.ndarray
    refs: np.ndarray
    scores: QueryScores | None = None


@dataclass(frozen=True)
class Scored:
    """Exact scores of an :class:`ExactAsk`'s ``refs``, in their order.

    ``labels``: an array whose last axis runs over those documents, naming them for
    :meth:`CandidateSource.ids`; ``lost``: True where a document could not be scored (its part
    failed and the search may be partial).
    """

    scores: np.ndarray
    labels: np.ndarray
    lost: np.ndarray | None = None


@dataclass(frozen=True)
class Ranked:
    """One query's best documents, best first: ``labels[..., i]`` scored ``scores[i]``."""

    labels: np.ndarray
    scores: np.ndarray


class CandidateSource(Protocol):
    """The documents a search runs over, as the driver asks about them (see the module docstring)."""

    quantizer: CentroidQuantizer  # the centroids every part shares: stage 1 and the probed cells

    def eligibility(self, subset: Any | None) -> Eligibility:
        """How one query is restricted to ``subset`` (``None``: every live document)."""
        ...

    def candidates(self, asks: list[CandidateAsk], cuts: Cuts) -> list[Found]:
        """Stages 2-4 of each ask: counts, kept candidates and their approximate scores."""
        ...

    def exact(self, asks: list[ExactAsk]) -> list[Scored]:
        """Stage 5 of each ask."""
        ...

    def ids(self, labels: np.ndarray) -> list[str]:
        """Return the document ids of ``labels`` (:attr:`Scored.labels` at the kept positions)."""
        ...


@dataclass
class _Query:
    """The driver's state of one query."""

    vector: np.ndarray
    restricted: bool  # a subset was given
    eligible: Eligibility
    scores: QueryScores
    prune: bool
    n_cells: int
    all_eligible: bool
    found: Found | None = None

    def ask(self) -> CandidateAsk:
        """Return this query's next candidate question (its cells, or every eligible document)."""
        cells = None if self.all_eligible else probe_cells(self.scores.scores, self.n_cells)
        return CandidateAsk(self.vector, self.eligible.handle, cells, self.scores)


def rank(
    source: CandidateSource,
    queries: Sequence[np.ndarray],
    k: int,
    params: PLAIDSearchParams,
    subsets: Sequence[Any | None] | None = None,
) -> list[Ranked]:
    """Return the best ``k`` documents of each query, as the source labels them.

    ``params`` must be resolved (:meth:`~.stages.PLAIDSearchParams.resolve`); ``subsets``: one per
    query (or ``None``).
    """
    ncells, ndocs, threshold = params.ncells, params.ndocs, params.centroid_score_threshold
    n_full = params.n_full_scores
    if ncells is None or ndocs is None or n_full is None or threshold is None:
        raise ValueError(
            "the PLAID search driver needs resolved parameters (PLAIDSearchParams.resolve)"
        )
    cuts = Cuts(ndocs, n_full, threshold)
    states = []
    for q, query in enumerate(queries):
        subset = None if subsets is None else subsets[q]
        scores = query_scores(query, source.quantizer, threshold)
        eligible = source.eligibility(subset)
        small = subset is not None and eligible.at_most is not None and eligible.at_most <= ndocs
        n_cells = min(ncells, scores.n_centroids)
        prune = scores.prunes(threshold)
        states.append(_Query(query, subset is not None, eligible, scores, prune, n_cells, small))
    if not states:
        return []
    pending = list(range(len(states)))
    while pending:
        answers = source.candidates([states[i].ask() for i in pending], cuts)
        for i, found in zip(pending, answers, strict=True):
            states[i].found = found
        pending = [i for i in pending if _probe_again(states[i], k, ndocs)]
    asks = [ExactAsk(state.vector, _cut(state, cuts), state.scores) for state in states]
    return [_best(scored, k) for scored in source.exact(asks)]


def run_search(
    source: CandidateSource,
    queries: Sequence[np.ndarray],
    k: int,
    params: PLAIDSearchParams,
    subsets: Sequence[Any | None] | None = None,
) -> list[SearchResult]:
    """:func:`rank`, with the ids of the documents found."""
    return [
        SearchResult(source.ids(r.labels), r.scores)
        for r in rank(source, queries, k, params, subsets)
    ]


def _probe_again(state: _Query, k: int, ndocs: int) -> bool:
    """Apply the candidate rules to the counts found; True when the query must be asked again."""
    found = state.found
    assert found is not None
    if state.all_eligible:
        return False
    if state.restricted and found.n_eligible <= ndocs:  # small subset: every eligible document
        state.all_eligible = True
        return True
    if found.n_found < min(k, found.n_eligible) and state.n_cells < state.scores.n_centroids:
        state.n_cells *= 2
        return True
    return False


def _cut(state: _Query, cuts: Cuts) -> np.ndarray:
    """Stages 3-4: ``refs`` of the documents to score exactly, in the order of the last cut."""
    found = state.found
    assert found is not None
    order = np.arange(found.refs.shape[1])
    n = found.n_found
    if n > cuts.ndocs and state.prune:
        assert found.pruned is not None
        order = order[top_n(found.pruned[order], cuts.ndocs)]
        n = len(order)
    if n > cuts.n_full_scores:
        assert found.full is not None
        order = order[top_n(found.full[order], cuts.n_full_scores)]
    return found.refs[:, order]


def _best(scored: Scored, k: int) -> Ranked:
    """Stage 5's cut: the best ``k`` of the documents that were scored."""
    if scored.lost is None:
        best = top_n(scored.scores, k)
    else:
        alive = np.flatnonzero(~scored.lost)
        best = alive[top_n(scored.scores[alive], k)]
    return Ranked(scored.labels[..., best], scored.scores[best])
