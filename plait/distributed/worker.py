"""``ShardWorker``: one PLAID shard and the shard-side half of the scatter-gather search.

A worker opens its shard (a plain :class:`~plait.indexes.plaid.PLAID` index built with the sharded
index's :class:`~plait.indexes.plaid.Codebook`, memory-mapped) and answers two kinds of search
requests, each for a whole batch of queries (one round trip per stage, not per query):

* :meth:`ShardWorker.candidates`: PLAID stages 1-4 on this shard. For each query it returns every
  candidate the coordinator may need for the *global* cuts: with pruning, the shard's best ``ndocs``
  by pruned centroid score (any document in the global best ``ndocs`` is among them), each with its
  pruned and unpruned centroid scores; without pruning, its best ``n_full_scores`` by unpruned score.
  Candidates come in the shard's position order (segment, then local index), so ties are broken the
  way a single index breaks them.
* :meth:`ShardWorker.exact`: stage 5, decompression and exact MaxSim of the documents the
  coordinator kept, with their ids.

The same class runs in-process (no Ray, :class:`~plait.distributed.actors.LocalShards`) and as a
Ray actor (:class:`~plait.distributed.actors.RayShards`); it never imports Ray.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from plait.indexes.plaid import PLAID, Codebook
from plait.indexes.plaid.search import (
    Candidates,
    candidates_in_cells,
    centroid_scores,
    eligible_masks,
    exact_candidate_scores,
    gather,
    interaction_scores,
    pruning_mask,
    top_n,
)


@dataclass(frozen=True)
class StageRequest:
    """Settings shared by every query of one :meth:`ShardWorker.candidates` call (resolved params)."""

    ndocs: int
    n_full_scores: int
    threshold: float


@dataclass
class ShardCandidates:
    """One query's candidates on one shard, in position order.

    ``n_eligible``: live documents passing the subset; ``n_found``: candidates before any cut;
    ``seg``/``local``: positions; ``pruned``/``full``: centroid-interaction scores (``pruned`` is
    all zeros when the query does not prune).
    """

    n_eligible: int
    n_found: int
    seg: np.ndarray
    local: np.ndarray
    pruned: np.ndarray
    full: np.ndarray


class ShardWorker:
    """One shard: opens ``<folder>/<name>`` as a PLAID index sharing ``codebook``.

    ``stage_delay_s`` sleeps before each search stage: fault injection for tests (a slow shard).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        name: str,
        codebook: Codebook | None,
        *,
        nbits: int = 2,
        stage_delay_s: float = 0.0,
    ) -> None:
        self.name = name
        self.folder = os.fspath(folder)
        self.nbits = nbits
        self.index = PLAID(index_folder=folder, index_name=name, codebook=codebook, nbits=nbits)
        self.stage_delay_s = float(stage_delay_s)

    def use_codebook(self, codebook: Codebook) -> int:
        """Reopen the shard with ``codebook`` (once the sharded index has trained it)."""
        if self.index.codebook is None or not self.index.codebook.same_as(codebook):
            self.index = PLAID(index_folder=self.folder, index_name=self.name, codebook=codebook)
        return len(self.index)

    # ------------------------------------------------------------------ bookkeeping
    def ping(self) -> str:
        return self.name

    def count(self) -> int:
        return len(self.index)

    def documents_ids(self) -> list[str]:
        return self.index.documents_ids

    def contains(self, ids: Sequence[str]) -> list[bool]:
        return [i in self.index for i in ids]

    def stats(self) -> dict[str, Any]:
        return self.index.stats

    def reload(self) -> int:
        """Re-read the shard's manifest (after writes made by another process); returns the count."""
        self.index.refresh()
        return len(self.index)

    # ------------------------------------------------------------------ writes
    def add(
        self,
        ids: list[str],
        embeddings: list[np.ndarray],
        replace: bool,
        texts: list[str | None] | None = None,
    ) -> int:
        self.index.add_documents(ids, embeddings, replace=replace, texts=texts)
        return len(self.index)

    def remove(self, ids: list[str]) -> int:
        self.index.remove_documents(ids)
        return len(self.index)

    def embeddings(self, ids: list[str]) -> list[np.ndarray]:
        return list(self.index.get_documents_embeddings(ids))

    def documents(self, ids: list[str]) -> list[dict[str, Any]]:
        return list(self.index.get_documents(ids))

    # ------------------------------------------------------------------ search
    def candidates(
        self,
        queries: list[np.ndarray],
        cells: list[np.ndarray | None],
        subsets: list[list[str] | None],
        request: StageRequest,
    ) -> list[ShardCandidates]:
        """Stages 1-4 for each query; ``cells[q] is None`` means "every eligible document" (the
        small-subset rule); ``subsets[q]`` restricts to those ids (ids of other shards are ignored)."""
        self._delay()
        return [self._candidates_one(q, c, s, request) for q, c, s in zip(queries, cells, subsets, strict=True)]

    def _candidates_one(
        self, query: np.ndarray, cells: np.ndarray | None, subset: list[str] | None, request: StageRequest
    ) -> ShardCandidates:
        index = self.index
        segments = index.segments
        if index.quantizer is None or not len(index):
            empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            return ShardCandidates(0, 0, empty_i, empty_i, empty_f, empty_f)
        allowed = index._allowed(subset) if subset is not None else None
        masks = eligible_masks(segments, allowed)
        n_eligible = sum(int(m.sum()) for m in masks)
        if cells is None:
            cand = gather(masks, [np.flatnonzero(m) for m in masks])
        else:
            cand = candidates_in_cells(np.asarray(cells), segments, masks)
        n_found = len(cand.seg)
        scores = centroid_scores(query, index.quantizer)
        scores_t = np.ascontiguousarray(scores.T)
        keep = pruning_mask(scores, request.threshold)
        everything = np.ones(scores_t.shape[0], dtype=bool)
        if request.threshold > -np.inf and keep.any():
            pruned = interaction_scores(cand, segments, scores_t, keep)
            cand = pruned.take(np.sort(top_n(pruned.score, request.ndocs)))  # back to position order
            full = interaction_scores(cand, segments, scores_t, everything)
            pruned_scores = cand.score
        else:
            full = interaction_scores(cand, segments, scores_t, everything)
            full = full.take(np.sort(top_n(full.score, request.n_full_scores)))
            pruned_scores = np.zeros(len(full.seg), dtype=np.float32)
        return ShardCandidates(n_eligible, n_found, full.seg, full.local, pruned_scores, full.score)

    def exact(
        self, queries: list[np.ndarray], picks: list[tuple[np.ndarray, np.ndarray]]
    ) -> list[tuple[list[str], np.ndarray]]:
        """Stage 5: exact MaxSim of documents ``picks[q] = (seg, local)``; returns ``(ids, scores)``."""
        self._delay()
        index = self.index
        assert index.quantizer is not None and index.codec is not None or not any(len(p[0]) for p in picks)
        segments = index.segments
        out: list[tuple[list[str], np.ndarray]] = []
        for query, (seg, local) in zip(queries, picks, strict=True):
            if not len(seg):
                out.append(([], np.zeros(0, dtype=np.float32)))
                continue
            cand = Candidates(np.asarray(seg), np.asarray(local), np.zeros(len(seg), dtype=np.float32))
            scored = exact_candidate_scores(cand, segments, query, index.quantizer, index.codec)  # type: ignore[arg-type]
            ids = [segments[s].ids[j] for s, j in zip(scored.seg.tolist(), scored.local.tolist(), strict=True)]
            out.append((ids, scored.score))
        return out

    def set_stage_delay(self, seconds: float) -> None:
        """Fault injection for tests: sleep ``seconds`` before each search stage from now on."""
        self.stage_delay_s = float(seconds)

    def _delay(self) -> None:
        if self.stage_delay_s > 0:
            time.sleep(self.stage_delay_s)
