"""``ShardWorker``: one PLAID shard, answering the shard side of the scatter-gather search.

A worker opens its shard (a plain :class:`~plait.indexes.plaid.PLAID` index built with the sharded
index's :class:`~plait.indexes.plaid.Codebook`, memory-mapped) and answers the two search questions
of :class:`plait.distributed.search.ShardSource`, each for a whole batch of queries (one round trip
per stage, not per query), with a :class:`~plait.indexes.plaid.search.SegmentSource` over its
segments (``whole=False``: the shard is one part of the collection):

* :meth:`ShardWorker.candidates`: stages 2-4 (counts, kept candidates and their centroid scores,
  see :class:`~plait.indexes.plaid.search.Found`);
* :meth:`ShardWorker.exact`: stage 5, exact MaxSim of the documents the driver kept, with their ids.

The same class runs in-process (no Ray, :class:`~plait.distributed.actors.LocalShards`) and as a
Ray actor (:class:`~plait.distributed.actors.RayShards`); it never imports Ray.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from plait.indexes.plaid import PLAID, Codebook
from plait.indexes.plaid.search import CandidateAsk, Cuts, ExactAsk, Found, SegmentSource


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
        """Return the shard's name (a liveness check)."""
        return self.name

    def count(self) -> int:
        """Return the number of live documents in the shard."""
        return len(self.index)

    def documents_ids(self) -> list[str]:
        """Return the ids of the shard's live documents, in insertion order."""
        return self.index.documents_ids

    def contains(self, ids: Sequence[str]) -> list[bool]:
        """Return, for each of ``ids``, whether the shard holds it."""
        return [i in self.index for i in ids]

    def stats(self) -> dict[str, Any]:
        """Return the shard index's :attr:`~plait.indexes.plaid.PLAID.stats`."""
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
        metadata: list[dict[str, Any]] | None = None,
    ) -> int:
        """Add documents to the shard in one commit; return its new document count."""
        self.index.add_documents(ids, embeddings, replace=replace, texts=texts, metadata=metadata)
        return len(self.index)

    def filter_ids(self, where: str, params: list[Any], columns: dict[str, str]) -> list[str]:
        """Return the ids of the shard's documents matching ``where`` (``columns``: all shards')."""
        return self.index.filter_ids(where, params, columns)

    def metadata_schema(self) -> dict[str, str]:
        """Return the shard's metadata columns and their types."""
        return self.index.metadata_schema

    def update_metadata(self, ids: list[str], rows: list[dict[str, Any]]) -> int:
        """Replace the metadata of ``ids`` in one commit; return the shard's document count."""
        self.index.update_metadata(ids, rows)
        return len(self.index)

    def remove(self, ids: list[str]) -> int:
        """Remove ``ids`` from the shard in one commit; return its new document count."""
        self.index.remove_documents(ids, missing="raise")  # the coordinator found them all here
        return len(self.index)

    def embeddings(self, ids: list[str]) -> list[np.ndarray]:
        """Return the (decompressed) float32 embeddings of ``ids``, in that order."""
        return list(self.index.get_documents_embeddings(ids))

    def documents(self, ids: list[str]) -> list[dict[str, Any]]:
        """Return ``{"id", "text", "metadata"}`` of each of ``ids``, in that order."""
        return list(self.index.get_documents(ids))

    # ------------------------------------------------------------------ search
    def candidates(self, asks: list[CandidateAsk], cuts: Cuts) -> list[Found]:
        """Answer stages 2-4 of each ask over this shard.

        ``ask.eligible`` is the subset's ids routed to this shard (ids of other shards are ignored)
        or ``None``; ``ask.cells`` ``None`` means every eligible document (the small-subset rule).
        """
        self._delay()
        source = self._source()
        if source is None:
            return [Found.nothing(2) for _ in asks]
        mine = [
            dataclasses.replace(a, eligible=source.eligibility(a.eligible).handle) for a in asks
        ]
        return source.candidates(mine, cuts)

    def exact(
        self, queries: list[np.ndarray], picks: list[np.ndarray]
    ) -> list[tuple[list[str], np.ndarray]]:
        """Stage 5: exact MaxSim of this shard's documents ``picks[q]``; ``(ids, scores)`` each.

        ``picks[q]`` is ``(2, n)``: segment and local index of each document.
        """
        self._delay()
        source = self._source()
        if source is None:  # an empty shard has no candidates to score
            assert not any(p.shape[1] for p in picks)
            return [([], np.zeros(0, dtype=np.float32)) for _ in picks]
        scored = source.exact([ExactAsk(q, p) for q, p in zip(queries, picks, strict=True)])
        return [(source.ids(s.labels), s.scores) for s in scored]

    def _source(self) -> SegmentSource | None:
        index = self.index
        if index.quantizer is None or index.codec is None or not len(index):
            return None
        return SegmentSource(
            index.segments, index.quantizer, index.codec, index.eligible, whole=False
        )

    def set_stage_delay(self, seconds: float) -> None:
        """Fault injection for tests: sleep ``seconds`` before each search stage from now on."""
        self.stage_delay_s = float(seconds)

    def _delay(self) -> None:
        if self.stage_delay_s > 0:
            time.sleep(self.stage_delay_s)
