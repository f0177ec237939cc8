"""Exhaustive (exact) MaxSim index: the oracle that approximate indexes are judged against.

Storage is the segment store (:mod:`plait.indexes.segments`: segments, tombstones, the id map,
texts, metadata, commits); this module adds the payload, one flat token matrix per segment
(``sNNNNNN.tokens``, float32 or float16) and its document offsets (``sNNNNNN.offsets``, int64), and
exact MaxSim by :mod:`plait.kernels.maxsim` over every live document (or the ``subset``). When fewer
than ``k`` documents qualify the result is shorter. :meth:`Exact.compact` rewrites the live documents
into one segment; it runs by itself when removed documents outnumber live ones or segments pile up.

On disk: ``format: plait-exact``, version 2 (``settings``: ``dim``, ``dtype``). Version-1 folders
(segments as role lists, tombstones as global document numbers) are read as they are and written
in version 2 by their next write.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from plait.indexes.base import CorruptIndexError, DuplicateIdError, PyLateCall, SearchResult, Subset
from plait.indexes.metadata import check_metadata
from plait.indexes.segments import Segment, SegmentStore, StoreBacked
from plait.indexes.storage import IndexFolder, check_name, require
from plait.indexes.validation import (
    check_embeddings,
    check_id_list,
    check_ids,
    check_k,
    check_missing,
    check_queries,
    check_storable,
    check_texts,
    known_only,
    normalize_subset,
    raise_unknown,
    unknown_ids,
)
from plait.kernels.maxsim import maxsim_scores, top_k

FORMAT = "plait-exact"
VERSION = 2  # written; READ_VERSIONS are read
READ_VERSIONS = (1, 2)
EXPECT = (FORMAT, READ_VERSIONS)
_SCORE_BUDGET = 1 << 24  # float32 cells of the (queries x documents) score matrix per batch


@dataclass(frozen=True)
class ExactSegment(Segment):
    """A segment of the exact index: its token rows and each document's ``offsets`` into them."""

    tokens: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32), repr=False)
    offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64), repr=False)


def _check_dtype(dtype: Any) -> str:
    name = np.dtype(dtype).name if dtype is not None else "float32"
    if name not in ("float16", "float32"):
        raise ValueError(f"dtype must be 'float16' or 'float32', got {dtype!r}")
    return name


def _segment_problem(tokens: np.ndarray, offsets: np.ndarray, n_docs: int, dim: int) -> str | None:
    """Why a segment's arrays disagree, or ``None`` when every offset lies inside the tokens."""
    if tokens.shape[1] != dim:
        return f"tokens are {tokens.shape[1]}-dimensional, the index {dim}-dimensional"
    if len(offsets) != n_docs + 1 or offsets[0] != 0 or offsets[-1] != len(tokens):
        return (
            f"{len(offsets)} offsets ending at {offsets[-1] if len(offsets) else None} for "
            f"{n_docs} ids and {len(tokens)} token rows"
        )
    if np.any(np.diff(offsets) < 0):
        return "offsets decrease"
    return None


def _read_payload(
    folder: IndexFolder,
    manifest: Mapping[str, Any],
    info: Mapping[str, Any],
    common: dict[str, Any],
) -> ExactSegment:
    """Read a segment's token matrix (memory-mapped) and offsets (CRC-checked).

    The offsets are validated so that no kernel can ever read outside the matrix.
    """
    settings, files, name = manifest["settings"], manifest["files"], info["name"]
    tokens = folder.read_array(files[f"{name}.tokens"], dtypes=(settings["dtype"],), ndim=2)
    offsets = folder.read_array(
        files[f"{name}.offsets"], mmap=False, verify_crc=True, dtypes=("int64",), ndim=1
    )
    problem = _segment_problem(tokens, offsets, len(common["ids"]), settings["dim"])
    if problem is not None:
        names = ", ".join(files[f"{name}.{r}"]["name"] for r in ("tokens", "offsets", "ids"))
        raise CorruptIndexError(f"{folder.path}: segment files {names} are inconsistent: {problem}")
    return ExactSegment(**common, tokens=tokens, offsets=offsets)


def _from_v1(
    manifest: dict[str, Any], folder: IndexFolder
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Convert a version-1 manifest to version-2 form (same files under segment-store roles).

    Also returns its tombstones (global document numbers), which the caller applies after loading.
    """
    where = folder.manifest_path
    files = require(manifest, "files", dict, where)
    segments, renamed = [], {}
    for n, roles in enumerate(require(manifest, "segments", list, where), start=1):
        if (
            not isinstance(roles, list)
            or len(roles) not in (3, 4)
            or not all(r in files for r in roles)
        ):
            raise CorruptIndexError(
                f"{where}: key 'segments' holds {roles!r}, not 3 or 4 listed roles"
            )
        name = f"s{n:06d}"
        for role, kind in zip(roles, ("tokens", "offsets", "ids", "texts"), strict=False):
            renamed[f"{name}.{kind}"] = files[role]
        segments.append({"name": name})
    tombstones = []
    for n, role in enumerate(require(manifest, "tombstones", list, where)):
        if role not in files:
            raise CorruptIndexError(f"{where}: role {role!r} is not listed in 'files'")
        renamed[f"v1.tombstones-{n}"] = files[role]  # referenced until the first write drops it
        tombstones.append(
            folder.read_array(
                files[role], mmap=False, verify_crc=True, dtypes=("int64",), ndim=1
            ).astype(np.int64)
        )
    dim = require(manifest, "dim", (int, type(None)), where)
    converted = {
        **{
            k: v
            for k, v in manifest.items()
            if k
            not in (
                "segments",
                "tombstones",
                "next_file",
                "dim",
                "dtype",
                "n_documents",
                "n_tokens",
                "files",
            )
        },
        "settings": {"dim": dim, "dtype": require(manifest, "dtype", str, where)},
        "segments": segments,
        "next_segment": len(segments) + 1,
        "stats": {},
        "files": renamed,
    }
    return converted, tombstones


class Exact(StoreBacked, PyLateCall):
    """Exhaustive MaxSim index.

    It has string ids, upserts, deletions, texts, metadata and crash-safe persistence.

    Parameters
    ----------
    index_folder
        Parent folder; the index lives in ``index_folder/index_name``. ``None`` keeps the index in
        memory only. ``index_path`` is an alias (the seed's name).
    index_name
        Folder name of this index.
    override
        Start empty even if the folder already holds an index (its files are collected).
    dtype
        Storage type of token embeddings: ``"float32"`` (default, exact) or ``"float16"`` (half the
        bytes, scores within ~1e-3 per query token). An existing index keeps its stored dtype.
    device
        ``None`` scores on the CPU with the numba kernel; a torch device (e.g. ``"cuda"``) scores
        there with the torch backend of :mod:`plait.kernels.maxsim`.

    Examples
    --------
    >>> index = Exact(index_folder=None)
    >>> index.add_documents(["a", "b"], [np.eye(2, dtype=np.float32), np.ones((1, 2), np.float32)])
    Exact(in memory, 2 documents, dim=2, float32)
    >>> index.search([np.array([[1.0, 0.0]], np.float32)], k=1)[0].ids
    ['a']
    """

    def __init__(
        self,
        index_folder: str | os.PathLike[str] | None = "indexes",
        index_name: str = "exact",
        override: bool = False,
        dtype: str | None = None,
        *,
        index_path: str | os.PathLike[str] | None = None,
        device: str | None = None,
    ) -> None:
        self.device = device
        if index_path is not None:
            if index_folder not in (None, "indexes"):
                raise ValueError("pass index_folder or its alias index_path, not both")
            index_folder = index_path
        self.index_name = check_name(index_name)
        self._requested_dtype = None if dtype is None else _check_dtype(dtype)
        folder = None if index_folder is None else IndexFolder(Path(index_folder) / index_name)
        self._v1_tombstones: list[np.ndarray] = []
        self._store = SegmentStore(
            folder,
            ("tokens", "offsets"),
            _read_payload,
            expect=EXPECT,
            on_load=self._check_settings,
            after_load=self._index_documents,
        )
        empty = {
            "format": FORMAT,
            "version": VERSION,
            "segments": [],
            "next_segment": 1,
            "stats": {},
            "settings": {"dim": None, "dtype": self._requested_dtype or "float32"},
            "metadata_schema": {},
            "files": {},
        }
        if folder is None:
            self._store.commit(empty, new_index=True)
        else:
            folder.create_unless_present(
                override, lambda: self._store.commit(empty, new_index=True)
            )
            if not self._store.manifest:
                self._store.open()

    # ------------------------------------------------------------------ state
    def _check_settings(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Check a manifest (the segment store's ``on_load``): version 1 converted, dtype, dim."""
        folder = self._store.folder
        assert folder is not None
        where = folder.manifest_path
        self._v1_tombstones = []
        if manifest["version"] == 1:
            manifest, self._v1_tombstones = _from_v1(manifest, folder)
        settings = require(manifest, "settings", dict, where)
        stored = require(settings, "dtype", str, where)
        if stored not in ("float16", "float32"):
            raise CorruptIndexError(f"{where}: key 'dtype' has an invalid value {stored!r}")
        if self._requested_dtype is not None and self._requested_dtype != stored:
            raise ValueError(f"index {folder.path} stores {stored}, not {self._requested_dtype}")
        dim = require(settings, "dim", (int, type(None)), where)
        if manifest["segments"] and (dim is None or dim < 1):
            raise CorruptIndexError(f"{where}: key 'dim' has an invalid value {dim!r}")
        return manifest

    def _apply_v1_tombstones(self, tombstones: list[np.ndarray]) -> None:
        store = self._store
        bases = np.concatenate([[0], np.cumsum([seg.n_docs for seg in store.segments])]).astype(
            np.int64
        )
        dead = np.concatenate(tombstones)
        if len(dead) and (dead.min() < 0 or dead.max() >= bases[-1]):
            raise CorruptIndexError(f"{self.path}: a version-1 tombstone file is out of range")
        masks = []
        for s, seg in enumerate(store.segments):
            deleted = seg.deleted.copy()
            deleted[dead[(dead >= bases[s]) & (dead < bases[s + 1])] - bases[s]] = True
            masks.append(deleted)
        store.replace_deleted(masks)

    def _index_documents(self) -> None:
        """Give every stored document its global number, as the segment store's ``after_load``.

        A version-1 index's tombstones are applied first. The score matrix has one column per
        global number.
        """
        if self._v1_tombstones:
            tombstones, self._v1_tombstones = self._v1_tombstones, []
            self._apply_v1_tombstones(tombstones)
        segments = self._store.segments
        self._ids = [doc_id for seg in segments for doc_id in seg.ids]
        counts = [seg.n_docs for seg in segments]
        self._bases = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._alive = (
            np.concatenate([~seg.deleted for seg in segments]) if segments else np.zeros(0, bool)
        )

    def _number(self, doc_id: str) -> int:
        s, local = self._store.where[doc_id]
        return int(self._bases[s]) + local

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int | None:
        """Embedding dimension, or ``None`` while the index has never held a document."""
        return self._store.manifest["settings"]["dim"]

    @property
    def dtype(self) -> str:
        """Storage type of the token embeddings: ``"float32"`` or ``"float16"``."""
        return str(self._store.manifest["settings"]["dtype"])

    @property
    def manifest(self) -> Mapping[str, Any] | None:
        """The committed manifest this object's state was loaded from (``None`` in memory)."""
        return None if self._store.folder is None else MappingProxyType(self._store.manifest)

    @property
    def path(self) -> Path | None:
        """Folder of this index, or ``None`` in memory."""
        return None if self._store.folder is None else self._store.folder.path

    @property
    def documents_ids(self) -> list[str]:
        """Ids of the live documents, in insertion order."""
        return self._store.documents_ids

    @property
    def stats(self) -> dict[str, Any]:
        """Counts and bytes on disk of the state this object holds.

        ``disk_bytes`` is ``None`` in memory; ``stored_tokens`` includes removed documents' tokens
        until compaction.
        """
        segments = self._store.segments
        live = sum(int(np.diff(s.offsets)[~s.deleted].sum()) for s in segments)
        stored = sum(len(s.tokens) for s in segments)
        folder = self._store.folder
        disk = None if folder is None else folder.disk_bytes(self._store.manifest)
        return {
            "documents": len(self),
            "tokens": live,
            "stored_tokens": stored,
            "deleted_documents": sum(s.n_docs - s.n_live for s in segments),
            "segments": len(segments),
            "dtype": self.dtype,
            "disk_bytes": disk,
            "bytes_per_token": disk / stored if disk is not None and stored else None,
        }

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._store

    def __repr__(self) -> str:
        where = "in memory" if self.path is None else str(self.path)
        return (
            f"{type(self).__name__}({where}, {len(self)} documents, dim={self.dim}, {self.dtype})"
        )

    def refresh(self) -> bool:
        """Adopt the state another writer committed since this object last read the folder.

        Returns ``True`` when the state changed. Cheap when nothing changed (one small read).
        """
        return self._store.refresh()

    # ------------------------------------------------------------------ writes
    def _next_manifest(self) -> dict[str, Any]:
        """Return the next commit's manifest, without a version-1 index's global tombstone files."""
        manifest = self._store.next_manifest(VERSION)
        manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("v1.")}
        return manifest

    def _begin(self) -> dict[str, Any]:
        manifest = self._next_manifest()
        self._store.persist_deleted(manifest)  # a version-1 index: its tombstones, per segment now
        return manifest

    def _add_segment(
        self,
        manifest: dict[str, Any],
        ids: list[str],
        matrices: Sequence[np.ndarray],
        texts: list[str | None] | None,
        rows: list[dict[str, Any]] | None,
    ) -> None:
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(m) for m in matrices])
        tokens = np.concatenate(matrices).astype(manifest["settings"]["dtype"], copy=False)
        folder = self._store.folder

        def payload(name: str) -> dict[str, Any]:
            assert folder is not None
            return {
                f"{name}.tokens": folder.write_array(f"{name}.tokens", tokens),
                f"{name}.offsets": folder.write_array(f"{name}.offsets", offsets),
            }

        self._store.add_segment(
            manifest,
            ids,
            len(tokens),
            payload,
            texts,
            rows,
            in_memory=lambda common: ExactSegment(**common, tokens=tokens, offsets=offsets),
        )

    def _commit(self, manifest: dict[str, Any]) -> None:
        self._store.commit(manifest)
        if self._store.needs_compaction():
            self._compact()

    def add_documents(
        self,
        documents_ids: Sequence[str],
        documents_embeddings: Sequence[Any] | Any,
        *,
        replace: bool = False,
        texts: Sequence[str | None] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
        batch_size: int | None = None,
    ) -> Exact:
        """Add documents (one ``(n_tokens, dim)`` matrix each); returns the index for chaining.

        An id already in the index raises :class:`DuplicateIdError` unless ``replace=True``
        (upsert). ``texts`` (one per id) and ``metadata`` (one flat dict per id, see
        :mod:`plait.indexes.metadata`) are stored in the same commit as the vectors and read back
        by :meth:`get_documents`. Nothing is written when any check fails. As in PyLate, one id
        may be a bare string and one document a single 2-D matrix; ``batch_size`` is accepted and
        ignored (the call is one commit).
        """
        ids = check_ids(documents_ids)
        texts = check_texts(ids, texts)
        rows = check_metadata(ids, metadata)
        matrices = check_embeddings(ids, documents_embeddings, self.dim)
        check_storable(ids, matrices, self.dtype)
        if not ids:
            return self
        with self._store.writing():
            matrices = check_embeddings(ids, matrices, self.dim)  # another writer may have set dim
            existing = [doc_id for doc_id in ids if doc_id in self._store]
            if existing and not replace:
                raise DuplicateIdError(
                    f"{len(existing)} id(s) already in the index: {existing[:10]}; "
                    "pass replace=True to overwrite them"
                )
            manifest = self._begin()
            self._store.merge_schema(manifest, rows, ids)
            manifest["settings"]["dim"] = int(matrices[0].shape[1])
            if existing:
                self._store.remove(manifest, existing)
            self._add_segment(manifest, ids, matrices, texts, rows)
            self._commit(manifest)
        return self

    def remove_documents(self, documents_ids: Sequence[str], *, missing: str = "ignore") -> Exact:
        """Remove documents in one commit; unknown ids are skipped, as in PyLate.

        ``missing="raise"``: any unknown id raises :class:`UnknownIdError` and nothing is removed.
        """
        ids = check_id_list(documents_ids)
        check_missing(missing)
        if not ids:
            return self
        with self._store.writing():
            ids = known_only(ids, self._store.where, missing)
            if not ids:
                return self
            manifest = self._begin()
            self._store.remove(manifest, ids)
            self._commit(manifest)
        return self

    def compact(self) -> None:
        """Rewrite the live documents into one segment and drop all tombstones."""
        with self._store.writing():
            self._compact()

    def _compact(self) -> None:
        ids = self.documents_ids
        manifest = self._next_manifest()
        matrices = self._matrices(ids)
        texts, rows = self._store.texts(ids), self._store.metadata(ids)
        self._store.clear_segments(manifest)
        if ids:
            self._add_segment(manifest, ids, matrices, texts, rows)
        self._store.commit(manifest)

    # ------------------------------------------------------------------ reads
    def _matrices(self, ids: Sequence[str]) -> list[np.ndarray]:
        """Return the stored token matrices (storage dtype) of the given ids."""
        out = []
        for s, local in (self._store.where[i] for i in ids):
            seg = self._store.segments[s]
            out.append(seg.tokens[seg.offsets[local] : seg.offsets[local + 1]])
        return out

    def _embeddings(self, ids: list[str]) -> list[np.ndarray]:
        raise_unknown(unknown_ids(ids, self._store.where))
        return [np.array(m, dtype=np.float32) for m in self._matrices(ids)]

    def search(
        self,
        queries_embeddings: Sequence[Any] | Any,
        k: int = 10,
        *,
        subset: Subset | None = None,
        params: Any = None,
        filter: str | None = None,
        filter_params: Sequence[Any] | None = None,
    ) -> list[SearchResult]:
        """Return the exact top-``k`` by MaxSim, one :class:`SearchResult` per query.

        ``params`` is ignored. ``filter`` (a SQL condition on metadata columns, ``filter_params``
        bound to its ``?``; :mod:`plait.indexes.filtering`) keeps the matching documents,
        intersected with ``subset``.
        """
        k = check_k(k)
        queries = check_queries(queries_embeddings, self.dim)
        subsets = self._apply_filter(
            normalize_subset(subset, len(queries)), len(queries), filter, filter_params
        )
        batch = max(1, min(256, _SCORE_BUDGET // max(1, len(self._ids))))
        results: list[SearchResult] = []
        for start in range(0, len(queries), batch):
            chunk = queries[start : start + batch]
            chunk_subsets = None if subsets is None else subsets[start : start + batch]
            for row in self._scores(chunk, chunk_subsets):
                idx, values = top_k(row, k)
                results.append(SearchResult([self._ids[i] for i in idx.tolist()], values))
        return results

    def _allowed(self, ids: list[str]) -> np.ndarray:
        return np.array([self._number(i) for i in ids if i in self._store], dtype=np.int64)

    def _scores(self, queries: list[np.ndarray], subsets: list[list[str]] | None) -> np.ndarray:
        """``(n_queries, n_stored)`` MaxSim with ``-inf`` for dead or filtered-out documents."""
        scores = np.full((len(queries), len(self._ids)), -np.inf, dtype=np.float32)
        if subsets is None:
            candidates, per_query = np.flatnonzero(self._alive), None
        else:
            per_query = [self._allowed(ids) for ids in subsets]
            shared = all(s is subsets[0] for s in subsets)
            candidates = per_query[0] if shared else np.unique(np.concatenate(per_query))
            per_query = None if shared else per_query
        if len(candidates) == 0 or not queries:
            return scores
        which = np.searchsorted(self._bases, candidates, side="right") - 1
        for seg_index, segment in enumerate(self._store.segments):
            selected = candidates[which == seg_index] - self._bases[seg_index]
            if len(selected) == 0:
                continue
            base = int(self._bases[seg_index])
            if len(selected) > segment.n_docs // 2:
                block = maxsim_scores(queries, segment.tokens, segment.offsets, device=self.device)
                scores[:, base + selected] = block[:, selected]
            else:
                block = maxsim_scores(
                    queries, segment.tokens, segment.offsets, documents=selected, device=self.device
                )
                scores[:, base + selected] = block
        if per_query is not None:
            for row, allowed in zip(scores, per_query, strict=True):
                keep = np.zeros(len(row), dtype=bool)
                keep[allowed] = True
                row[~keep] = -np.inf
        return scores

    def verify(self) -> None:
        """Check every file's size and CRC-32 (raises :class:`CorruptIndexError`)."""
        if self._store.folder is not None:
            self._store.folder.verify(self._store.manifest)
