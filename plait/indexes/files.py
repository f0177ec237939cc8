"""Immutable data files of an index folder: atomic replace, CRC-32, checked reads, lazy texts.

Everything here works on one path; what a file must contain (its manifest entry, its role) is
:mod:`plait.indexes.storage`'s business. Every read failure raises
:class:`~plait.indexes.base.CorruptIndexError` naming the file, or
:class:`~plait.indexes.base.MissingIndexFileError` when the file is gone (a reader may then retry on
a newer manifest).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from plait.indexes.base import CorruptIndexError, MissingIndexFileError

_CHUNK = 1 << 22


def crc32_file(path: Path) -> int:
    """Return the CRC-32 of the file at ``path``, read in 4 MiB chunks."""
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


def atomic_write(
    path: str | os.PathLike[str], data: bytes | str | Callable[[BinaryIO], object], *, tag: str = ""
) -> None:
    """Replace ``path`` with ``data`` atomically.

    A fresh temporary file in the same folder, fsync, ``os.replace``, fsync of the folder. A crash
    leaves the old file or the new one, never a mix; the temporary name
    (``.<name>.<tag><random hex>.tmp``) is random, so two writers never share one.

    ``data`` is the content (``str`` is written as UTF-8) or a function that writes it to the
    binary file it is given (e.g. ``lambda f: np.savez(f, ...)``). The one place in plait that
    replaces a file: index manifests, codebooks, encoded shards, mined rows all go through it.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{tag}{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_replace_dir(target: str | os.PathLike[str], fill: Callable[[Path], object]) -> bool:
    """Create the folder ``target`` whole or not at all; return whether ours was used.

    ``fill(staging)`` writes its files into a fresh hidden folder beside it, every file and the
    folder are fsynced, then one rename makes it appear. If ``target`` exists already (another
    process got there first) it is kept as it is and the staging folder, which only this call
    wrote, is removed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    staging.mkdir()
    try:
        fill(staging)
        for path in staging.rglob("*"):
            if path.is_file():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
        fsync_dir(staging)
        try:
            os.rename(staging, target)  # fails when target exists (POSIX: non-empty folder)
        except OSError:
            if not target.exists():
                raise
            return False
        fsync_dir(target.parent)
        return True
    finally:
        if staging.exists():
            for path in sorted(staging.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            staging.rmdir()


def _header_problem(
    shape: tuple[int, ...],
    fortran: bool,
    dtype: np.dtype,
    offset: int,
    size: int,
    dtypes: tuple[str, ...] | None,
    ndim: int | None,
) -> str | None:
    """Say what is wrong with a ``.npy`` header plait could have written, or return ``None``."""
    if fortran:
        return "Fortran order"
    if dtype.kind not in "biuf" or dtype.byteorder == ">" or (dtypes and dtype.name not in dtypes):
        return "an unexpected dtype"
    if ndim is not None and len(shape) != ndim:
        return f"{len(shape)} dimensions instead of {ndim}"
    if (
        any(d < 0 for d in shape)
        or offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize != size
    ):
        return "a data size that does not fill the file"
    return None


def read_npy(
    path: Path,
    size: int,
    *,
    mmap: bool = True,
    dtypes: tuple[str, ...] | None = None,
    ndim: int | None = None,
) -> np.ndarray:
    """Open a ``.npy`` file of ``size`` bytes, memory-mapped read-only unless ``mmap=False``.

    Its header is checked before any data is read: C order, little-endian plain numbers,
    ``dtypes`` and ``ndim`` when given, data exactly filling the file.
    """
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {version}")
            offset = f.tell()
        problem = _header_problem(shape, fortran, dtype, offset, size, dtypes, ndim)
        if problem is not None:
            raise ValueError(f"its header declares {problem} (shape {shape}, dtype {dtype})")
        if mmap and int(np.prod(shape, dtype=np.int64)) > 0:
            return np.load(path, mmap_mode="r", allow_pickle=False)
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:  # collected by a commit since the size check: a newer state
        raise MissingIndexFileError(f"index file {path} is missing") from None
    except Exception as e:  # a damaged header can raise almost anything from numpy's parser
        raise CorruptIndexError(f"index file {path} cannot be read as .npy: {e}") from None


def decode_json(raw: bytes, path: Path) -> Any:
    """Parse ``raw`` (the bytes of ``path``) as UTF-8 JSON, or raise an error naming ``path``."""
    try:
        return json.loads(raw.decode("utf-8"))
    except Exception as e:
        raise CorruptIndexError(f"index file {path} is not valid JSON: {e}") from None


def read_json_file(path: Path) -> Any:
    """Read and parse the JSON file ``path`` (:class:`MissingIndexFileError` when it is gone)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MissingIndexFileError(f"index file {path} is missing") from None
    return decode_json(raw, path)


class LazyTexts:
    """Document texts of one segment, read on first use.

    The file is opened when the segment is (so a commit that collects it later cannot pull it away
    from this reader) and parsed, CRC-checked, on first use.
    """

    def __init__(self, path: Path, entry: Mapping[str, Any], count: int) -> None:
        self.path, self._entry, self._count = path, dict(entry), count
        try:
            self._handle: Any = open(path, "rb")  # noqa: SIM115 - kept open on purpose, see above
        except FileNotFoundError:
            raise MissingIndexFileError(f"index file {path} is missing") from None
        self._value: list[str | None] | None = None
        self._error: CorruptIndexError | None = None  # the file is read once: a failure stays
        self._lock = threading.Lock()

    def get(self) -> list[str | None]:
        """Return the texts (one per document, ``None`` where none was stored), parsed once."""
        with self._lock:
            if self._value is None:
                if self._error is not None:
                    raise self._error
                try:
                    self._value = self._parse()
                except CorruptIndexError as error:
                    self._error = error
                    raise
            return self._value

    def _parse(self) -> list[str | None]:
        self._handle.seek(0)
        raw = self._handle.read()
        self._handle.close()
        if zlib.crc32(raw) != self._entry["crc32"]:
            raise CorruptIndexError(f"index file {self.path} fails its CRC-32 checksum (corrupted)")
        value = decode_json(raw, self.path)
        if (
            not isinstance(value, list)
            or len(value) != self._count
            or not all(t is None or isinstance(t, str) for t in value)
        ):
            raise CorruptIndexError(f"index file {self.path} does not hold {self._count} texts")
        return value

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()


def text_at(texts: LazyTexts | list[str | None] | None, local: int) -> str | None:
    """Return text ``local`` of a segment's texts (a file, or a list), ``None`` without texts."""
    if texts is None:
        return None
    return (texts.get() if isinstance(texts, LazyTexts) else texts)[local]
