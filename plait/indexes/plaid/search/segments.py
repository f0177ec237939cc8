"""The candidate source over one PLAID index's segments, and :func:`search_one`.

:class:`SegmentSource` answers the :mod:`.driver`'s questions with the :mod:`.stages` over one
index's segments. :meth:`PLAID.search <plait.indexes.plaid.index.PLAID.search>` runs the driver over
one such source holding the whole index; a shard of a sharded index answers its coordinator with one
(``whole=False``: it is one part of the collection).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from plait.indexes.plaid.centroids import CentroidQuantizer
from plait.indexes.plaid.codec import Codec
from plait.indexes.plaid.search.driver import (
    CandidateAsk,
    Cuts,
    Eligibility,
    ExactAsk,
    Found,
    Scored,
    rank,
)
from plait.indexes.plaid.search.stages import (
    Candidates,
    PLAIDSearchParams,
    candidates_in_cells,
    eligible_masks,
    exact_candidate_scores,
    gather,
    interaction_scores,
    query_scores,
    top_n,
)
from plait.indexes.plaid.store import Segment


@dataclass(frozen=True)
class SegmentMasks:
    """A :class:`SegmentSource`'s eligibility handle: per-segment bool masks and their total."""

    masks: list[np.ndarray]
    count: int


class SegmentSource:
    """Candidates from ``segments`` (one index's; ``quantizer`` and ``codec`` encode them).

    ``allowed(subset)``: per-segment bool masks of the documents ``subset`` names (e.g.
    :meth:`PLAID.eligible <plait.indexes.plaid.index.PLAID.eligible>`); removed documents are never
    eligible. ``whole``: these segments hold every document the search runs over, so their counts are
    the totals the driver cuts on, and only the scores those cuts read are computed. A part of a
    split collection (a shard) passes ``whole=False``: it keeps its best ``ndocs`` by pruned score
    when the query prunes, else its best ``n_full_scores``, with both scores (see :class:`Found`).
    Candidates are labelled by ``(segment, local index)`` rows: ``refs`` of width 2.
    """

    def __init__(
        self,
        segments: list[Segment],
        quantizer: CentroidQuantizer,
        codec: Codec,
        allowed: Callable[[Any], list[np.ndarray]],
        *,
        whole: bool = True,
    ) -> None:
        self.segments = list(segments)
        self.quantizer = quantizer
        self.codec = codec
        self.allowed = allowed
        self.whole = whole

    def eligibility(self, subset: Any | None) -> Eligibility:
        """Return the exact count of documents eligible under ``subset``, with their masks."""
        masks = eligible_masks(self.segments, None if subset is None else self.allowed(subset))
        count = sum(int(m.sum()) for m in masks)
        return Eligibility(count, SegmentMasks(masks, count))

    def candidates(self, asks: list[CandidateAsk], cuts: Cuts) -> list[Found]:
        """Answer stages 2-4 of each ask over these segments (see :class:`SegmentSource`)."""
        return [self._candidates(ask, cuts) for ask in asks]

    def _candidates(self, ask: CandidateAsk, cuts: Cuts) -> Found:
        eligible: SegmentMasks = ask.eligible
        masks, segments = eligible.masks, self.segments
        if ask.cells is None:
            cand = gather(masks, [np.flatnonzero(m) for m in masks])
        else:
            cand = candidates_in_cells(np.asarray(ask.cells), segments, masks)
        n_found = len(cand.seg)
        scores = ask.scores
        if scores is None:  # computed here when the asker did not send them (a shard)
            scores = query_scores(ask.query, self.quantizer, cuts.threshold)
        everything = np.ones(scores.n_centroids, dtype=bool)
        pruned = full = None
        if scores.prunes(cuts.threshold) and (not self.whole or n_found > cuts.ndocs):
            cand = interaction_scores(cand, segments, scores.scores_t, scores.keep)
            cand = cand.take(np.sort(top_n(cand.score, cuts.ndocs)))  # back to position order
            pruned = cand.score
            if not self.whole or len(cand.seg) > cuts.n_full_scores:
                full = interaction_scores(cand, segments, scores.scores_t, everything).score
        elif not self.whole or n_found > cuts.n_full_scores:
            cand = interaction_scores(cand, segments, scores.scores_t, everything)
            cand = cand.take(np.sort(top_n(cand.score, cuts.n_full_scores)))
            full = cand.score
            if not self.whole:
                pruned = np.zeros(len(full), dtype=np.float32)
        return Found(eligible.count, n_found, np.stack([cand.seg, cand.local]), pruned, full)

    def exact(self, asks: list[ExactAsk]) -> list[Scored]:
        """Score each ask's candidates by exact MaxSim on their compressed tokens (stage 5)."""
        out = []
        for ask in asks:
            cand = Candidates(
                ask.refs[0], ask.refs[1], np.zeros(ask.refs.shape[1], dtype=np.float32)
            )
            scores_t = None if ask.scores is None else ask.scores.scores_t
            scored = exact_candidate_scores(
                cand, self.segments, ask.query, self.quantizer, self.codec, scores_t
            )
            out.append(Scored(scored.score, ask.refs))
        return out

    def ids(self, labels: np.ndarray) -> list[str]:
        """Return the document ids of ``(segment, local index)`` label columns."""
        segments = self.segments
        return [
            segments[s].ids[j] for s, j in zip(labels[0].tolist(), labels[1].tolist(), strict=True)
        ]


def search_one(
    query: np.ndarray,
    segments: list[Segment],
    quantizer: CentroidQuantizer,
    codec: Codec,
    params: PLAIDSearchParams,
    k: int,
    allowed: list[np.ndarray] | None,
) -> Candidates:
    """Search one query over ``segments`` with resolved ``params``; the best ``k``, best first.

    ``allowed``: per-segment bool masks (a subset) or ``None``. This is the :mod:`.driver` over a
    :class:`SegmentSource`.
    """
    source = SegmentSource(segments, quantizer, codec, lambda masks: masks)
    [hits] = rank(source, [query], k, params, None if allowed is None else [allowed])
    return Candidates(hits.labels[0], hits.labels[1], hits.scores)
