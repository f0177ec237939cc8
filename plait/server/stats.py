"""Index statistics shared by ``GET /stats`` and ``plait info`` (no web imports here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def index_path(index: Any) -> Path | None:
    """Folder of an on-disk index, ``None`` for an in-memory one."""
    path = getattr(index, "path", None)
    return None if path is None else Path(path)


def held_manifest(index: Any) -> Mapping[str, Any] | None:
    """Return the committed manifest ``index``'s in-memory state was loaded from (never re-read).

    Reading ``manifest.json`` afresh could mix two states: another writer may have committed since
    the index object was opened or refreshed, and its counts would then disagree with the
    object's. ``None`` for in-memory indexes and for objects that do not expose it.
    """
    manifest = getattr(index, "manifest", None)
    return manifest if isinstance(manifest, Mapping) else None


def state_bytes(manifest: Mapping[str, Any]) -> int:
    """Bytes on disk of one committed state: its data files plus its manifest.

    The manifest's size is that of its committed form (canonical JSON, as
    :meth:`~plait.indexes.storage.IndexFolder.commit` writes it), not of whatever ``manifest.json``
    holds now, which may already be a newer state.
    """
    manifest_size = len(json.dumps(dict(manifest), indent=1, sort_keys=True).encode("utf-8"))
    return manifest_size + sum(int(entry["bytes"]) for entry in manifest.get("files", {}).values())


def index_stats(index: Any) -> dict[str, Any]:
    """Format, counts, dimension, storage settings and bytes on disk of ``index``.

    Every figure comes from one state: the object's own (its ``stats`` and the manifest it holds),
    so the document count and the token and byte counts always agree. ``stored_tokens`` counts
    every token held in data files (removed documents' tokens stay until compaction);
    ``bytes_per_token`` is ``disk_bytes / stored_tokens``. Works for the exact index, PLAID (its
    own ``stats``) and, with fewer fields, any object following the Index contract.
    """
    out: dict[str, Any] = {
        "format": type(index).__name__.lower(),
        "documents": len(index),
        "dim": index.dim,
    }
    own = getattr(index, "stats", None)
    if isinstance(own, dict):
        out.update(own)
    path = index_path(index)
    manifest = held_manifest(index) if path is not None else None
    if path is not None and manifest is not None:
        out["format"] = manifest.get("format", out["format"])
        out["version"] = manifest.get("version")
        out["generation"] = manifest.get("generation")
        if "shards" not in out:  # a sharded index counts its shards' folders in its own stats
            out["disk_bytes"] = state_bytes(manifest)
        out["path"] = str(path)
    if getattr(index, "dtype", None) is not None:
        out["dtype"] = str(index.dtype)
    if getattr(index, "nbits", None) is not None:
        out["nbits"] = int(index.nbits)
    stored, disk = out.get("stored_tokens"), out.get("disk_bytes")
    out["bytes_per_token"] = disk / stored if stored and disk is not None else None
    return out
