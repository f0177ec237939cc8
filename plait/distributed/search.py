"""Scatter-gather PLAID search over shards that share one codebook.

The PLAID search driver (:mod:`plait.indexes.plaid.search.driver`) runs here over a
:class:`ShardSource`: a candidate source whose parts are the shards behind a :class:`ShardCaller`
(in-process workers or Ray actors, :mod:`.actors`). The driver evaluates every rule on the shards'
summed counts and cuts the merged candidate list exactly where a single index cuts its own, so the
answer equals that of one PLAID index holding all the documents (built with the same codebook,
documents inserted shard by shard: exact score ties are broken by shard, then by insertion order
within the shard). Per batch of queries, each stage is one call to every shard:

* ``candidates``: each shard answers with its own :class:`~plait.indexes.plaid.search.SegmentSource`
  (``whole=False``: its best ``ndocs`` by pruned centroid score, or its best ``n_full_scores``, with
  both scores, in position order); this module merges them in shard order (candidates are labelled
  ``(shard, segment, local index)``); queries the driver asks again (the small-``subset`` rule,
  ``ncells`` doubling) are sent again;
* ``exact``: every shard scores the documents of its own that the driver kept, and names them.

A shard that raises, dies or does not answer within the timeout makes the search raise
:class:`ShardUnavailableError` naming it, or, with ``allow_partial=True``, leaves that shard out and
marks each result ``partial`` (with the missing shards' names). Results are never silently short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from plait.indexes.base import SearchResult
from plait.indexes.plaid import Codebook, PLAIDSearchParams
from plait.indexes.plaid.search import (
    CandidateAsk,
    Cuts,
    Eligibility,
    ExactAsk,
    Found,
    Scored,
    run_search,
)


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
    """Calls one method on many shards at once; what a :class:`ShardSource` needs from a backend."""

    names: list[str]

    def call(self, method: str, args: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Run ``method(*args[s])`` on every shard ``s`` in ``args``.

        Returns a result or the exception (a :class:`ShardUnavailableError`) per shard. Never
        waits past its timeout.
        """
        ...


class ShardSource:
    """The shards behind ``shards`` as one candidate source of the PLAID search driver.

    ``route_subset`` splits a subset by shard. Shards that fail are recorded in :attr:`missing`
    (index -> reason) and asked nothing more, when ``allow_partial``; otherwise a failure raises.
    """

    def __init__(
        self,
        shards: ShardCaller,
        codebook: Codebook,
        route_subset: Callable[[list[str]], list[list[str]]],
        *,
        allow_partial: bool = False,
    ) -> None:
        self.shards = shards
        self.quantizer = codebook.quantizer
        self.route_subset = route_subset
        self.allow_partial = allow_partial
        self.missing: dict[int, str] = {}

    def eligibility(self, subset: list[str] | None) -> Eligibility:
        """Per-shard id lists; at most ``len(set(subset))`` documents are eligible."""
        if subset is None:
            return Eligibility(None, [None] * len(self.shards.names))
        return Eligibility(len(set(subset)), list(self.route_subset(subset)))

    def candidates(self, asks: list[CandidateAsk], cuts: Cuts) -> list[Found]:
        """Every live shard's candidates (each computes its own centroid scores), merged in shard order."""
        args = {
            shard: ([CandidateAsk(a.query, a.eligible[shard], a.cells) for a in asks], cuts)
            for shard in self._live()
        }
        answers = self._call("candidates", args)
        return [
            _merge([(shard, found[q]) for shard, found in answers.items()])
            for q in range(len(asks))
        ]

    def exact(self, asks: list[ExactAsk]) -> list[Scored]:
        """Each shard scores (and names) its own documents among ``refs``; a shard lost here drops out."""
        args = {}
        for shard in self._live():
            chosen = [a.refs[1:, a.refs[0] == shard] for a in asks]
            if any(c.shape[1] for c in chosen):  # shards with nothing to score are not asked
                args[shard] = ([a.query for a in asks], chosen)
        answers = self._call("exact", args)
        out = []
        for q, ask in enumerate(asks):
            ids = np.empty(ask.refs.shape[1], dtype=object)
            scores = np.full(ask.refs.shape[1], -np.inf, dtype=np.float32)
            for shard, per_query in answers.items():
                where = np.flatnonzero(ask.refs[0] == shard)
                shard_ids, shard_scores = per_query[q]
                ids[where] = shard_ids
                scores[where] = shard_scores
            out.append(Scored(scores, ids, lost=np.isin(ask.refs[0], list(self.missing))))
        return out

    def ids(self, labels: np.ndarray) -> list[str]:
        """Return the ids in ``labels`` (the shards named their documents in :meth:`exact`)."""
        return [str(i) for i in labels]

    # ------------------------------------------------------------------ failures
    def _live(self) -> list[int]:
        return [s for s in range(len(self.shards.names)) if s not in self.missing]

    def _call(self, method: str, args: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        """Results of the shards that answered, by shard; a failed shard raises, or is recorded as missing."""
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


def _merge(parts: list[tuple[int, Found]]) -> Found:
    """One query's candidates of several shards as one list: shard order, then each shard's order."""
    if not parts:
        return Found.nothing(3)
    refs = [np.vstack([np.full(f.refs.shape[1], s, dtype=np.int64), f.refs]) for s, f in parts]
    pruned, full = [f.pruned for _, f in parts], [f.full for _, f in parts]
    assert all(p is not None for p in pruned) and all(
        f is not None for f in full
    )  # shards give both
    return Found(
        sum(f.n_eligible for _, f in parts),
        sum(f.n_found for _, f in parts),
        np.concatenate(refs, axis=1).astype(np.int64),
        np.concatenate(pruned),  # type: ignore[arg-type]
        np.concatenate(full),  # type: ignore[arg-type]
    )


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
    """One sharded search with resolved ``params``: the PLAID search driver over a :class:`ShardSource`."""
    source = ShardSource(shards, codebook, route_subset, allow_partial=allow_partial)
    results = run_search(source, list(queries), k, params, subsets)
    missing = tuple(shards.names[s] for s in sorted(source.missing))
    return [
        ShardedSearchResult(r.ids, r.scores, partial=bool(missing), missing_shards=missing)
        for r in results
    ]
