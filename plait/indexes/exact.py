"""Exhaustive (exact) MaxSim index: the oracle that approximate indexes are judged against.

Documents live in append-only *segments*: each ``add_documents`` writes one new segment (a flat
token matrix, its document offsets and the ids, as immutable files) and each ``remove_documents``
writes one tombstone file of internal document numbers. Replacing a document is a tombstone plus
an add, in one commit. :meth:`Exact.compact` rewrites the live documents into a single segment; it
runs automatically when tombstoned documents outnumber live ones or segments pile up.

On disk (``format: plait-exact``, version 2; version 1 folders are read and upgraded by their next
write) the folder follows :mod:`plait.indexes.storage`: ``manifest.json`` lists the segments (roles
``segment-<n>-tokens`` / ``-offsets`` / ``-ids`` and, when stored, ``-texts`` / ``-metadata``) and
tombstones (``tombstones-<n>``), with ``dim``, ``dtype`` and a ``generation`` counter. Version 2
adds the ``-metadata`` role (:mod:`plait.indexes.metadata`); version 1 code refuses it. Every write
holds the writer lock, first reloads the folder if another writer committed since we last read it,
then writes new files and commits a new manifest.

Search is exact MaxSim by :mod:`plait.kernels.maxsim` over every live document (or the ``subset``);
when fewer than ``k`` documents qualify the result is shorter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from plait.indexes.base import (
    CorruptIndexError,
    DuplicateIdError,
    PyLateCall,
    SearchResult,
    Subset,
)
from plait.indexes.files import LazyTexts, text_at
from plait.indexes.metadata import (
    LazyMetadata,
    check_metadata,
    check_schema,
    merge_schema,
    metadata_at,
    write_metadata,
)
from plait.indexes.storage import IndexFolder, check_name, require, state_key
from plait.indexes.validation import (
    check_embeddings,
    check_id_list,
    check_ids,
    check_k,
    check_queries,
    check_storable,
    check_texts,
    normalize_subset,
    raise_unknown,
    unknown_ids,
)
from plait.kernels.maxsim import maxsim_scores, top_k

FORMAT = "plait-exact"
VERSION = 2  # written; READ_VERSIONS are read
READ_VERSIONS = (1, 2)
MAX_SEGMENTS = 64  # more segments than this trigger a compaction
_SCORE_BUDGET = 1 << 24  # float32 cells of the (queries x documents) score matrix per batch


@dataclass(frozen=True)
class _Segment:
    tokens: np.ndarray  # (n_tokens, dim), float16 or float32, possibly memory-mapped
    offsets: np.ndarray  # (n_documents + 1,) int64
    ids: list[str]
    roles: tuple[str, ...] = ()  # manifest roles of its files (empty in memory)
    texts: LazyTexts | list[str | None] | None = None  # None: no texts stored
    metadata: LazyMetadata | list[dict[str, Any]] | None = None  # None: no metadata stored

    def text(self, local: int) -> str | None:
        return text_at(self.texts, local)

    def meta(self, local: int) -> dict[str, Any]:
        return metadata_at(self.metadata, local)


@dataclass(frozen=True)
class _Tombstones:
    internal: np.ndarray  # int64 internal document numbers
    role: str | None = None


def _roles(roles: Any, where: Path) -> list[Any]:
    """A segment's roles: tokens, offsets, ids, then optionally ``...-texts`` and ``...-metadata``."""
    optional = [r for r in roles[3:] if isinstance(r, str)] if isinstance(roles, list) else []
    if (
        not isinstance(roles, list)
        or not 3 <= len(roles) <= 5
        or len(optional) != len(roles) - 3
        or len({r.rsplit("-", 1)[-1] for r in optional} - {"texts", "metadata"}) > 0
        or len(set(optional)) != len(optional)
    ):
        raise CorruptIndexError(
            f"{where}: key 'segments' holds {roles!r}, not tokens, offsets, ids [, texts] [, metadata]"
        )
    return roles


def _optional_role(roles: Sequence[str], kind: str) -> str | None:
    return next((r for r in roles[3:] if r.endswith(f"-{kind}")), None)


def _segment_problem(tokens: np.ndarray, offsets: np.ndarray, ids: Any, dim: int) -> str | None:
    """Why a segment's arrays disagree, or ``None`` when every offset lies inside the tokens."""
    if tokens.shape[1] != dim:
        return f"tokens are {tokens.shape[1]}-dimensional, the index {dim}-dimensional"
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return "ids are not a list of strings"
    if len(set(ids)) != len(ids):
        return "ids repeat"
    if len(offsets) != len(ids) + 1 or offsets[0] != 0 or offsets[-1] != len(tokens):
        return f"{len(offsets)} offsets ending at {offsets[-1] if len(offsets) else None} for "\
            f"{len(ids)} ids and {len(tokens)} token rows"
    if np.any(np.diff(offsets) < 0):
        return "offsets decrease"
    return None


def _check_dtype(dtype: Any) -> str:
    name = np.dtype(dtype).name if dtype is not None else "float32"
    if name not in ("float16", "float32"):
        raise ValueError(f"dtype must be 'float16' or 'float32', got {dtype!r}")
    return name


class Exact(PyLateCall):
    """Exhaustive MaxSim index with string ids, upserts, deletions and crash-safe persistence.

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

    >>> index = Exact(index_folder=None)
    >>> index.add_documents(["a", "b"], [np.eye(2, dtype=np.float32), np.ones((1, 2), np.float32)])
    Exact(in memory, 2 documents, dim=2, float32)
    >>> index.search([np.array([[1.0, 0.0]], np.float32)], k=1)[0].ids
    ['a']
    """

    _segments: list[_Segment]
    _tombstones: list[_Tombstones]
    _files: dict[str, Any]
    _dim: int | None
    _next_file: int
    _lookup: dict[str, int]  # live id -> internal document number

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
        self._dtype = _check_dtype(dtype)
        self._folder = (
            None if index_folder is None else IndexFolder(Path(index_folder) / index_name)
        )
        self._base: dict[str, Any] | None = None  # the committed manifest of the state held
        self._schema: dict[str, str] = {}  # metadata column -> type (see plait.indexes.metadata)
        self._set_state([], [], {}, dim=None, next_file=0)
        if self._folder is None:
            return
        self._folder.create_unless_present(
            override, lambda: self._commit([], [], {}, dim=None, new_index=True)
        )
        if self._base is None:  # opened, not created
            self._folder.load_latest(lambda m: self._load(m, requested_dtype=dtype))

    # ------------------------------------------------------------------ properties
    @property
    def dim(self) -> int | None:
        return self._dim

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def manifest(self) -> Mapping[str, Any] | None:
        """The committed manifest this object's state was loaded from (``None`` in memory)."""
        return None if self._base is None else MappingProxyType(self._base)

    @property
    def path(self) -> Path | None:
        """Folder of this index, or ``None`` in memory."""
        return None if self._folder is None else self._folder.path

    @property
    def documents_ids(self) -> list[str]:
        return list(self._lookup)

    @property
    def stats(self) -> dict[str, Any]:
        """Counts and bytes on disk of the state this object holds (``disk_bytes`` ``None`` in
        memory); ``stored_tokens`` includes removed documents' tokens until compaction."""
        live = np.flatnonzero(self._alive)
        lengths = np.concatenate([np.diff(s.offsets) for s in self._segments]) if self._segments else np.zeros(0, np.int64)
        stored = int(lengths.sum())
        disk = None if self._folder is None or self._base is None else self._folder.disk_bytes(self._base)
        return {
            "documents": len(self),
            "tokens": int(lengths[live].sum()) if len(live) else 0,
            "stored_tokens": stored,
            "deleted_documents": len(self._ids) - len(self._lookup),
            "segments": len(self._segments),
            "tombstone_files": len(self._tombstones),
            "dtype": self._dtype,
            "disk_bytes": disk,
            "bytes_per_token": disk / stored if disk is not None and stored else None,
        }

    def __len__(self) -> int:
        return len(self._lookup)

    def __contains__(self, document_id: object) -> bool:
        return document_id in self._lookup

    def __repr__(self) -> str:
        where = "in memory" if self._folder is None else str(self._folder.path)
        return (
            f"{type(self).__name__}({where}, {len(self)} documents, dim={self._dim}, {self._dtype})"
        )

    # ------------------------------------------------------------------ state
    def _set_state(self, segments, tombstones, files, *, dim, next_file) -> None:
        self._segments = segments
        self._tombstones = tombstones
        self._files = files
        self._dim = dim
        self._next_file = next_file
        self._ids = [doc_id for segment in segments for doc_id in segment.ids]
        counts = [len(segment.ids) for segment in segments]
        self._bases = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._alive = np.ones(len(self._ids), dtype=bool)
        for tomb in tombstones:
            self._alive[tomb.internal] = False
        self._lookup = {}
        for internal in np.flatnonzero(self._alive).tolist():
            doc_id = self._ids[internal]
            if doc_id in self._lookup:
                raise CorruptIndexError(f"index {self.path} holds id {doc_id!r} twice")
            self._lookup[doc_id] = internal

    def _load(self, manifest: dict[str, Any], requested_dtype: str | None = None) -> None:
        """Adopt a committed manifest (checked key by key; every structural array validated)."""
        assert self._folder is not None
        where = self._folder.manifest_path
        if manifest.get("format") != FORMAT:
            raise ValueError(
                f"{self._folder.path} holds a {manifest.get('format')!r} index, not an exact index; "
                "open it with the matching class or pass override=True to replace it"
            )
        if manifest.get("version") not in READ_VERSIONS:
            raise CorruptIndexError(
                f"{self._folder.path}: unsupported exact index version {manifest.get('version')}"
            )
        stored = require(manifest, "dtype", str, where)
        if stored not in ("float16", "float32"):
            raise CorruptIndexError(f"{where}: key 'dtype' has an invalid value {stored!r}")
        if requested_dtype is not None and _check_dtype(requested_dtype) != stored:
            raise ValueError(f"index {self._folder.path} stores {stored}, not {requested_dtype}")
        files = require(manifest, "files", dict, where)
        dim = require(manifest, "dim", (int, type(None)), where)
        next_file = require(manifest, "next_file", int, where)
        roles = require(manifest, "segments", list, where)
        tombstone_roles = require(manifest, "tombstones", list, where)
        for role in [r for triple in roles for r in _roles(triple, where)] + tombstone_roles:
            if not isinstance(role, str) or role not in files:
                raise CorruptIndexError(f"{where}: role {role!r} is not listed in 'files'")
        if roles and (dim is None or dim < 1):
            raise CorruptIndexError(f"{where}: key 'dim' has an invalid value {dim!r}")
        segments = [self._read_segment(files, triple, dim, stored) for triple in roles]
        total = sum(len(s.ids) for s in segments)
        tombstones = []
        for role in tombstone_roles:
            entry = files[role]
            internal = self._folder.read_array(
                entry, mmap=False, verify_crc=True, dtypes=("int64",), ndim=1
            ).astype(np.int64)
            if len(internal) and (internal.min() < 0 or internal.max() >= total):
                raise CorruptIndexError(
                    f"{self._folder.path}: tombstone file {entry['name']} is out of range"
                )
            tombstones.append(_Tombstones(internal, role))
        self._dtype = stored
        schema = check_schema(manifest.get("metadata_schema"), where)
        self._set_state(segments, tombstones, dict(files), dim=dim, next_file=next_file)
        self._base, self._schema = manifest, schema

    def _read_segment(self, files, roles: Sequence[str], dim: int, dtype: str) -> _Segment:
        """Open one segment; its offsets and ids are CRC-checked and validated so that no kernel
        can ever read outside the token matrix."""
        assert self._folder is not None
        tokens_role, offsets_role, ids_role = roles[:3]
        tokens = self._folder.read_array(files[tokens_role], dtypes=(dtype,), ndim=2)
        offsets = self._folder.read_array(
            files[offsets_role], mmap=False, verify_crc=True, dtypes=("int64",), ndim=1
        )
        ids = self._folder.read_json(files[ids_role])
        problem = _segment_problem(tokens, offsets, ids, dim)
        if problem is not None:
            names = ", ".join(files[r]["name"] for r in roles)
            raise CorruptIndexError(
                f"{self._folder.path}: segment files {names} are inconsistent: {problem}"
            )
        texts_role, metadata_role = _optional_role(roles, "texts"), _optional_role(roles, "metadata")
        texts = None if texts_role is None else self._folder.open_texts(files[texts_role], len(ids))
        metadata = None
        if metadata_role is not None:
            path, handle = self._folder.open_file(files[metadata_role])
            metadata = LazyMetadata(path, handle, files[metadata_role], len(ids))
        return _Segment(tokens, offsets, list(ids), tuple(roles), texts, metadata)

    def _commit(
        self, segments, tombstones, files, *, dim, new_index: bool = False, schema=None
    ) -> None:
        """Commit the new state (files already written), then adopt it in memory.

        ``new_index`` starts a new index (creation, override) instead of building on the manifest
        this object holds (which must still be current: see :meth:`IndexFolder.commit`)."""
        next_file = self._next_file
        if self._folder is not None:
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "dim": dim,
                "dtype": self._dtype,
                "next_file": next_file,
                "n_documents": sum(len(s.ids) for s in segments)
                - sum(len(t.internal) for t in tombstones),
                "n_tokens": sum(len(s.tokens) for s in segments),
                "segments": [list(s.roles) for s in segments],
                "tombstones": [t.role for t in tombstones],
                "metadata_schema": self._schema if schema is None else schema,
                "files": files,
            }
            self._base = self._folder.commit(manifest, base=None if new_index else self._base)
        self._set_state(segments, tombstones, files, dim=dim, next_file=next_file)
        if schema is not None:
            self._schema = schema

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the writer lock and catch up with commits made by other writers."""
        if self._folder is None:
            yield
            return
        with self._folder.writer_lock():
            self.refresh()
            yield

    def refresh(self) -> bool:
        """Adopt the state another writer committed since this object last read the folder.

        Returns ``True`` when the state changed. Cheap when nothing changed (one small read).
        """
        if self._folder is None:
            return False
        current = self._folder.read_manifest()
        if self._base is not None and state_key(current) == state_key(self._base):
            return False
        self._folder.load_latest(self._load)
        return True

    def _new_role(self, kind: str) -> str:
        role = f"{kind}-{self._next_file}"
        self._next_file += 1
        return role

    def _write_segment(
        self,
        ids: list[str],
        tokens: np.ndarray,
        offsets: np.ndarray,
        files,
        texts=None,
        metadata=None,
        schema=None,
    ) -> _Segment:
        """One new segment; ``texts`` (one str or None per id) and ``metadata`` (one dict per id)
        become its optional roles."""
        if texts is not None and all(t is None for t in texts):
            texts = None
        if metadata is not None and not any(metadata):
            metadata = None
        if self._folder is None:
            if metadata is not None:
                check_metadata(ids, metadata)
            return _Segment(tokens, offsets, ids, texts=texts, metadata=metadata)
        n = self._new_role("segment")
        roles: tuple[str, ...] = (f"{n}-tokens", f"{n}-offsets", f"{n}-ids")
        roles += ((f"{n}-texts",) if texts else ()) + ((f"{n}-metadata",) if metadata else ())
        if metadata is not None:  # first: a type clash in a column is refused before any write
            files[f"{n}-metadata"] = write_metadata(
                self._folder, f"{n}-metadata", metadata, ids, self._schema if schema is None else schema
            )
        files[roles[0]] = self._folder.write_array(roles[0], tokens)
        files[roles[1]] = self._folder.write_array(roles[1], offsets)
        files[roles[2]] = self._folder.write_json(roles[2], ids)
        if texts is not None:
            files[f"{n}-texts"] = self._folder.write_json(f"{n}-texts", texts)
        return _Segment(tokens, offsets, ids, roles, texts, metadata)

    def _write_tombstones(self, internal: np.ndarray, files) -> _Tombstones:
        if self._folder is None:
            return _Tombstones(internal)
        role = self._new_role("tombstones")
        files[role] = self._folder.write_array(role, internal)
        return _Tombstones(internal, role)

    # ------------------------------------------------------------------ writes
    def add_documents(
        self,
        documents_ids: Sequence[str],
        documents_embeddings: Sequence[Any] | Any,
        *,
        replace: bool = False,
        texts: Sequence[str | None] | None = None,
        metadata: Sequence[Mapping[str, Any] | None] | None = None,
    ) -> Exact:
        """Add documents (one ``(n_tokens, dim)`` matrix each); returns the index for chaining.

        An id already in the index raises :class:`DuplicateIdError` unless ``replace=True``
        (upsert). ``texts`` (one per id) and ``metadata`` (one flat dict per id, see
        :mod:`plait.indexes.metadata`) are stored in the same commit as the vectors and read back
        by :meth:`get_documents`. Nothing is written when any check fails.
        """
        ids = check_ids(documents_ids)
        texts = check_texts(ids, texts)
        rows = check_metadata(ids, metadata)
        matrices = check_embeddings(ids, documents_embeddings, self._dim)
        check_storable(ids, matrices, self._dtype)
        if not ids:
            return self
        with self._writing():
            matrices = check_embeddings(ids, matrices, self._dim)  # another writer may have set dim
            existing = [doc_id for doc_id in ids if doc_id in self._lookup]
            if existing and not replace:
                raise DuplicateIdError(
                    f"{len(existing)} id(s) already in the index: {existing[:10]}; "
                    "pass replace=True to overwrite them"
                )
            schema = merge_schema(self._schema, rows, ids) if rows else self._schema
            offsets = np.zeros(len(ids) + 1, dtype=np.int64)
            offsets[1:] = np.cumsum([len(m) for m in matrices])
            tokens = np.concatenate(matrices).astype(self._dtype)
            files = dict(self._files)
            tombstones = list(self._tombstones)
            if existing:
                dead = np.array([self._lookup[doc_id] for doc_id in existing], dtype=np.int64)
                tombstones.append(self._write_tombstones(dead, files))
            segment = self._write_segment(ids, tokens, offsets, files, texts, rows, schema)
            segments = [*self._segments, segment]
            self._commit(segments, tombstones, files, dim=int(tokens.shape[1]), schema=schema)
            self._maybe_compact()
        return self

    def remove_documents(self, documents_ids: Sequence[str]) -> Exact:
        """Remove documents. Any unknown id raises :class:`UnknownIdError` and nothing is removed."""
        ids = check_id_list(documents_ids)
        if not ids:
            return self
        with self._writing():
            raise_unknown(unknown_ids(ids, self._lookup))
            files = dict(self._files)
            dead = np.array([self._lookup[doc_id] for doc_id in ids], dtype=np.int64)
            tombstones = [*self._tombstones, self._write_tombstones(dead, files)]
            self._commit(list(self._segments), tombstones, files, dim=self._dim)
            self._maybe_compact()
        return self

    def compact(self) -> None:
        """Rewrite the live documents into one segment and drop all tombstones."""
        with self._writing():
            self._compact()

    def _maybe_compact(self) -> None:
        dead = len(self._ids) - len(self._lookup)
        if len(self._segments) > MAX_SEGMENTS or (dead > len(self._lookup) and dead >= 32):
            self._compact()

    def _compact(self) -> None:
        live = np.flatnonzero(self._alive)
        files: dict[str, Any] = {}
        segments = []
        if len(live):
            ids = [self._ids[i] for i in live.tolist()]
            matrices = self._matrices(live)
            offsets = np.zeros(len(ids) + 1, dtype=np.int64)
            offsets[1:] = np.cumsum([len(m) for m in matrices])
            tokens = np.concatenate(matrices).astype(self._dtype, copy=False)
            texts, rows = self._texts(live), self._metadata(live)
            segments.append(self._write_segment(ids, tokens, offsets, files, texts, rows))
        self._commit(segments, [], files, dim=self._dim)

    # ------------------------------------------------------------------ reads
    def _matrices(self, internal: np.ndarray) -> list[np.ndarray]:
        """Stored token matrices (storage dtype) of internal document numbers."""
        which = np.searchsorted(self._bases, internal, side="right") - 1
        out = []
        for seg_index, number in zip(which.tolist(), internal.tolist(), strict=True):
            segment = self._segments[seg_index]
            local = number - int(self._bases[seg_index])
            out.append(segment.tokens[segment.offsets[local] : segment.offsets[local + 1]])
        return out

    def _texts(self, internal: np.ndarray) -> list[str | None]:
        which = np.searchsorted(self._bases, internal, side="right") - 1
        return [
            self._segments[s].text(number - int(self._bases[s]))
            for s, number in zip(which.tolist(), internal.tolist(), strict=True)
        ]

    def _metadata(self, internal: np.ndarray) -> list[dict[str, Any]]:
        which = np.searchsorted(self._bases, internal, side="right") - 1
        return [
            self._segments[s].meta(number - int(self._bases[s]))
            for s, number in zip(which.tolist(), internal.tolist(), strict=True)
        ]

    def get_documents(self, documents_ids: Sequence[str]) -> list[dict[str, Any]]:
        """``{"id", "text", "metadata"}`` of each id, in the order asked (``text`` is ``None`` and
        ``metadata`` ``{}`` when none was stored); unknown ids raise :class:`UnknownIdError`."""
        ids = check_id_list(documents_ids, dedupe=False)
        raise_unknown(unknown_ids(ids, self._lookup))
        internal = np.array([self._lookup[doc_id] for doc_id in ids], dtype=np.int64)
        return [
            {"id": i, "text": t, "metadata": m}
            for i, t, m in zip(ids, self._texts(internal), self._metadata(internal), strict=True)
        ]

    def get_documents_embeddings(self, documents_ids: Sequence[Any]) -> list[Any]:
        """Float32 embeddings of the given ids; a list of id lists gives a list of lists (PyLate)."""
        if isinstance(documents_ids, (str, bytes)):
            check_id_list(documents_ids)  # raises: a bare string is not a list of ids
        if (
            len(documents_ids)
            and not isinstance(documents_ids[0], str)
            and isinstance(documents_ids[0], Sequence)
        ):
            return [self.get_documents_embeddings(ids) for ids in documents_ids]
        ids = check_id_list(documents_ids, dedupe=False)
        raise_unknown(unknown_ids(ids, self._lookup))
        internal = np.array([self._lookup[doc_id] for doc_id in ids], dtype=np.int64)
        return [np.array(m, dtype=np.float32) for m in self._matrices(internal)]

    def search(
        self,
        queries_embeddings: Sequence[Any] | Any,
        k: int = 10,
        *,
        subset: Subset | None = None,
        params: Any = None,
    ) -> list[SearchResult]:
        """Exact top-``k`` by MaxSim, one :class:`SearchResult` per query (``params`` is ignored)."""
        k = check_k(k)
        queries = check_queries(queries_embeddings, self._dim)
        subsets = normalize_subset(subset, len(queries))
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
        return np.array([self._lookup[i] for i in ids if i in self._lookup], dtype=np.int64)

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
        for seg_index, segment in enumerate(self._segments):
            selected = candidates[which == seg_index] - self._bases[seg_index]
            if len(selected) == 0:
                continue
            n_docs = len(segment.ids)
            base = int(self._bases[seg_index])
            if len(selected) > n_docs // 2:
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
        if self._folder is not None:
            self._folder.verify()


class Voyager(Exact):
    """PyLate's ``indexes.Voyager`` name. PyLate's is an HNSW over tokens plus exact reranking;
    this one is the exact index (same results, no approximation). HNSW knobs are accepted and ignored.
    """

    def __init__(
        self,
        index_folder: str | os.PathLike[str] | None = "indexes",
        index_name: str = "voyager",
        override: bool = False,
        embedding_size: int | None = None,
        M: int | None = None,
        ef_construction: int | None = None,
        ef_search: int | None = None,
        dtype: str | None = None,
        *,
        index_path: str | os.PathLike[str] | None = None,
        device: str | None = None,
    ) -> None:
        super().__init__(
            index_folder, index_name, override, dtype, index_path=index_path, device=device
        )
        if embedding_size is not None and self.dim is not None and embedding_size != self.dim:
            raise ValueError(
                f"embedding_size={embedding_size} but the index holds {self.dim}-dimensional embeddings"
            )
