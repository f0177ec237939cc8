"""Index statistics shared by ``GET /stats`` and ``plait info`` (no web imports here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from plait.indexes.storage import IndexFolder


def index_path(index: Any) -> Path | None:
    """Folder of an on-disk index, ``None`` for an in-memory one."""
    path = getattr(index, "path", None)
    return None if path is None else Path(path)


def index_stats(index: Any) -> dict[str, Any]:
    """Format, counts, dimension, storage settings and bytes on disk of ``index``.

    ``stored_tokens`` counts every token held in data files (removed documents' tokens stay until
    compaction); ``bytes_per_token`` is ``disk_bytes / stored_tokens``. Works for the exact index,
    PLAID (its own ``stats``) and, with fewer fields, any object following the Index contract.
    """
    out: dict[str, Any] = {"format": type(index).__name__.lower(), "documents": len(index), "dim": index.dim}
    own = getattr(index, "stats", None)
    if isinstance(own, dict):
        out.update(own)
    path = index_path(index)
    if path is not None and IndexFolder(path).exists():
        folder = IndexFolder(path)
        manifest = folder.read_manifest()
        out["format"] = manifest.get("format", out["format"])
        out["version"] = manifest.get("version")
        out["generation"] = manifest.get("generation")
        if "disk_bytes" not in out:  # a sharded index counts its shards' folders in its own stats
            out["disk_bytes"] = folder.disk_bytes(manifest)
        out["path"] = str(path)
        if "n_tokens" in manifest:  # the exact index
            out["stored_tokens"] = int(manifest["n_tokens"])
            out["segments"] = len(manifest.get("segments", []))
            out["tombstone_files"] = len(manifest.get("tombstones", []))
    elif "stored_tokens" not in out:
        segments = getattr(index, "_segments", None)  # in-memory exact index
        if segments is not None:
            out["stored_tokens"] = int(sum(len(s.tokens) for s in segments))
            out["segments"] = len(segments)
    if getattr(index, "dtype", None) is not None:
        out["dtype"] = str(index.dtype)
    if getattr(index, "nbits", None) is not None:
        out["nbits"] = int(index.nbits)
    stored, disk = out.get("stored_tokens"), out.get("disk_bytes")
    out["bytes_per_token"] = disk / stored if stored and disk is not None else None
    return out
