"""Crash-safe index folders: immutable data files + one JSON manifest as the commit point.

Rules (tantivy's): data files are written once under fresh names and fsynced; a commit writes the
manifest to a temporary file, fsyncs it and ``os.replace``s it over ``manifest.json``, then fsyncs the
folder. A reader that opens ``manifest.json`` sees exactly one committed state. No pickle: arrays are
``.npy`` loaded with ``allow_pickle=False``; metadata is JSON.

Safety rules enforced here, for every index kind:

* **Delete only what plait wrote.** A file is deleted only when its name follows plait's pattern
  (``<stem>.<12 hex>.npy|json``) *and* an earlier manifest of this folder listed it, or this very
  :class:`IndexFolder` wrote it and the commit did not keep it, or its name carries the
  ``file_tag`` of the manifest the commit replaces (each manifest announces a random tag; a writer
  holding the lock names its new files with the current manifest's tag, so the files of a writer
  that crashed before committing are provably plait's and are collected by the next commit).
  A commit lists what it is about to delete (``deleting``) before it deletes it, so a crash in
  between leaves the next commit to finish the job. A
  folder that holds files but no manifest is someone else's:
  :meth:`IndexFolder.check_creatable` refuses it (:class:`~plait.indexes.base.ForeignFolderError`).
* **Generations only grow; a commit builds on what it read.** Every manifest carries a random
  ``index_id`` (new at creation and at every override) and a ``generation``. :meth:`IndexFolder.commit`
  runs under the writer lock and checks that the manifest on disk is still the one the writer
  started from (compare-and-swap), else :class:`~plait.indexes.base.StaleManifestError`.
* **Readers never see a healthy index as corrupt.** Files a commit stops referencing are kept for
  :data:`KEEP_GENERATIONS` more commits (``retired`` in the manifest), and :meth:`IndexFolder.load_latest`
  retries an open on the newer manifest when a file of the one it read has just been collected.
* **Damage is named, never a crash.** The manifest carries a CRC-32 of its own content; every file
  entry records its size and CRC-32. Sizes and ``.npy`` headers are checked on every open, and the
  CRCs of structural files and of every file up to :data:`SMALL_FILE` bytes;
  :meth:`IndexFolder.verify` checks every CRC.
  Every read failure raises :class:`~plait.indexes.base.CorruptIndexError` naming the file.

The writer lock is ``fcntl.flock`` on ``writer.lock`` (POSIX; :mod:`plait.indexes.locks`); data
files are written and read by :mod:`plait.indexes.files`.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np

from plait.indexes import foreign
from plait.indexes.base import (
    CorruptIndexError,
    ForeignFolderError,
    MissingIndexFileError,
    StaleManifestError,
)
from plait.indexes.files import (
    LazyTexts,
    atomic_write,
    crc32_file,
    fsync_dir,
    read_json_file,
    read_npy,
)
from plait.indexes.locks import hold, is_held, lock_file, release

MANIFEST = "manifest.json"
LOCK = "writer.lock"
KEEP_GENERATIONS = 2  # commits for which a file that is no longer referenced stays on disk
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_OWN_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(?P<hex>[0-9a-f]{12})\.(npy|json)$")
_OWN_TEMP = re.compile(r"^\.manifest\.json\.(?P<hex>[0-9a-f]{8,14})\.tmp$")
SMALL_FILE = 1 << 20  # files up to this size are CRC-checked on every open (about 1 ms each)
_OPEN_ATTEMPTS = 50

T = TypeVar("T")


def check_name(name: str, what: str = "index name") -> str:
    """Reject names that could escape their folder (``..``, slashes, empty, hidden files)."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(
            f"invalid {what} {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "not starting with '.' and without '..' or path separators"
        )
    return name


def manifest_checksum(manifest: Mapping[str, Any]) -> str:
    """CRC-32 of the manifest's canonical JSON, without its own ``checksum`` key."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return f"crc32:{zlib.crc32(text.encode('ascii')):08x}"


def state_key(manifest: Mapping[str, Any]) -> tuple[Any, Any]:
    """Return what identifies a committed state: the index's random id and the generation."""
    return manifest.get("index_id"), manifest.get("generation")


def referenced_files(manifest: Mapping[str, Any]) -> set[str]:
    """Return the names of the data files ``manifest`` lists."""
    return {entry["name"] for entry in manifest.get("files", {}).values()}


def require(manifest: Mapping[str, Any], key: str, types: Any, where: Path) -> Any:
    """Return ``manifest[key]`` when it has one of ``types``.

    Otherwise raise a :class:`CorruptIndexError` naming the manifest file (``where``) and the key;
    a bool is refused unless ``bool`` is among ``types``.
    """
    if key not in manifest:
        raise CorruptIndexError(f"{where}: key {key!r} is missing")
    value = manifest[key]
    allowed = types if isinstance(types, tuple) else (types,)
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise CorruptIndexError(f"{where}: key {key!r} has an invalid value {value!r}")
    return value


def _check_schema(manifest: Any, where: Path) -> None:
    """Keys every plait manifest has, with their types (kind-specific keys are the index's job)."""
    if not isinstance(manifest, dict) or "format" not in manifest:
        raise CorruptIndexError(f"{where} is not a plait index manifest")
    require(manifest, "format", str, where)
    require(manifest, "version", int, where)
    generation = require(manifest, "generation", int, where)
    if generation < 0:
        raise CorruptIndexError(f"{where}: key 'generation' is negative ({generation})")
    files = require(manifest, "files", dict, where)
    for role, entry in files.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("name"), str)
            or not _SAFE_NAME.match(entry["name"])
            or type(entry.get("bytes")) is not int
            or entry["bytes"] < 0
            or type(entry.get("crc32")) is not int
        ):
            raise CorruptIndexError(f"{where}: key 'files' has an invalid entry for {role!r}")


class IndexFolder:
    """One index's folder on disk: write files, commit manifests, read them back safely."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._written: set[str] = set()  # data files written by this object, not yet committed
        self._lock_depth = 0
        self._tag = ""  # the current manifest's file_tag while this object holds the lock

    @property
    def manifest_path(self) -> Path:
        """The folder's ``manifest.json``, the commit point."""
        return self.path / MANIFEST

    # ---------------------------------------------------------------- manifest
    def exists(self) -> bool:
        """Return whether the folder holds a committed manifest."""
        return self.manifest_path.is_file()

    def foreign_entries(self) -> list[str]:
        """Entries of the folder other than plait's lock file and temporary manifests."""
        if not self.path.is_dir():
            return []
        return sorted(
            child.name
            for child in self.path.iterdir()
            if child.name != LOCK and not _OWN_TEMP.match(child.name)
        )

    def check_creatable(self) -> None:
        """Refuse to create an index in a folder that holds files but no plait manifest.

        A missing or empty folder is fine. Anything else is someone's data (an index whose
        manifest was lost, a PyLate / fast-plaid index, a folder given by mistake): plait neither
        writes into it nor deletes from it unless asked with ``override=True``.
        """
        if self.path.exists() and not self.path.is_dir():
            raise ForeignFolderError(f"{self.path} exists and is not a folder")
        if self.exists():
            return
        found = self.foreign_entries()
        if not found:
            return
        shown = ", ".join(found[:8]) + (f", ... ({len(found)} entries)" if len(found) > 8 else "")
        engine = foreign.describe(found)
        if engine is not None:
            raise ForeignFolderError(
                f"{self.path} holds {engine} (found: {shown}), not a plait index; plait will not "
                f"write into it: {foreign.remedy(engine, self.path)}"
            )
        raise ForeignFolderError(
            f"{self.path} is not empty but holds no plait {MANIFEST} (found: {shown}); it is "
            "not a plait index, so plait will not write into it. Open another folder, or pass "
            "override=True to create a plait index there (files plait did not write are kept)"
        )

    def create_unless_present(self, override: bool, create: Callable[[], Any]) -> None:
        """Open an index folder as every index does, creating the index when needed.

        Refuse someone's folder (:meth:`check_creatable`, unless ``override``); then, when there
        is no index yet or ``override`` asks for a new one, run ``create()`` (which commits the new
        index with ``base=None``) under the writer lock, after checking again that no other
        process created the index meanwhile.
        """
        if not override:
            self.check_creatable()
        if override or not self.exists():
            with self.writer_lock():
                if override or not self.exists():
                    create()

    def read_manifest(
        self, expect: tuple[str, int | tuple[int, ...]] | None = None
    ) -> dict[str, Any]:
        """Read the committed manifest, its checksum and schema checked.

        With ``expect=(format, versions)``, a manifest of another index kind raises ``ValueError``
        (open it with the matching class, or override), and a version of this kind not among
        ``versions`` raises :class:`CorruptIndexError`.
        """
        file = self.manifest_path
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            raise MissingIndexFileError(f"no index at {self.path}: {file} is missing") from None
        except OSError as e:
            raise CorruptIndexError(f"{file} cannot be read ({e})") from None
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as e:
            raise CorruptIndexError(f"{file} is not valid JSON ({e})") from None
        _check_schema(manifest, file)
        checksum = manifest.get("checksum")
        if checksum is not None or "index_id" in manifest:
            if checksum != manifest_checksum(manifest):
                raise CorruptIndexError(f"{file} fails its checksum (corrupted)")
        if expect is not None:
            kind, version = expect
            versions = version if isinstance(version, tuple) else (version,)
            if manifest["format"] != kind:
                raise ValueError(
                    f"{self.path} holds a {manifest['format']!r} index, not {kind!r}: open it "
                    "with the matching class or pass override=True to replace it"
                )
            if manifest["version"] not in versions:
                raise CorruptIndexError(
                    f"{self.path} has format version {manifest['version']}; this plait reads "
                    f"{' and '.join(map(str, versions))} (a newer plait wrote it?)"
                )
        return dict(manifest)

    def load_latest(
        self,
        load: Callable[[dict[str, Any]], T],
        expect: tuple[str, int | tuple[int, ...]] | None = None,
    ) -> T:
        """Run ``load(manifest)`` on the current manifest and return what it returns.

        It is retried on a newer manifest when a file of the one just read has meanwhile been
        collected by a writer's commit (a reader racing commits must never report a healthy index
        as corrupt). Malformed content raises :class:`CorruptIndexError` naming the manifest.
        """
        manifest = self.read_manifest(expect)
        for attempt in range(_OPEN_ATTEMPTS):
            try:
                return load(manifest)
            except MissingIndexFileError:
                newer = self.read_manifest(expect)
                if state_key(newer) == state_key(manifest) or attempt == _OPEN_ATTEMPTS - 1:
                    raise
                manifest = newer
                time.sleep(min(0.001 * 2**attempt, 0.05))
            except (KeyError, TypeError, IndexError, AttributeError) as e:
                raise CorruptIndexError(
                    f"{self.manifest_path}: malformed manifest ({type(e).__name__}: {e})"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _current_or_none(self) -> dict[str, Any] | None:
        """Return the committed manifest, ``None`` when there is none; a damaged one raises."""
        if not self.exists():
            return None
        return self.read_manifest()

    def commit(
        self, manifest: Mapping[str, Any], *, base: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Atomically make ``manifest`` the current state; returns it as committed.

        ``base`` is the manifest this state was built on: it must still be the current one
        (same ``index_id`` and ``generation``), else :class:`StaleManifestError`. ``base=None``
        starts a new index (creation or override): a fresh ``index_id`` and a generation above any
        before it. The caller holds the writer lock. Files the new state no longer references are
        retired and deleted :data:`KEEP_GENERATIONS` commits later (only plait's own, see the
        module docstring).
        """
        if not self.holds_lock():
            raise RuntimeError(f"commit on {self.path} without holding its writer lock")
        self.path.mkdir(parents=True, exist_ok=True)
        data = {k: v for k, v in manifest.items() if k not in ("checksum", "previous_files")}
        try:
            previous = self._current_or_none()
        except CorruptIndexError:
            if base is not None:
                raise
            previous = None
            self._set_aside_unreadable_manifest()
        if base is not None:
            if previous is None or state_key(previous) != state_key(base):
                raise StaleManifestError(
                    f"{self.path} changed since this writer read it (another writer committed or "
                    "the index was rebuilt); reopen the index and retry"
                )
            data["index_id"] = base.get("index_id") or secrets.token_hex(8)
        else:
            data["index_id"] = secrets.token_hex(8)
        data["generation"] = (int(previous["generation"]) if previous else 0) + 1
        data["retired"], doomed = self._retire(previous, data)
        data["deleting"] = sorted(
            doomed
        )  # listed first: a crash before they are gone leaks nothing
        data["file_tag"] = secrets.token_hex(3)
        data["checksum"] = manifest_checksum(data)
        atomic_write(self.manifest_path, json.dumps(data, indent=1, sort_keys=True), tag=self._tag)
        self._delete(doomed)
        self._written.clear()
        self._tag = data["file_tag"]
        return data

    def _retire(
        self, previous: Mapping[str, Any] | None, new: Mapping[str, Any]
    ) -> tuple[dict[str, int], set[str]]:
        """``(retired, doomed)``: files kept for readers of older states, files to delete now."""
        keep = referenced_files(new)
        generation = int(new["generation"])
        retired: dict[str, int] = {}
        doomed = {name for name in self._written if name not in keep}
        if previous is not None:
            old: dict[str, int] = {}
            for name in previous.get("previous_files", []):  # format-1 manifests written before
                old[str(name)] = int(previous["generation"])
            for name, since in dict(previous.get("retired") or {}).items():
                old[str(name)] = int(since)
            for name in referenced_files(previous) - keep:
                old[name] = generation
            for name, since in old.items():
                if name in keep:
                    continue
                if generation - since < KEEP_GENERATIONS:
                    retired[name] = since
                else:
                    doomed.add(name)
        if previous is not None:  # files of writers that built on it and crashed before committing
            doomed |= self._tagged(previous)
            # files the previous commit meant to delete, if a crash stopped it after its switch
            doomed |= {str(name) for name in previous.get("deleting") or []}
        doomed -= set(retired) | keep
        own = {n for n in doomed if _OWN_FILE.match(n) or _OWN_TEMP.match(n)}
        return retired, {n for n in own if (self.path / n).exists()}

    def _tagged(self, manifest: Mapping[str, Any]) -> set[str]:
        """Files in the folder named with ``manifest``'s ``file_tag`` (see the module docstring)."""
        tag = str(manifest.get("file_tag") or "")
        if len(tag) != 6:
            return set()
        out = set()
        for child in self.path.iterdir():
            match = _OWN_FILE.match(child.name) or _OWN_TEMP.match(child.name)
            if match and match["hex"].startswith(tag):
                out.add(child.name)
        return out

    def destroy(self) -> None:
        """Delete this index from disk, keeping anything plait cannot prove it wrote.

        Deleted: the files the manifest lists, retires or tags (a crashed writer's), the index
        folders it lists as children (a sharded index's ``shards``), the manifest and the lock;
        then the folder itself once nothing else is left in it. The caller holds the writer lock.
        """
        if self.exists():
            manifest = self.read_manifest()
            for shard in manifest.get("shards") or []:
                parts = str(shard.get("folder", "")).split("/") if isinstance(shard, dict) else []
                if parts and all(_SAFE_NAME.match(part) and ".." not in part for part in parts):
                    IndexFolder(self.path.joinpath(*parts)).destroy()
            names = referenced_files(manifest) | set(manifest.get("retired") or {})
            names |= {str(name) for name in manifest.get("deleting") or []}
            names |= set(manifest.get("previous_files") or []) | self._tagged(manifest)
            self._delete({n for n in names if _OWN_FILE.match(n)})
            self.manifest_path.unlink()
        if not self.path.is_dir():
            return
        for child in self.path.iterdir():
            if child.name == LOCK or _OWN_TEMP.match(child.name):
                child.unlink(missing_ok=True)
            elif child.name == "shards" and child.is_dir() and not any(child.iterdir()):
                child.rmdir()  # a sharded index's emptied shards/ folder
        if not any(self.path.iterdir()):
            self.path.rmdir()

    def _delete(self, names: set[str]) -> None:
        for name in names:
            try:
                (self.path / name).unlink()
            except FileNotFoundError:
                pass

    def _set_aside_unreadable_manifest(self) -> None:
        """Keep a damaged manifest (renamed) instead of overwriting it: plait cannot prove it."""
        if self.exists():
            aside = self.path / f"{MANIFEST}.unreadable-{time.strftime('%Y%m%dT%H%M%S')}"
            os.replace(self.manifest_path, aside)

    # ---------------------------------------------------------------- data files
    def _new_file(self, stem: str, suffix: str) -> tuple[str, Path]:
        check_name(stem, "file stem")
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{stem}.{self._tag}{secrets.token_hex(6 - len(self._tag) // 2)}{suffix}"
        self._written.add(name)
        return name, self.path / name

    def write_file(
        self, stem: str, suffix: str, write: Callable[[BinaryIO], object]
    ) -> dict[str, Any]:
        """Write a fresh data file ``<stem>.<random><suffix>`` with ``write(handle)`` and fsync it.

        Returns its manifest entry (name, bytes, CRC-32). Data files are never overwritten.
        """
        name, path = self._new_file(stem, suffix)
        with open(path, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        return {"name": name, "bytes": path.stat().st_size, "crc32": crc32_file(path)}

    def write_array(self, stem: str, array: np.ndarray) -> dict[str, Any]:
        """Write ``array`` to a fresh ``<stem>.<random>.npy`` (see :meth:`write_file`)."""
        return self.write_file(
            stem, ".npy", lambda f: np.save(f, np.ascontiguousarray(array), allow_pickle=False)
        )

    def write_json(self, stem: str, obj: Any) -> dict[str, Any]:
        """Write ``obj`` as JSON to a fresh ``<stem>.<random>.json`` (see :meth:`write_file`)."""
        return self.write_file(stem, ".json", lambda f: f.write(json.dumps(obj).encode("utf-8")))

    def open_file(self, entry: Mapping[str, Any]) -> tuple[Path, BinaryIO]:
        """Return a data file's path and an open handle, its size checked.

        Its CRC is the reader's to check when it parses it (see
        :class:`~plait.indexes.files.LazyTexts`).
        """
        path = self._checked_path(entry, verify_crc=False)
        try:
            return path, open(path, "rb")  # noqa: SIM115 - the caller keeps it open on purpose
        except FileNotFoundError:
            raise MissingIndexFileError(f"index file {path} is missing") from None

    def _checked_path(self, entry: Mapping[str, Any], verify_crc: bool) -> Path:
        name = check_name(str(entry.get("name", "")), "file name")
        path = self.path / name
        try:  # a file collected by a commit while we look at it is missing, not corrupt
            size = path.stat().st_size
            if size != entry["bytes"]:
                raise CorruptIndexError(
                    f"index file {path} has {size} bytes, the manifest says {entry['bytes']} "
                    "(truncated?)"
                )
            if verify_crc and crc32_file(path) != entry["crc32"]:
                raise CorruptIndexError(f"index file {path} fails its CRC-32 checksum (corrupted)")
        except FileNotFoundError:
            raise MissingIndexFileError(f"index file {path} is missing") from None
        return path

    def read_array(
        self,
        entry: Mapping[str, Any],
        *,
        mmap: bool = True,
        verify_crc: bool = False,
        dtypes: tuple[str, ...] | None = None,
        ndim: int | None = None,
    ) -> np.ndarray:
        """Open an array listed in the manifest; memory-mapped read-only unless ``mmap=False``.

        The ``.npy`` header is checked before any data is read: C order, little-endian plain
        numbers (``dtypes`` when given), ``ndim`` when given, and a data size that fills the file
        exactly. The whole file's CRC-32 is checked too with ``verify_crc`` (structural files) or
        when it is at most :data:`SMALL_FILE` bytes.
        """
        path = self._checked_path(entry, verify_crc or entry["bytes"] <= SMALL_FILE)
        return read_npy(path, entry["bytes"], mmap=mmap, dtypes=dtypes, ndim=ndim)

    def read_json(self, entry: Mapping[str, Any], *, verify_crc: bool = True) -> Any:
        """Read a JSON file listed in the manifest, its size and (by default) CRC-32 checked."""
        return read_json_file(self._checked_path(entry, verify_crc))

    def open_texts(self, entry: Mapping[str, Any], count: int) -> LazyTexts:
        """Open a texts file (JSON list of ``count`` strings or nulls) now; it is parsed on use."""
        return LazyTexts(self._checked_path(entry, verify_crc=False), entry, count)

    def verify(self, manifest: Mapping[str, Any] | None = None) -> None:
        """Integrity check: every file exists with its recorded size and checksum."""
        manifest = manifest if manifest is not None else self.read_manifest()
        for entry in manifest.get("files", {}).values():
            self._checked_path(entry, verify_crc=True)

    def disk_bytes(self, manifest: Mapping[str, Any] | None = None) -> int:
        """Bytes of the committed state: every referenced file plus the manifest."""
        manifest = manifest if manifest is not None else self.read_manifest()
        total = self.manifest_path.stat().st_size
        return total + sum(int(e["bytes"]) for e in manifest.get("files", {}).values())

    # ---------------------------------------------------------------- writer lock
    def holds_lock(self) -> bool:
        """Return whether this object (or this process, persistently) holds the writer lock."""
        return self._lock_depth > 0 or is_held(self.path)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Exclusive, non-blocking writer lock (``fcntl.flock``); a second writer gets a clear error.

        Passes straight through when this process holds the lock persistently
        (:meth:`hold_writer_lock`, e.g. a server that owns the index for its lifetime) or this
        object already holds it (nested use).
        """
        fd = None if self.holds_lock() else lock_file(self.path / LOCK, self.path)
        if self._lock_depth == 0:
            self._tag = self._current_tag()
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                self._tag = ""
            if fd is not None:
                os.close(fd)  # closing releases the flock

    def _current_tag(self) -> str:
        """Return the committed manifest's ``file_tag`` ("" when there is none or it is damaged)."""
        try:
            manifest = self._current_or_none()
        except CorruptIndexError:
            return ""
        tag = manifest.get("file_tag") if manifest else None
        return tag if isinstance(tag, str) and re.fullmatch(r"[0-9a-f]{6}", tag) else ""

    def hold_writer_lock(self) -> None:
        """Take the writer lock until :meth:`release_writer_lock` (or process exit).

        Other processes are refused (:class:`IndexLockedError`) for as long as it is held; this
        process's own writes go through. A second hold in this process is refused as well (it would
        be a second owner, e.g. a second server on the same index).
        """
        hold(self.path / LOCK, self.path)

    def release_writer_lock(self) -> None:
        """Release a lock taken by :meth:`hold_writer_lock` (no-op when not held)."""
        release(self.path)


__all__ = [
    "KEEP_GENERATIONS",
    "LOCK",
    "MANIFEST",
    "SMALL_FILE",
    "IndexFolder",
    "LazyTexts",
    "atomic_write",
    "check_name",
    "crc32_file",
    "fsync_dir",
    "manifest_checksum",
    "referenced_files",
    "require",
    "state_key",
]
