"""The served index: many concurrent readers, one writer, writes visible atomically.

Index objects update their in-memory state in several steps during a write (new segment, new
tombstones, id map, maybe a compaction). :class:`ServedIndex` puts a readers-writer lock around the
index object: searches and statistics hold the shared side, writes the exclusive side, so a reader
sees the state before a write or after it, never in between. Encoding texts happens outside the
lock. The lock prefers writers (a steady stream of searches cannot starve an add).

Across processes, :meth:`ServedIndex.open` holds the index folder's writer lock for the server's
lifetime (:meth:`plait.indexes.storage.IndexFolder.hold_writer_lock`): a second server or a
``plait add`` on the same folder is refused with :class:`~plait.indexes.IndexLockedError`.

A read-only server takes no lock, so other processes may commit while it runs. Before it answers a
search, ``/stats`` or ``/health`` it calls the index's ``refresh()`` (under the exclusive side of
the lock, at most every ``refresh_interval`` seconds), so their commits become visible within that
time and every answer still comes from one committed state. ``reopen`` (``plait serve`` on a
``plait index`` folder) is asked first: when ``plait index --override`` has switched the folder to
a new index, it returns that index and the server serves it from then on.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from plait.indexes.base import SearchResult
from plait.indexes.storage import IndexFolder
from plait.server.stats import index_path, index_stats


class ReadWriteLock:
    """Shared/exclusive lock for threads; waiting writers block new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        """Hold the shared side: wait while a writer holds or waits for the lock."""
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the exclusive side: wait until no reader or other writer holds the lock."""
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._waiting_writers -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class ServedIndex:
    """An index shared by request threads (see the module docstring)."""

    def __init__(
        self,
        index: Any,
        *,
        writable: bool = True,
        store_texts: bool = True,
        refresh_interval: float = 1.0,
        reopen: Callable[[], Any] | None = None,
    ) -> None:
        if not (isinstance(refresh_interval, (int, float)) and 0 <= refresh_interval < math.inf):
            raise ValueError(
                f"refresh_interval must be a finite number of seconds >= 0, got {refresh_interval!r}"
            )
        self.index = index
        self.writable = writable
        self.store_texts = store_texts
        self.reopen = reopen
        self.refresh_interval = float(refresh_interval)
        self.lock = ReadWriteLock()
        self._held: IndexFolder | None = None
        self._refreshed_at = -math.inf

    def open(self) -> None:
        """Hold the folder's writer lock for as long as this server runs (writable on-disk indexes)."""
        path = index_path(self.index)
        if self.writable and path is not None and self._held is None:
            folder = IndexFolder(path)
            folder.hold_writer_lock()
            self._held = folder

    def close(self) -> None:
        """Release the folder's writer lock if :meth:`open` took it."""
        if self._held is not None:
            self._held.release_writer_lock()
            self._held = None

    # ------------------------------------------------------------------ reads
    def refresh(self) -> bool:
        """Read-only servers: adopt other writers' commits; ``True`` when the state changed.

        Runs at most every ``refresh_interval`` seconds, under the exclusive side of the lock (so
        no search sees a half-loaded state). A writable server holds the writer lock, so no other
        process commits and there is nothing to refresh; nor for an index without ``refresh()``.
        """
        reload = getattr(self.index, "refresh", None)
        if self.writable or reload is None or self._fresh():
            return False
        with self.lock.write():
            if self._fresh():  # another request thread refreshed while this one waited
                return False
            try:
                replacement = self.reopen() if self.reopen is not None else None
                if replacement is None:
                    return bool(reload())
                self.index, old = replacement, self.index
                getattr(old, "close", lambda: None)()
                return True
            finally:
                self._refreshed_at = time.monotonic()

    def _fresh(self) -> bool:
        return time.monotonic() - self._refreshed_at < self.refresh_interval

    @property
    def dim(self) -> int | None:
        """The index's embedding dimension (``None`` while it has never held a document)."""
        self.refresh()
        with self.lock.read():
            return self.index.dim

    def __len__(self) -> int:
        self.refresh()
        with self.lock.read():
            return len(self.index)

    def search(
        self,
        queries: Sequence[np.ndarray],
        k: int,
        subset: Any = None,
        filter: str | None = None,
        filter_params: Sequence[Any] | None = None,
    ) -> list[SearchResult]:
        """Return the top-``k`` per query, from one state.

        ``filter`` (a SQL condition on the metadata, ``filter_params`` bound to its ``?``) is only
        passed on when given, so indexes without filters still serve.
        """
        extra: dict[str, Any] = {}
        if filter is not None or filter_params is not None:
            extra = {"filter": filter, "filter_params": filter_params}
        self.refresh()
        with self.lock.read():
            return list(self.index.search(list(queries), k, subset=subset, **extra))

    def documents(self, ids: list[str]) -> list[dict[str, Any]]:
        """``{"id", "text", "metadata"}`` of each id, from one state (unknown ids raise)."""
        self.refresh()
        with self.lock.read():
            return list(self.index.get_documents(ids))

    def health(self) -> tuple[int, int | None]:
        """``(documents, dim)`` of one state."""
        self.refresh()
        with self.lock.read():
            return len(self.index), self.index.dim

    def stats(self) -> dict[str, Any]:
        """:func:`~plait.server.stats.index_stats` of one state, without the server's folder path."""
        self.refresh()
        with self.lock.read():
            stats = index_stats(self.index)
            schema = getattr(self.index, "metadata_schema", None)
        if schema is not None:
            stats["metadata_schema"] = dict(schema)
        stats.pop("path", None)  # clients need not learn where the server keeps its files
        return stats

    # ------------------------------------------------------------------ writes
    def add(
        self,
        ids: list[str],
        embeddings: list[np.ndarray],
        *,
        replace: bool,
        texts: list[str] | None = None,
        metadata: list[dict[str, Any] | None] | None = None,
    ) -> tuple[int, int, dict[str, Any] | None]:
        """Add (or upsert) documents; return the ``(added, replaced)`` counts and the codebook report.

        Their texts (unless ``store_texts`` is off) and metadata go in the same commit. The commit
        is the only step: an answer that reports success reports a write that is on disk, and a
        failed write changed nothing. The report is a PLAID index's ``last_add``
        (:class:`plait.indexes.plaid.growth.AddReport` as a dict; ``None`` for other indexes).
        """
        extra: dict[str, Any] = {} if metadata is None else {"metadata": metadata}
        with self.lock.write():
            replaced = sum(1 for doc_id in ids if doc_id in self.index) if replace else 0
            stored = texts if self.store_texts else None
            self.index.add_documents(ids, embeddings, replace=replace, texts=stored, **extra)
            report = getattr(self.index, "last_add", None)
            return len(ids) - replaced, replaced, None if report is None else report.to_dict()

    def update_metadata(self, ids: list[str], metadata: list[dict[str, Any] | None]) -> int:
        """Replace the metadata of existing documents in one commit; return how many.

        Unknown ids raise, and nothing changes.
        """
        with self.lock.write():
            self.index.update_metadata(ids, metadata)
            return len(ids)

    def remove(self, ids: list[str]) -> int:
        """Remove documents in one commit; return how many distinct ids were removed.

        Unknown ids raise :class:`~plait.indexes.UnknownIdError` (a 404) and nothing is removed.
        """
        with self.lock.write():
            self.index.remove_documents(ids, missing="raise")
            return len(dict.fromkeys(ids))
