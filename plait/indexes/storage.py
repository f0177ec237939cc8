"""Crash-safe index folders: immutable data files + one JSON manifest as the commit point.

Rules (tantivy's): data files are written once under fresh names and fsynced; a commit writes the
manifest to a temporary file, fsyncs it and ``os.replace``s it over ``manifest.json``, then fsyncs the
folder. A reader that opens ``manifest.json`` sees exactly one committed state. Files referenced by
neither the current nor the previous manifest are garbage-collected after a commit (the previous
state's files are kept so a reader that just read the old manifest can still open them). No pickle:
arrays are ``.npy`` loaded with ``allow_pickle=False``; metadata is JSON.

Every file entry in a manifest records its size and CRC-32, so truncation is detected on open and
corruption by :meth:`IndexFolder.verify`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import threading
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from plait.indexes.base import CorruptIndexError, IndexLockedError

MANIFEST = "manifest.json"
LOCK = "writer.lock"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_CHUNK = 1 << 22


def check_name(name: str, what: str = "index name") -> str:
    """Reject names that could escape their folder (``..``, slashes, empty, hidden files)."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(
            f"invalid {what} {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "not starting with '.' and without '..' or path separators"
        )
    return name


def crc32_file(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


def fsync_dir(path: Path) -> None:
    """Make a rename or file creation inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IndexFolder:
    """One index's folder on disk: write files, commit manifests, read them back safely."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    # ---------------------------------------------------------------- manifest
    def exists(self) -> bool:
        return (self.path / MANIFEST).is_file()

    def read_manifest(self, expect: tuple[str, int] | None = None) -> dict[str, Any]:
        """The committed manifest. ``expect=(format, version)``: a manifest of another index kind
        raises ``ValueError`` (open it with the matching class, or override), another version of
        this kind :class:`CorruptIndexError`."""
        file = self.path / MANIFEST
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CorruptIndexError(f"no index at {self.path}: {file} is missing") from None
        try:
            manifest = json.loads(text)
        except json.JSONDecodeError as e:
            raise CorruptIndexError(f"{file} is not valid JSON ({e})") from None
        if not isinstance(manifest, dict) or "format" not in manifest:
            raise CorruptIndexError(f"{file} is not a plait index manifest")
        if expect is not None:
            kind, version = expect
            if manifest.get("format") != kind:
                raise ValueError(
                    f"{self.path} holds a {manifest.get('format')!r} index, not {kind!r}: open it "
                    "with the matching class or pass override=True to replace it"
                )
            if manifest.get("version") != version:
                raise CorruptIndexError(
                    f"{self.path} has format version {manifest.get('version')}, expected {version}"
                )
        return manifest

    def commit(self, manifest: Mapping[str, Any]) -> None:
        """Atomically make ``manifest`` the current state, then collect unreferenced files."""
        self.path.mkdir(parents=True, exist_ok=True)
        previous: list[str] = []
        if self.exists():
            try:
                previous = sorted(self.referenced_files(self.read_manifest()))
            except CorruptIndexError:
                previous = []
        data = dict(manifest)
        data["previous_files"] = previous
        tmp = self.path / f".{MANIFEST}.{secrets.token_hex(4)}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path / MANIFEST)
        fsync_dir(self.path)
        self.collect_garbage(data)

    @staticmethod
    def referenced_files(manifest: Mapping[str, Any]) -> set[str]:
        files = manifest.get("files", {})
        return {entry["name"] for entry in files.values()}

    def collect_garbage(self, manifest: Mapping[str, Any]) -> None:
        keep = self.referenced_files(manifest) | set(manifest.get("previous_files", []))
        keep |= {MANIFEST, LOCK}
        for child in self.path.iterdir():
            if child.name in keep or not child.is_file():
                continue
            if child.name.startswith(f".{MANIFEST}.") or child.suffix in {".npy", ".json", ".tmp"}:
                try:
                    child.unlink()
                except FileNotFoundError:
                    pass

    # ---------------------------------------------------------------- data files
    def write_array(self, stem: str, array: np.ndarray) -> dict[str, Any]:
        """Write ``array`` to a fresh ``<stem>.<random>.npy``, fsync it, return its manifest entry."""
        check_name(stem, "file stem")
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{stem}.{secrets.token_hex(6)}.npy"
        path = self.path / name
        with open(path, "wb") as f:
            np.save(f, np.ascontiguousarray(array), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        return {"name": name, "bytes": path.stat().st_size, "crc32": crc32_file(path)}

    def write_json(self, stem: str, obj: Any) -> dict[str, Any]:
        check_name(stem, "file stem")
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"{stem}.{secrets.token_hex(6)}.json"
        path = self.path / name
        with open(path, "w", encoding="utf-8") as f:
            json.dump(obj, f)
            f.flush()
            os.fsync(f.fileno())
        return {"name": name, "bytes": path.stat().st_size, "crc32": crc32_file(path)}

    def _checked_path(self, entry: Mapping[str, Any], verify_crc: bool) -> Path:
        name = check_name(str(entry.get("name", "")), "file name")
        path = self.path / name
        if not path.is_file():
            raise CorruptIndexError(f"index file {path} is missing")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise CorruptIndexError(
                f"index file {path} has {size} bytes, the manifest says {entry['bytes']} (truncated?)"
            )
        if verify_crc and crc32_file(path) != entry["crc32"]:
            raise CorruptIndexError(f"index file {path} fails its CRC-32 checksum (corrupted)")
        return path

    def read_array(
        self, entry: Mapping[str, Any], *, mmap: bool = True, verify_crc: bool = False
    ) -> np.ndarray:
        """Open an array listed in the manifest; memory-mapped read-only unless ``mmap=False``."""
        path = self._checked_path(entry, verify_crc)
        try:
            if mmap and entry["bytes"] > 0:
                return np.load(path, mmap_mode="r", allow_pickle=False)
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise CorruptIndexError(f"index file {path} cannot be read as .npy: {e}") from None

    def read_json(self, entry: Mapping[str, Any], *, verify_crc: bool = True) -> Any:
        path = self._checked_path(entry, verify_crc)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, OSError) as e:
            raise CorruptIndexError(f"index file {path} is not valid JSON: {e}") from None

    def verify(self, manifest: Mapping[str, Any] | None = None) -> None:
        """Integrity check: every file exists with its recorded size and checksum."""
        manifest = manifest if manifest is not None else self.read_manifest()
        for entry in manifest.get("files", {}).values():
            self._checked_path(entry, verify_crc=True)

    def disk_bytes(self, manifest: Mapping[str, Any] | None = None) -> int:
        """Bytes of the committed state: every referenced file plus the manifest."""
        manifest = manifest if manifest is not None else self.read_manifest()
        total = (self.path / MANIFEST).stat().st_size
        return total + sum(int(e["bytes"]) for e in manifest.get("files", {}).values())

    # ---------------------------------------------------------------- writer lock
    def _lock_fd(self) -> int:
        """Open ``writer.lock`` and take the exclusive flock, or raise :class:`IndexLockedError`."""
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise IndexLockedError(
                    f"index {self.path} is being written by another process "
                    "(writer lock held); retry when it is done"
                ) from None
            raise
        return fd

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Exclusive, non-blocking writer lock (``fcntl.flock``); a second writer gets a clear error.

        Passes straight through when this process holds the lock persistently
        (:meth:`hold_writer_lock`, e.g. a server that owns the index for its lifetime).
        """
        if os.path.realpath(self.path) in _HELD_LOCKS:
            yield
            return
        fd = self._lock_fd()
        try:
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def hold_writer_lock(self) -> None:
        """Take the writer lock until :meth:`release_writer_lock` (or process exit).

        Other processes are refused (:class:`IndexLockedError`) for as long as it is held; this
        process's own writes go through. A second hold in this process is refused as well (it would
        be a second owner, e.g. a second server on the same index).
        """
        key = os.path.realpath(self.path)
        with _HELD_GUARD:
            if key in _HELD_LOCKS:
                raise IndexLockedError(f"index {self.path} is already held for writing by this process")
            _HELD_LOCKS[key] = self._lock_fd()

    def release_writer_lock(self) -> None:
        """Release a lock taken by :meth:`hold_writer_lock` (no-op when not held)."""
        with _HELD_GUARD:
            fd = _HELD_LOCKS.pop(os.path.realpath(self.path), None)
        if fd is not None:
            os.close(fd)


_HELD_LOCKS: dict[str, int] = {}  # real folder path -> fd of a writer lock held persistently
_HELD_GUARD = threading.Lock()
