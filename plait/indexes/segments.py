"""The segment store: what every plait index keeps the same way, whatever its vectors look like.

An index is a list of immutable *segments*, each a batch of documents written by one add. The
store owns everything but the vectors:

* the manifest's ``segments`` list (``{"name", "n_docs", "n_tokens"}``, in insertion order) and
  ``next_segment``; segment ``sNNNNNN``'s files are the manifest roles ``sNNNNNN.<role>``;
* per segment: ``.ids`` (JSON list of string ids), optional ``.texts`` (JSON list) and
  ``.metadata`` (Parquet, :mod:`plait.indexes.metadata`), and ``.tombstones`` (sorted local
  numbers of removed documents: a remove writes a new tombstone file, never edits one);
* the string id -> ``(segment, local)`` map and the live-document views built from it;
* the metadata column schema (``metadata_schema``);
* reading a commit (segments already open are reused when their files did not change), writing
  one (compare-and-swap through :meth:`IndexFolder.commit <plait.indexes.storage.IndexFolder.commit>`),
  refreshing under the writer lock, and the compaction policy.

The index-specific part, the *payload*, is a function that reads a segment's vector files into a
:class:`Segment` subclass (the exact index: ``.tokens`` and ``.offsets``; PLAID: ``.codes``,
``.residuals`` and ``.doclens``). An in-memory store (no folder) keeps the segments it is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plait.indexes.base import CorruptIndexError
from plait.indexes.files import LazyTexts, text_at
from plait.indexes.metadata import (
    LazyMetadata,
    check_metadata,
    check_schema,
    merge_schema,
    metadata_at,
    metadata_table,
    write_metadata,
)
from plait.indexes.storage import IndexFolder, require, state_key
from plait.indexes.validation import check_ids, raise_unknown, unknown_ids

__all__ = ["MAX_SEGMENTS", "Segment", "SegmentStore", "StoreBacked", "tombstone_dtype"]

MAX_SEGMENTS = 64  # more segments than this and a compaction is due
COMMON_ROLES = ("ids", "texts", "metadata", "tombstones")

#: ``read(folder, manifest, info, common) -> Segment``: a payload's reader. ``common`` holds the
#: fields every segment has (name, ids, deleted, texts, metadata), already read and checked.
PayloadReader = Callable[
    [IndexFolder, Mapping[str, Any], Mapping[str, Any], dict[str, Any]], "Segment"
]


def tombstone_dtype(n_docs: int) -> Any:
    """Return the integer type of a tombstone file for a segment of ``n_docs`` documents."""
    return np.uint16 if n_docs <= 1 << 16 else np.int32


@dataclass(frozen=True)
class Segment:
    """The fields every segment has; payloads subclass it with their vector arrays."""

    name: str
    ids: list[str]
    deleted: np.ndarray = field(repr=False)  # bool (n_docs,)
    texts: LazyTexts | list[str | None] | None = field(default=None, repr=False, compare=False)
    metadata: LazyMetadata | list[dict[str, Any]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def n_docs(self) -> int:
        """Number of documents stored in the segment, removed ones included."""
        return len(self.ids)

    @property
    def n_live(self) -> int:
        """Number of documents of the segment not removed."""
        return self.n_docs - int(self.deleted.sum())

    def text(self, local: int) -> str | None:
        """Return the stored text of document ``local`` (``None`` when the segment has no texts)."""
        return text_at(self.texts, local)

    def meta(self, local: int) -> dict[str, Any]:
        """Return the stored metadata of document ``local`` (``{}`` when the segment has none)."""
        return metadata_at(self.metadata, local)


def _signature(manifest: Mapping[str, Any], name: str, roles: Sequence[str]) -> tuple[str, ...]:
    """Names of a segment's immutable files: equal signatures mean the same segment data."""
    files = manifest["files"]
    return tuple(
        files.get(f"{name}.{role}", {}).get("name", "")
        for role in (*roles, "ids", "texts", "metadata")
    )


class SegmentStore:
    """Segments, tombstones, the id map, texts and metadata of one index (see the module docstring).

    ``payload_roles``: the per-segment vector roles the payload reads (checked present);
    ``read_payload``: builds a segment from its common fields and vector files; ``expect``:
    ``(format, readable versions)`` of the manifest. ``on_load(manifest)`` runs first when a
    commit is read (it checks the index's own settings and may return the manifest in the
    current form); ``after_load()`` runs once the segments are adopted (all or nothing: when
    reading fails, the held state stays as it was).
    """

    def __init__(
        self,
        folder: IndexFolder | None,
        payload_roles: tuple[str, ...],
        read_payload: PayloadReader,
        *,
        expect: tuple[str, int | tuple[int, ...]],
        on_load: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        after_load: Callable[[], None] | None = None,
    ) -> None:
        self.folder = folder
        self.payload_roles = payload_roles
        self.expect = expect
        self._read_payload = read_payload
        self._on_load = on_load
        self._after_load = after_load
        self.manifest: dict[str, Any] = {}
        self.segments: list[Any] = []
        self.where: dict[str, tuple[int, int]] = {}
        self.schema: dict[str, str] = {}
        self._signatures: dict[str, tuple[str, ...]] = {}
        self._staged: dict[str, Any] = {}  # in memory: segments written since the last commit

    # ------------------------------------------------------------------ reading
    def load(self, manifest: dict[str, Any]) -> None:
        """Adopt a committed manifest, all or nothing.

        Segments that did not change are reused with their new tombstones; the others are read
        and checked.
        """
        assert self.folder is not None
        where = self.folder.manifest_path
        if self._on_load is not None:
            manifest = self._on_load(manifest)
        infos = require(manifest, "segments", list, where)
        require(manifest, "next_segment", int, where)
        schema = check_schema(manifest.get("metadata_schema"), where)
        cache = {seg.name: seg for seg in self.segments}
        segments, signatures = [], {}
        for info in infos:
            if not isinstance(info, dict) or not isinstance(info.get("name"), str):
                raise CorruptIndexError(f"{where}: key 'segments' holds an invalid entry {info!r}")
            name = info["name"]
            signature = _signature(manifest, name, self.payload_roles)
            seg = cache.get(name)
            if seg is not None and self._signatures.get(name) == signature:
                seg = dataclasses.replace(
                    seg, deleted=self._read_tombstones(manifest, name, seg.n_docs)
                )
            else:
                seg = self._read_segment(manifest, info)
            segments.append(seg)
            signatures[name] = signature
        self._adopt(manifest, segments, schema)
        self._signatures = signatures
        if self._after_load is not None:
            self._after_load()

    def _read_segment(self, manifest: Mapping[str, Any], info: Mapping[str, Any]) -> Any:
        assert self.folder is not None
        name, files = info["name"], manifest["files"]
        missing = [r for r in (*self.payload_roles, "ids") if f"{name}.{r}" not in files]
        if missing:
            raise CorruptIndexError(
                f"manifest of {self.folder.path} lacks files {missing} of segment {name}"
            )
        ids = self.folder.read_json(files[f"{name}.ids"])
        if (
            not isinstance(ids, list)
            or not all(isinstance(i, str) for i in ids)
            or len(set(ids)) != len(ids)
            or info.get("n_docs", len(ids)) != len(ids)
        ):
            raise CorruptIndexError(
                f"index file {self.folder.path / files[f'{name}.ids']['name']} (ids of segment {name}) "
                "does not hold the segment's unique string ids"
            )
        texts_entry, metadata_entry = files.get(f"{name}.texts"), files.get(f"{name}.metadata")
        metadata = None
        if metadata_entry is not None:
            path, handle = self.folder.open_file(metadata_entry)
            metadata = LazyMetadata(path, handle, metadata_entry, len(ids))
        common = {
            "name": name,
            "ids": ids,
            "deleted": self._read_tombstones(manifest, name, len(ids)),
            "texts": None if texts_entry is None else self.folder.open_texts(texts_entry, len(ids)),
            "metadata": metadata,
        }
        return self._read_payload(self.folder, manifest, info, common)

    def _read_tombstones(self, manifest: Mapping[str, Any], name: str, n_docs: int) -> np.ndarray:
        assert self.folder is not None
        deleted = np.zeros(n_docs, dtype=bool)
        entry = manifest["files"].get(f"{name}.tombstones")
        if entry is not None:
            local = self.folder.read_array(
                entry, mmap=False, verify_crc=True, dtypes=("uint16", "int32"), ndim=1
            ).astype(np.int64)
            if local.size and (local.min() < 0 or local.max() >= n_docs):
                raise CorruptIndexError(
                    f"tombstones file {self.folder.path / entry['name']} is out of range"
                )
            deleted[local] = True
        return deleted

    def _adopt(self, manifest: dict[str, Any], segments: list[Any], schema: dict[str, str]) -> None:
        where_map: dict[str, tuple[int, int]] = {}
        for s, seg in enumerate(segments):
            for local in np.flatnonzero(~seg.deleted).tolist():
                if seg.ids[local] in where_map:
                    place = self.folder.path if self.folder is not None else "the index"
                    raise CorruptIndexError(f"{place}: id {seg.ids[local]!r} is stored twice")
                where_map[seg.ids[local]] = (s, int(local))
        self.manifest, self.segments, self.where, self.schema = (
            manifest,
            segments,
            where_map,
            schema,
        )

    def replace_deleted(self, masks: Sequence[np.ndarray]) -> None:
        """Adopt other removed-document masks for the held segments.

        For an index read from an older format that kept its tombstones elsewhere;
        :meth:`persist_deleted` writes them.
        """
        segments = [
            dataclasses.replace(seg, deleted=np.asarray(mask, dtype=bool))
            for seg, mask in zip(self.segments, masks, strict=True)
        ]
        self._adopt(self.manifest, segments, self.schema)

    # ------------------------------------------------------------------ views
    @property
    def documents_ids(self) -> list[str]:
        """Ids of the live documents, in segment order."""
        return [seg.ids[i] for seg in self.segments for i in np.flatnonzero(~seg.deleted).tolist()]

    def __len__(self) -> int:
        return len(self.where)

    def __contains__(self, document_id: object) -> bool:
        return isinstance(document_id, str) and document_id in self.where

    def texts(self, ids: Sequence[str]) -> list[str | None]:
        """Return the stored text of each (known) id, in the order given (``None`` if none)."""
        return [self.segments[s].text(local) for s, local in (self.where[i] for i in ids)]

    def metadata(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Return the stored metadata of each (known) id, in the order given (``{}`` if none)."""
        return [self.segments[s].meta(local) for s, local in (self.where[i] for i in ids)]

    def documents(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Return ``{"id", "text", "metadata"}`` per (known) id, in the order given."""
        return [
            {"id": i, "text": t, "metadata": m}
            for i, t, m in zip(ids, self.texts(ids), self.metadata(ids), strict=True)
        ]

    def eligible(self, ids: Sequence[str] | None = None) -> list[np.ndarray]:
        """Return per segment the bool mask of the documents a search may return.

        These are the live ones, and with ``ids`` only those listed (unknown ids are ignored).
        """
        if ids is None:
            return [~seg.deleted for seg in self.segments]
        masks = [np.zeros(seg.n_docs, dtype=bool) for seg in self.segments]
        for i in ids:
            place = self.where.get(i)
            if place is not None:
                masks[place[0]][place[1]] = True
        return masks

    def matching(
        self, where: Any, params: Any = None, columns: Mapping[str, str] | None = None
    ) -> list[np.ndarray] | None:
        """Return per segment the mask of the live documents whose metadata satisfies ``where``.

        ``where`` is a SQL condition (``params`` bound to its ``?``; see
        :mod:`plait.indexes.filtering`); ``None`` without a condition. ``columns``: more known
        columns (all ``NULL`` here), e.g. those of the other shards of a sharded index.
        """
        from plait.indexes.filtering import check_filter, matching_rows

        spec = check_filter(where, params)
        if spec is None:
            return None
        schema = {**(columns or {}), **self.schema}
        tables = [
            (metadata_table(seg.metadata, seg.ids, schema), seg.n_docs) for seg in self.segments
        ]
        masks = []
        for seg, rows in zip(self.segments, matching_rows(spec, tables, schema), strict=True):
            mask = np.zeros(seg.n_docs, dtype=bool)
            mask[rows] = True
            masks.append(mask & ~seg.deleted)
        return masks

    def ids_where(self, masks: Sequence[np.ndarray]) -> list[str]:
        """Return the ids of the documents set in per-segment ``masks``, in segment order."""
        return [
            seg.ids[i]
            for seg, mask in zip(self.segments, masks, strict=True)
            for i in np.flatnonzero(mask).tolist()
        ]

    def needs_compaction(self) -> bool:
        """Return whether segments pile up or removed documents (32 or more) outnumber live ones."""
        dead = sum(seg.n_docs - seg.n_live for seg in self.segments)
        return len(self.segments) > MAX_SEGMENTS or (dead > len(self) and dead >= 32)

    # ------------------------------------------------------------------ writing
    def next_manifest(self, version: int) -> dict[str, Any]:
        """Return a copy of the held manifest to build the next commit in.

        ``version`` is what the writer writes; an older index is upgraded by its first write.
        """
        m = {k: v for k, v in self.manifest.items() if k not in ("previous_files", "retired")}
        m.update(
            version=version,
            settings=dict(m.get("settings", {})),
            segments=[dict(s) for s in m.get("segments", [])],
            stats=dict(m.get("stats", {})),
            files=dict(m.get("files", {})),
            metadata_schema=dict(self.schema),
        )
        self._staged = {}
        return m

    def merge_schema(
        self, manifest: dict[str, Any], rows: list[dict[str, Any]] | None, ids: Sequence[str]
    ) -> None:
        """Add ``rows``' metadata columns to the commit's schema.

        A type clash raises before any file is written.
        """
        if rows:
            manifest["metadata_schema"] = merge_schema(manifest.get("metadata_schema"), rows, ids)

    def add_segment(
        self,
        manifest: dict[str, Any],
        ids: list[str],
        n_tokens: int,
        payload: Callable[[str], dict[str, Any]],
        texts: list[str | None] | None = None,
        rows: list[dict[str, Any]] | None = None,
        in_memory: Callable[[dict[str, Any]], Any] | None = None,
    ) -> str:
        """Append a segment to the commit being built; return its name.

        ``payload(name)`` writes its vector files (returns their entries keyed ``<name>.<role>``);
        ids, texts and metadata are written here. ``in_memory(common)`` builds the segment object
        of an in-memory store.
        """
        name = f"s{int(manifest['next_segment']):06d}"
        manifest["next_segment"] = int(manifest["next_segment"]) + 1
        texts = texts if texts is not None and any(t is not None for t in texts) else None
        rows = rows if rows is not None and any(rows) else None
        if self.folder is not None:
            files = manifest["files"]
            if (
                rows is not None
            ):  # first: a value the schema refuses is refused before anything is written
                files[f"{name}.metadata"] = write_metadata(
                    self.folder,
                    f"{name}.metadata",
                    rows,
                    ids,
                    manifest.get("metadata_schema") or {},
                )
            files.update(payload(name))
            files[f"{name}.ids"] = self.folder.write_json(f"{name}.ids", list(ids))
            if texts is not None:
                files[f"{name}.texts"] = self.folder.write_json(f"{name}.texts", list(texts))
        else:
            assert in_memory is not None
            common = {
                "name": name,
                "ids": list(ids),
                "deleted": np.zeros(len(ids), dtype=bool),
                "texts": texts,
                "metadata": rows,
            }
            self._staged[name] = in_memory(common)
        manifest["segments"].append({"name": name, "n_docs": len(ids), "n_tokens": int(n_tokens)})
        return name

    def remove(self, manifest: dict[str, Any], ids: Sequence[str]) -> None:
        """Tombstone ``ids`` (all known) in the commit being built: one new file per segment."""
        by_segment: dict[int, list[int]] = {}
        for i in ids:
            s, local = self.where[i]
            by_segment.setdefault(s, []).append(local)
        for s, locals_ in by_segment.items():
            seg = self._staged.get(self.segments[s].name, self.segments[s])
            deleted = seg.deleted.copy()
            deleted[locals_] = True
            if self.folder is not None:
                numbers = np.flatnonzero(deleted).astype(tombstone_dtype(len(deleted)))
                entry = self.folder.write_array(f"{seg.name}.tombstones", numbers)
                manifest["files"][f"{seg.name}.tombstones"] = entry
            else:
                self._staged[seg.name] = dataclasses.replace(seg, deleted=deleted)

    def update_metadata(
        self, manifest: dict[str, Any], ids: Sequence[str], rows: list[dict[str, Any]]
    ) -> None:
        """Replace the metadata of ``ids`` (all known) in the commit being built.

        Each touched segment gets a new metadata file (the schema is already merged into
        ``manifest``).
        """
        by_segment: dict[int, dict[int, dict[str, Any]]] = {}
        for doc_id, row in zip(ids, rows, strict=True):
            s, local = self.where[doc_id]
            by_segment.setdefault(s, {})[local] = row
        schema = manifest.get("metadata_schema") or {}
        for s, changes in by_segment.items():
            seg = self._staged.get(self.segments[s].name, self.segments[s])
            current = [changes.get(j, seg.meta(j)) for j in range(seg.n_docs)]
            role = f"{seg.name}.metadata"
            if self.folder is None:
                self._staged[seg.name] = dataclasses.replace(
                    seg, metadata=current if any(current) else None
                )
            elif any(current):
                manifest["files"][role] = write_metadata(
                    self.folder, role, current, seg.ids, schema
                )
            else:
                manifest["files"].pop(role, None)

    def persist_deleted(self, manifest: dict[str, Any]) -> None:
        """Write a tombstone file for every segment whose removed documents the commit lacks.

        An index read from an older format keeps them elsewhere.
        """
        if self.folder is None:
            return
        for seg in self.segments:
            if seg.deleted.any() and f"{seg.name}.tombstones" not in manifest["files"]:
                local = np.flatnonzero(seg.deleted).astype(tombstone_dtype(seg.n_docs))
                manifest["files"][f"{seg.name}.tombstones"] = self.folder.write_array(
                    f"{seg.name}.tombstones", local
                )

    def clear_segments(self, manifest: dict[str, Any]) -> None:
        """Start the commit's segment list afresh (compaction, re-training).

        The old segments' files leave the manifest (and are collected once no reader needs them).
        """
        manifest["files"] = {
            k: v
            for k, v in manifest["files"].items()
            if k.split(".")[0] not in {seg["name"] for seg in manifest["segments"]}
        }
        manifest["segments"] = []

    def commit(self, manifest: dict[str, Any], *, new_index: bool = False) -> None:
        """Commit ``manifest`` and adopt it.

        The commit is a compare-and-swap against the held state unless ``new_index``. In memory
        the staged segments become the state.
        """
        if self.folder is None:
            current = {seg.name: seg for seg in self.segments}
            current.update(self._staged)
            segments = [current[info["name"]] for info in manifest["segments"]]
            self._staged = {}
            self._adopt(manifest, segments, dict(manifest.get("metadata_schema") or {}))
            if self._after_load is not None:
                self._after_load()
            return
        committed = self.folder.commit(manifest, base=None if new_index else self.manifest)
        self._staged = {}
        self.load(committed)

    def open(self) -> None:
        """Read the folder's current commit (retried when a writer collects a file meanwhile)."""
        assert self.folder is not None
        self.folder.load_latest(self.load, expect=self.expect)

    def refresh(self) -> bool:
        """Adopt the state another writer committed since this store last read the folder.

        Returns ``True`` when it changed. Cheap when nothing changed (one small read).
        """
        if self.folder is None:
            return False
        current = self.folder.read_manifest(expect=self.expect)
        if state_key(current) == state_key(self.manifest):
            return False
        self.open()
        return True

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock, catching up with other writers' commits first.

        A failed write drops whatever it staged and re-reads the committed state.
        """
        if self.folder is None:
            try:
                yield
            except BaseException:
                self._staged = {}
                raise
            return
        with self.folder.writer_lock():
            self.refresh()
            try:
                yield
            except BaseException:
                self._staged = {}
                self.open()
                raise


class StoreBacked:
    """What an index built on a :class:`SegmentStore` gets from it.

    Texts and metadata look-ups, metadata filters and metadata updates. The index provides
    ``_store`` and ``_begin()`` (the next commit's manifest).
    """

    _store: SegmentStore

    def _begin(self) -> dict[str, Any]:
        raise NotImplementedError

    def _documents(self, ids: list[str]) -> list[dict[str, Any]]:
        raise_unknown(unknown_ids(ids, self._store.where))
        return self._store.documents(ids)

    @property
    def metadata_schema(self) -> dict[str, str]:
        """The metadata columns and their types (see :mod:`plait.indexes.metadata`)."""
        return dict(self._store.schema)

    def filter_ids(
        self,
        filter: str,
        filter_params: Sequence[Any] | None = None,
        columns: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Return the ids of the documents whose metadata satisfies the SQL condition ``filter``.

        ``filter_params`` are bound to its ``?`` (see :mod:`plait.indexes.filtering`).
        """
        return self._store.ids_where(self._store.matching(filter, filter_params, columns) or [])

    def update_metadata(self, documents_ids: Sequence[str], metadata: Sequence[Any]) -> Any:
        """Replace the metadata of documents in one commit; return the index.

        ``metadata`` holds one flat dict per id (``None`` or ``{}`` clears it); unknown ids raise
        :class:`UnknownIdError` and nothing changes.
        """
        ids = check_ids(documents_ids)
        rows = check_metadata(ids, metadata) or [{} for _ in ids]
        if not ids:
            return self
        with self._store.writing():
            raise_unknown(unknown_ids(ids, self._store.where))
            manifest = self._begin()
            self._store.merge_schema(manifest, rows, ids)
            self._store.update_metadata(manifest, ids, rows)
            self._store.commit(manifest)
        return self
