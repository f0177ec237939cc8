"""Embedding shard folders: the on-disk output of a distributed encode (no Ray needed to read).

A shard folder holds the token embeddings of one corpus, split by input position into shards::

    OUTPUT/
      manifest.json                         the plan and, once finished, "complete": true
      shard-000000000000-000000001000.npz   documents [0, 1000) of the input, in input order
      shard-000000001000-000000002000.npz   ...
      encode.lock                           flock held by the one encode writing the folder
      encode.run, encode.writers.lock       the run that owns the folder; replicas' write slots

Each shard is a ``.npz`` with the same arrays as ``plait encode -o x.npz`` writes: ``embeddings``
(all token vectors stacked, ``(n_tokens, dim)`` float32), ``lengths`` (int64, tokens per document)
and ``ids`` (str). Its name is its input range, so a re-run knows which shards exist. A shard is
written to a hidden temporary name, fsynced, renamed (``os.replace``) and the folder fsynced, so
a reader never sees a half-written shard under a final name. ``.npz`` is a zip: a truncated file
has no central directory and fails to open, and every member carries a CRC-32 that
:func:`check_shard` verifies, with the ids compared against the input's ids for that range.

``manifest.json`` (written atomically) records the plan: ``format`` ("plait-embedding-shards"),
``version``, ``n_documents``, ``shard_size``, ``ids_sha256`` (of the input ids in order), the
encode ``settings`` (model, query or document, pool factor) and, when every shard is written,
``complete`` with per-shard ``{"name", "start", "stop", "n_tokens", "bytes", "crc32"}``.

:func:`read_embedding_shards` iterates a complete folder shard by shard; :func:`load_embeddings`
returns everything at once.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plait.indexes.files import atomic_write, crc32_file

__all__ = [
    "FORMAT",
    "CorruptShardError",
    "EmbeddingShard",
    "ShardError",
    "ShardRange",
    "check_shard",
    "ids_digest",
    "load_embeddings",
    "parse_shard_name",
    "plan_shards",
    "read_embedding_shards",
    "read_manifest",
    "shard_entry",
    "shard_name",
    "write_manifest",
    "write_shard",
]

FORMAT = "plait-embedding-shards"
VERSION = 1
MANIFEST = "manifest.json"
_SHARD_NAME = re.compile(r"^shard-(\d{12})-(\d{12})\.npz$")
_MEMBERS = {"embeddings.npy", "lengths.npy", "ids.npy"}


class ShardError(ValueError):
    """A shard folder or shard file is missing, incomplete, corrupt or from another input."""


class CorruptShardError(ShardError):
    """A shard file that cannot be read back intact (truncated, bad CRC, inconsistent arrays)."""


@dataclass(frozen=True)
class ShardRange:
    """Documents ``[start, stop)`` of the input, in input order."""

    start: int
    stop: int

    @property
    def name(self) -> str:
        """The shard's file name (see :func:`shard_name`)."""
        return shard_name(self.start, self.stop)

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass
class EmbeddingShard:
    """One shard read back: ``embeddings[j]`` is the ``(n_tokens, dim)`` matrix of ``ids[j]``."""

    start: int
    stop: int
    ids: list[str]
    embeddings: list[np.ndarray]


def shard_name(start: int, stop: int) -> str:
    """``shard-<start>-<stop>.npz`` with 12-digit zero-padded positions (sorts in input order)."""
    if not 0 <= start < stop <= 999_999_999_999:
        raise ValueError(f"invalid shard range [{start}, {stop})")
    return f"shard-{start:012d}-{stop:012d}.npz"


def plan_shards(n_documents: int, shard_size: int) -> list[ShardRange]:
    """Consecutive ranges of ``shard_size`` documents (the last one shorter) covering the input."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    return [
        ShardRange(start, min(start + shard_size, n_documents))
        for start in range(0, n_documents, shard_size)
    ]


def ids_digest(ids: Sequence[str]) -> str:
    """SHA-256 of the ids in order (a re-run must see the same input in the same order)."""
    digest = hashlib.sha256()
    for item in ids:
        digest.update(item.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def write_shard(
    folder: str | os.PathLike[str],
    shard: ShardRange,
    ids: Sequence[str],
    embeddings: Sequence[np.ndarray],
) -> dict[str, Any]:
    """Write one shard atomically (temporary file, fsync, rename, folder fsync).

    Returns its manifest entry ``{"name", "start", "stop", "n_tokens", "bytes", "crc32"}``.
    """
    folder = Path(folder)
    if not len(ids) == len(embeddings) == len(shard):
        raise ValueError(
            f"{shard.name}: expected {len(shard)} documents, got {len(ids)} ids "
            f"and {len(embeddings)} embeddings"
        )
    arrays = [np.asarray(e, dtype=np.float32) for e in embeddings]
    if any(a.ndim != 2 for a in arrays):
        raise ValueError(f"{shard.name}: every embedding must be a (n_tokens, dim) matrix")
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    target = folder / shard.name
    atomic_write(
        target,
        lambda handle: np.savez(
            handle,
            embeddings=np.concatenate(arrays, axis=0),
            lengths=lengths,
            ids=np.array(list(ids), dtype=np.str_),
        ),
    )
    return _entry(target, shard, lengths)


def _entry(path: Path, shard: ShardRange, lengths: np.ndarray) -> dict[str, Any]:
    return {
        "name": shard.name,
        "start": shard.start,
        "stop": shard.stop,
        "n_tokens": int(lengths.sum()),
        "bytes": path.stat().st_size,
        "crc32": crc32_file(path),
    }


def _read_npz(path: Path, verify_crc: bool) -> dict[str, np.ndarray]:
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if names != _MEMBERS:
                raise CorruptShardError(
                    f"{path}: expected arrays {sorted(_MEMBERS)}, found {sorted(names)}"
                )
            if verify_crc and (bad := archive.testzip()) is not None:
                raise CorruptShardError(f"{path}: CRC mismatch in {bad} (corrupt shard)")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {key: npz[key] for key in ("embeddings", "lengths", "ids")}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        if isinstance(error, ShardError):
            raise
        raise CorruptShardError(f"{path}: unreadable shard ({error})") from None


def _split(path: Path, arrays: dict[str, np.ndarray]) -> tuple[list[str], list[np.ndarray]]:
    embeddings, lengths, ids = arrays["embeddings"], arrays["lengths"], arrays["ids"]
    if embeddings.ndim != 2 or lengths.ndim != 1 or len(ids) != len(lengths):
        raise CorruptShardError(f"{path}: inconsistent array shapes")
    if int(lengths.sum()) != embeddings.shape[0] or (lengths < 0).any():
        raise CorruptShardError(
            f"{path}: lengths do not add up to the {embeddings.shape[0]} token rows"
        )
    parts = np.split(embeddings, np.cumsum(lengths)[:-1]) if len(lengths) else []
    return [str(i) for i in ids], list(parts)


def check_shard(
    folder: str | os.PathLike[str],
    shard: ShardRange,
    expected_ids: Sequence[str] | None = None,
    verify_crc: bool = True,
) -> bool:
    """Whether ``shard`` exists complete in ``folder`` (False if absent; raises if it is wrong).

    Complete means: the file opens as a zip holding the three arrays, their shapes agree, it has
    ``len(shard)`` documents whose ids equal ``expected_ids`` (when given) and, with
    ``verify_crc``, every member's CRC-32 matches. A truncated or corrupt file raises
    :class:`CorruptShardError`; a shard whose ids differ from the input's (another input, or an
    input whose order changed) raises :class:`ShardError`.
    """
    path = Path(folder) / shard.name
    if not path.is_file():
        return False
    ids, _ = _split(path, _read_npz(path, verify_crc))
    if len(ids) != len(shard):
        raise CorruptShardError(f"{path}: holds {len(ids)} documents, its range needs {len(shard)}")
    if expected_ids is not None and list(expected_ids) != ids:
        raise ShardError(
            f"{path}: its ids differ from the input's documents [{shard.start}, {shard.stop}); "
            "the input changed or its order is not deterministic; use a new output folder"
        )
    return True


def shard_entry(folder: str | os.PathLike[str], shard: ShardRange) -> dict[str, Any]:
    """Return the manifest entry of a shard file.

    The entry is ``{"name", "start", "stop", "n_tokens", "bytes", "crc32"}``.
    """
    path = Path(folder) / shard.name
    return _entry(path, shard, _read_npz(path, verify_crc=False)["lengths"])


def write_manifest(folder: str | os.PathLike[str], manifest: dict[str, Any]) -> None:
    """Atomically replace ``folder/manifest.json`` (temporary file, fsync, rename, folder fsync)."""
    folder = Path(folder)
    data = {"format": FORMAT, "version": VERSION, **manifest}
    atomic_write(folder / MANIFEST, json.dumps(data, indent=1, sort_keys=True))


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the folder's manifest; :class:`ShardError` when it is missing or not a shard one."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShardError(f"{folder}: not an embedding shard folder ({MANIFEST} missing)") from None
    except (OSError, json.JSONDecodeError) as error:
        raise ShardError(f"{path}: unreadable ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ShardError(f"{path}: not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise ShardError(f"{path}: format version {manifest.get('version')} (this plait reads 1)")
    return manifest


def read_embedding_shards(
    folder: str | os.PathLike[str], verify_crc: bool = False
) -> Iterator[EmbeddingShard]:
    """Yield the shards of a complete shard folder in input order.

    Each file's size is checked against the manifest (truncation); ``verify_crc`` also checks the
    file's CRC-32. Raises :class:`ShardError` for an unfinished encode (re-run it to complete).

    >>> for shard in read_embedding_shards(folder):  # doctest: +SKIP
    ...     index.add_documents(shard.ids, shard.embeddings)
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if not manifest.get("complete"):
        raise ShardError(
            f"{folder}: the encode has not finished (re-run it with the same input to complete it)"
        )
    for entry in manifest["shards"]:
        path = folder / entry["name"]
        if not path.is_file():
            raise ShardError(f"{path}: missing (listed in {MANIFEST})")
        if path.stat().st_size != entry["bytes"]:
            raise ShardError(f"{path}: {path.stat().st_size} bytes, manifest says {entry['bytes']}")
        if verify_crc and crc32_file(path) != entry["crc32"]:
            raise CorruptShardError(f"{path}: CRC-32 mismatch (corrupt shard)")
        ids, embeddings = _split(path, _read_npz(path, verify_crc=False))
        yield EmbeddingShard(entry["start"], entry["stop"], ids, embeddings)


def load_embeddings(
    folder: str | os.PathLike[str], verify_crc: bool = False
) -> tuple[list[str], list[np.ndarray]]:
    """All ``(ids, embeddings)`` of a complete shard folder, in input order."""
    ids: list[str] = []
    embeddings: list[np.ndarray] = []
    for shard in read_embedding_shards(folder, verify_crc=verify_crc):
        ids.extend(shard.ids)
        embeddings.extend(shard.embeddings)
    return ids, embeddings


def parse_shard_name(name: str) -> ShardRange | None:
    """Return the range encoded in a shard file name, or ``None`` for any other name."""
    match = _SHARD_NAME.match(name)
    return ShardRange(int(match.group(1)), int(match.group(2))) if match else None
