"""The contract every index honours (exact, PLAID, sharded).

An index maps string document ids to token-embedding matrices and answers MaxSim top-k queries.
All implementations share this protocol and one conformance test (``tests/indexes/test_contract.py``).

Conventions
-----------
* ``documents_embeddings``: a sequence of 2-D float arrays/tensors, one ``(n_tokens, dim)`` per document.
* ``queries_embeddings``: a sequence of 2-D arrays ``(n_query_tokens, dim)`` or a 3-D array.
* ``search`` returns one :class:`SearchResult` per query, best first. When fewer than ``k`` documents
  exist (or pass the ``subset`` filter), the result is simply shorter; there are no sentinel ids.
* ``subset`` restricts search to the given ids, exactly: either one list of ids applied to every
  query, or one list per query. Unknown ids in a subset are ignored.
* Writes (``add_documents`` / ``remove_documents``) are committed atomically before they return;
  texts given to ``add_documents`` are part of the same commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

ArrayLike = Any  # numpy array or torch tensor
Subset = Sequence[str] | Sequence[Sequence[str]]


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits for one query: ``ids[i]`` has score ``scores[i]``; scores descend."""

    ids: list[str]
    scores: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def to_dicts(self) -> list[dict[str, Any]]:
        """PyLate's result shape: ``[{"id": ..., "score": ...}, ...]``."""
        return [{"id": i, "score": float(s)} for i, s in zip(self.ids, self.scores, strict=False)]


class IndexInputError(ValueError):
    """Base class of index errors that users can act on (bad ids, bad shapes, ...)."""


class DuplicateIdError(IndexInputError):
    """An id is added twice (within one call, or again without ``replace=True``)."""


class UnknownIdError(IndexInputError, KeyError):
    """An id that the index does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class CorruptIndexError(RuntimeError):
    """An index file is missing, truncated or fails its checksum. The message names the file."""


class MissingIndexFileError(CorruptIndexError):
    """A file listed in the manifest is absent (a reader raced a commit, or the folder is damaged)."""


class ForeignFolderError(ValueError):
    """The folder holds files but no plait manifest: someone else's data, never written into."""


class StaleManifestError(RuntimeError):
    """A commit found that another writer committed (or rebuilt the index) since it read the manifest."""


class IndexLockedError(RuntimeError):
    """Another process holds this index's writer lock."""


class PyLateCall:
    """What every index shares: PyLate's call shape and the life cycle.

    The call shape: ``index(queries_embeddings, k, subset)`` gives per query a list of
    ``{"id", "score"}``, best first (:meth:`search` underneath). The life cycle: ``close()`` and
    ``with index: ...``. Exact and PLAID hold no process or lock between calls, so their ``close``
    does nothing; the sharded index stops its shard actors.
    """

    def close(self) -> None:
        """Release what the index holds between calls (nothing for a single-folder index)."""

    def update_documents(
        self, documents_ids: Sequence[str] | str, documents_embeddings: Any, **kwargs: Any
    ) -> Any:
        """Replace the embeddings of the given documents, adding the ids not yet indexed.

        PyLate's ``update_documents``: ``add_documents(..., replace=True)``, so old and new
        versions are swapped in one commit (ids are kept; a reader never sees a document missing).
        ``kwargs`` (``texts``, ``metadata``, ...) go to ``add_documents``; returns the index.
        """
        index: Any = self
        return index.add_documents(documents_ids, documents_embeddings, replace=True, **kwargs)

    def get_documents_embeddings(self, documents_ids: Sequence[Any]) -> list[Any]:
        """Return the stored float32 ``(n_tokens, dim)`` embeddings of the given ids.

        They come in the order asked (PLAID: decompressed); a list of id lists gives a list of
        lists (PyLate). Unknown ids raise :class:`UnknownIdError`; a bare string is refused, never
        split into characters.
        """
        from plait.indexes.validation import check_id_list

        if isinstance(documents_ids, (str, bytes)):
            check_id_list(documents_ids)  # raises
        if (
            len(documents_ids)
            and not isinstance(documents_ids[0], str)
            and isinstance(documents_ids[0], Sequence)
        ):
            return [self.get_documents_embeddings(ids) for ids in documents_ids]
        return self._embeddings(check_id_list(documents_ids, dedupe=False))

    def get_documents(self, documents_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Return ``{"id", "text", "metadata"}`` of each id, in the order asked.

        ``text`` is ``None`` and ``metadata`` ``{}`` when none was stored; unknown ids raise
        :class:`UnknownIdError`.
        """
        from plait.indexes.validation import check_id_list

        return self._documents(check_id_list(documents_ids, dedupe=False))

    def filter_ids(self, filter: str, filter_params: Sequence[Any] | None = None) -> list[str]:
        """Ids of the documents whose metadata satisfies the SQL condition ``filter``."""
        raise NotImplementedError

    def _apply_filter(
        self, subsets: list[list[str]] | None, n_queries: int, filter: Any, filter_params: Any
    ) -> list[list[str]] | None:
        """Per-query id lists after a metadata filter (intersected with ``subsets``)."""
        if filter is None:
            from plait.indexes.filtering import check_filter

            check_filter(None, filter_params)  # filter_params without a filter are refused
            return subsets
        allowed = self.filter_ids(filter, filter_params)
        if subsets is None:
            return [allowed] * n_queries  # one list shared by every query
        keep = set(allowed)
        return [[i for i in s if i in keep] for s in subsets]

    def _embeddings(self, ids: list[str]) -> list[np.ndarray]:
        """Embeddings of ``ids`` (checked strings); raises :class:`UnknownIdError` for unknown ones."""
        raise NotImplementedError

    def _documents(self, ids: list[str]) -> list[dict[str, Any]]:
        """Texts and metadata of ``ids`` (checked strings); raises for unknown ones."""
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(
        self,
        queries_embeddings: Any,
        k: int = 10,
        *,
        subset: Subset | None = None,
        params: Any = None,
        filter: str | None = None,
        filter_params: Sequence[Any] | None = None,
    ) -> Sequence[SearchResult]:
        """Return the top-``k`` documents per query (each index implements it)."""
        raise NotImplementedError

    def __call__(
        self,
        queries_embeddings: Any,
        k: int = 10,
        subset: Subset | None = None,
        *,
        filter: str | None = None,
        filter_params: Sequence[Any] | None = None,
        **_: Any,
    ) -> list[list[dict[str, Any]]]:
        """Return the top-``k`` per query as PyLate's ``[{"id", "score"}, ...]`` lists.

        PyLate's other keywords are accepted and ignored.
        """
        found = self.search(
            queries_embeddings, k, subset=subset, filter=filter, filter_params=filter_params
        )
        return [r.to_dicts() for r in found]


@runtime_checkable
class Index(Protocol):
    """What retrievers, the CLI and the server rely on."""

    @property
    def dim(self) -> int | None:
        """Embedding dimension, or ``None`` while the index is empty and has never seen data."""

    @property
    def documents_ids(self) -> list[str]:
        """Ids of the live documents, in insertion order."""

    def __len__(self) -> int:
        """Return the number of live documents."""

    def __contains__(self, document_id: object) -> bool: ...

    def add_documents(
        self,
        documents_ids: Sequence[str],
        documents_embeddings: Sequence[ArrayLike],
        *,
        replace: bool = False,
        texts: Sequence[str | None] | None = None,
        metadata: Sequence[Any] | None = None,
        batch_size: int | None = None,
    ) -> Index:
        """Add documents; an existing id raises :class:`DuplicateIdError` unless ``replace``.

        ``texts`` and ``metadata`` (one per id) are stored in the same commit as the vectors.
        ``batch_size`` is PyLate's and is ignored (the whole call is one commit).

        Returns the index itself, so PyLate's ``index = index.add_documents(...)`` works.
        """

    def remove_documents(self, documents_ids: Sequence[str], *, missing: str = "ignore") -> Index:
        """Remove documents in one commit; returns the index itself.

        Unknown ids are skipped, as in PyLate (``missing="ignore"``); with ``missing="raise"`` any
        unknown id raises :class:`UnknownIdError` and nothing is removed.
        """

    def search(
        self,
        queries_embeddings: Sequence[ArrayLike] | ArrayLike,
        k: int = 10,
        *,
        subset: Subset | None = None,
        params: Any = None,
    ) -> list[SearchResult]:
        """Top-``k`` documents per query by MaxSim (exact or approximate)."""

    def get_documents_embeddings(self, documents_ids: Sequence[str]) -> list[np.ndarray]:
        """Return the stored (possibly decompressed) embeddings of the given documents, float32."""

    def get_documents(self, documents_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Return ``{"id", "text", "metadata"}`` per id, in the order asked.

        ``text`` is ``None`` and ``metadata`` ``{}`` when none was stored.
        """

    def refresh(self) -> bool:
        """Adopt commits made by other writers since this object last read the folder.

        Returns ``True`` when the state changed (always ``False`` in memory).
        """

    @property
    def path(self) -> Path | None:
        """Folder of the index (``None`` in memory)."""

    @property
    def stats(self) -> dict[str, Any]:
        """Counts and bytes on disk of the state this object holds.

        The counts: documents, tokens, stored tokens, deleted documents, segments.
        """

    def verify(self) -> None:
        """Read every file and check its size and CRC-32 (raises :class:`CorruptIndexError`)."""

    def close(self) -> None:
        """Release what the index holds between calls."""
