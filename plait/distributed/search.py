"""Scatter-gather PLAID search over shards that share one codebook.

The coordinator runs PLAID's stages (:mod:`plait.indexes.plaid.search`) across shards and cuts the
merged candidate list exactly where a single index cuts its own list, with every condition evaluated
on global counts, so the answer equals that of one PLAID index holding all the documents (built with
the same codebook, documents inserted shard by shard: exact score ties are broken by shard, then by
insertion order within the shard). Per batch of queries:

1. the coordinator picks the probed cells from the codebook's centroid scores (shards share them);
2. every shard returns its candidates with centroid-interaction scores
   (:meth:`~plait.distributed.worker.ShardWorker.candidates`); queries whose global counts call for
   another probe (the small-``subset`` rule, or doubling ``ncells`` while fewer than
   ``min(k, n_eligible)`` candidates were found) are asked again;
3. the coordinator merges and cuts at ``ndocs`` (pruned pass) and ``n_full_scores`` (unpruned pass);
4. every shard scores its surviving documents exactly (:meth:`~.worker.ShardWorker.exact`); the
   coordinator keeps the top ``k``.

A shard that raises, dies or does not answer within the timeout makes the search raise
:class:`ShardUnavailableError` naming it, or, with ``allow_partial=True``, leaves that shard out and
marks each result ``partial`` (with the missing shards' names). Results are never silently short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from plait.distributed.worker import ShardCandidates, StageRequest
from plait.indexes.base import SearchResult
from plait.indexes.plaid import Codebook, PLAIDSearchParams
from plait.indexes.plaid.search import centroid_scores, probe_cells, pruning_mask, top_n


class ShardUnavailableError(RuntimeError):
    """A shard failed, died or timed out. ``shard`` names it; the cause is chained."""

    def __init__(self, shard: str, reason: str) -> None:
        super().__init__(
            f"shard {shard!r} is unavailable: {reason} (pass allow_partial=True to get results from the "
            "other shards, marked partial)"
        )
        self.shard = shard
        self.reason = reason


@dataclass(frozen=True)
class ShardedSearchResult(SearchResult):
    """A :class:`SearchResult` that says whether every shard answered.

    ``partial`` is True when some shards were left out (only with ``allow_partial=True``);
    ``missing_shards`` names them. A partial result may miss documents of those shards.
    """

    partial: bool = False
    missing_shards: tuple[str, ...] = field(default=())


class ShardCaller(Protocol):
    """Calls one method on many shards at once; what the coordinator needs from a backend."""

    names: list[str]

    def call(self, method: str, args: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Run ``method(*args[s])`` on every shard ``s`` in ``args``; returns a result or the
        exception (a :class:`ShardUnavailableError`) per shard. Never waits past its timeout."""
        ...


@dataclass
class _Query:
    """Coordinator state of one query."""

    vector: np.ndarray
    subset: list[str] | None
    shard_subsets: list[list[str] | None]
    scores: np.ndarray
    n_cells: int
    all_eligible: bool
    prune: bool
    found: list[ShardCandidates | None] = field(default_factory=list)


class Coordinator:
    """Runs one sharded search (see the module docstring); ``route_subset`` splits a subset by shard."""

    def __init__(
        self,
        shards: ShardCaller,
        codebook: Codebook,
        route_subset: Callable[[list[str]], list[list[str]]],
        *,
        allow_partial: bool = False,
    ) -> None:
        self.shards = shards
        self.codebook = codebook
        self.route_subset = route_subset
        self.allow_partial = allow_partial
        self.missing: dict[int, str] = {}

    def search(
        self, queries: list[np.ndarray], k: int, subsets: list[list[str]] | None, params: PLAIDSearchParams
    ) -> list[ShardedSearchResult]:
        """``params`` must be resolved (:meth:`PLAIDSearchParams.resolve`)."""
        assert params.ndocs is not None and params.n_full_scores is not None
        assert params.ncells is not None and params.centroid_score_threshold is not None
        request = StageRequest(params.ndocs, params.n_full_scores, params.centroid_score_threshold)
        states = [self._start(q, None if subsets is None else subsets[i], params) for i, q in enumerate(queries)]
        pending = list(range(len(states)))
        while pending:
            self._gather_candidates([states[i] for i in pending], request)
            pending = [i for i in pending if self._probe_again(states[i], k, params.ndocs)]
        picks = [self._cut(state, request) for state in states]
        return self._exact(states, picks, k)

    # ------------------------------------------------------------------ stages
    def _start(self, query: np.ndarray, subset: list[str] | None, params: PLAIDSearchParams) -> _Query:
        scores = centroid_scores(query, self.codebook.quantizer)
        assert params.ncells is not None and params.ndocs is not None
        threshold = float(params.centroid_score_threshold)  # type: ignore[arg-type]
        prune = threshold > -np.inf and bool(pruning_mask(scores, threshold).any())
        n_cells = min(params.ncells, scores.shape[1])
        shard_subsets: list[list[str] | None] = [None] * len(self.shards.names)
        if subset is not None:
            shard_subsets = list(self.route_subset(subset))
        small = subset is not None and len(set(subset)) <= params.ndocs  # n_eligible <= ndocs for sure
        return _Query(query, subset, shard_subsets, scores, n_cells, small, prune)

    def _gather_candidates(self, states: list[_Query], request: StageRequest) -> None:
        cells = [None if s.all_eligible else probe_cells(s.scores, s.n_cells) for s in states]
        args = {
            shard: ([s.vector for s in states], cells, [s.shard_subsets[shard] for s in states], request)
            for shard in self._live()
        }
        answers = self._call("candidates", args)
        for q, state in enumerate(states):
            state.found = [answers[shard][q] if shard in answers else None for shard in range(len(self.shards.names))]

    def _probe_again(self, state: _Query, k: int, ndocs: int) -> bool:
        """The single index's conditions on global counts: small subset -> every eligible document;
        too few candidates -> double ``ncells``. True when the query must be asked again."""
        if state.all_eligible:
            return False
        found = [f for f in state.found if f is not None]
        n_eligible = sum(f.n_eligible for f in found)
        n_found = sum(f.n_found for f in found)
        if state.subset is not None and n_eligible <= ndocs:
            state.all_eligible = True
            return True
        n_centroids = state.scores.shape[1]
        if n_found < min(k, n_eligible) and state.n_cells < n_centroids:
            state.n_cells *= 2
            return True
        return False

    def _cut(self, state: _Query, request: StageRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Merged ``(shard, seg, local)`` of the documents to score exactly, in the single index's order."""
        parts = [(s, f) for s, f in enumerate(state.found) if f is not None]
        shard = np.concatenate([np.full(len(f.seg), s, dtype=np.int64) for s, f in parts] or [np.zeros(0, np.int64)])
        seg = np.concatenate([f.seg for _, f in parts] or [np.zeros(0, np.int64)]).astype(np.int64)
        local = np.concatenate([f.local for _, f in parts] or [np.zeros(0, np.int64)]).astype(np.int64)
        pruned = np.concatenate([f.pruned for _, f in parts] or [np.zeros(0, np.float32)])
        full = np.concatenate([f.full for _, f in parts] or [np.zeros(0, np.float32)])
        order = np.arange(len(shard))
        n = sum(f.n_found for _, f in parts)
        if n > request.ndocs and state.prune:
            order = order[top_n(pruned[order], request.ndocs)]
            n = len(order)
        if n > request.n_full_scores:
            order = order[top_n(full[order], request.n_full_scores)]
        return shard[order], seg[order], local[order]

    def _exact(
        self, states: list[_Query], picks: list[tuple[np.ndarray, np.ndarray, np.ndarray]], k: int
    ) -> list[ShardedSearchResult]:
        args = {}
        for shard in self._live():
            chosen = [(seg[sh == shard], local[sh == shard]) for sh, seg, local in picks]
            if any(len(c[0]) for c in chosen):  # shards with nothing to score are not asked
                args[shard] = ([s.vector for s in states], chosen)
        answers = self._call("exact", args)
        results = []
        for q, (sh, _, _) in enumerate(picks):
            ids = np.empty(len(sh), dtype=object)
            scores = np.full(len(sh), -np.inf, dtype=np.float32)
            for shard, per_query in answers.items():
                where = np.flatnonzero(sh == shard)
                shard_ids, shard_scores = per_query[q]
                ids[where] = shard_ids
                scores[where] = shard_scores
            alive = np.flatnonzero(~np.isin(sh, list(self.missing)))  # a shard lost here drops out
            best = alive[top_n(scores[alive], k)]
            missing = tuple(self.shards.names[s] for s in sorted(self.missing))
            results.append(
                ShardedSearchResult([str(i) for i in ids[best]], scores[best], partial=bool(missing), missing_shards=missing)
            )
        return results

    # ------------------------------------------------------------------ failures
    def _live(self) -> list[int]:
        return [s for s in range(len(self.shards.names)) if s not in self.missing]

    def _call(self, method: str, args: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Results of the shards that answered; a failed shard raises, or is recorded as missing."""
        answers = self.shards.call(method, args)
        ok = {}
        for shard, answer in sorted(answers.items()):
            if isinstance(answer, BaseException):
                if not self.allow_partial:
                    raise answer
                self.missing[shard] = str(answer)
            else:
                ok[shard] = answer
        return ok


def scatter_gather(
    shards: ShardCaller,
    codebook: Codebook,
    queries: Sequence[np.ndarray],
    k: int,
    *,
    subsets: list[list[str]] | None,
    params: PLAIDSearchParams,
    route_subset: Callable[[list[str]], list[list[str]]],
    allow_partial: bool = False,
) -> list[ShardedSearchResult]:
    """One sharded search with resolved ``params`` (see the module docstring)."""
    coordinator = Coordinator(shards, codebook, route_subset, allow_partial=allow_partial)
    return coordinator.search(list(queries), k, subsets, params)
