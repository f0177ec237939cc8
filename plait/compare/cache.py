"""An optional on-disk cache of corpus encodings, so re-running a comparison skips the encoders.

Entries are keyed by a fingerprint of the encoder (its output on a fixed probe text, so a changed
model never hits an old entry) and a hash of the texts. Each entry is a folder holding ``.npy``
arrays (never pickled) and ``meta.json`` with the encoding time measured when it was filled; the
report states that build times then come from the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from plait.indexes.files import atomic_replace_dir

__all__ = ["EncodingCache", "encoder_fingerprint"]

PROBE = "plait compare cache probe: late interaction, 42 tokens or so."


def encoder_fingerprint(encode: Callable[[list[str]], Any], name: str) -> str:
    """Hash of ``name`` and ``encode([PROBE])`` (rounded to 1e-4 so float noise cannot split it)."""
    digest = hashlib.sha256(name.encode("utf-8"))
    for output in encode([PROBE]):
        array = np.round(np.asarray(output, dtype=np.float64), 4)
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _texts_hash(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


class EncodingCache:
    """Cache folder: ``<folder>/<kind>-<key>/`` per entry."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def _entry(self, kind: str, fingerprint: str, texts: Sequence[str]) -> Path:
        key = hashlib.sha256((fingerprint + _texts_hash(texts)).encode()).hexdigest()[:20]
        return self.folder / f"{kind}-{key}"

    def load(
        self, kind: str, fingerprint: str, texts: Sequence[str]
    ) -> tuple[list[np.ndarray], dict[str, Any]] | None:
        """Return the cached matrices (one per text) and metadata, or ``None`` on a miss."""
        entry = self._entry(kind, fingerprint, texts)
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
            rows = np.load(entry / "rows.npy", mmap_mode="r", allow_pickle=False)
            offsets = np.load(entry / "offsets.npy", allow_pickle=False)
        except (OSError, ValueError):
            return None
        if len(offsets) != len(texts) + 1 or int(offsets[-1]) != rows.shape[0]:
            return None
        matrices = [np.array(rows[offsets[i] : offsets[i + 1]]) for i in range(len(texts))]
        return matrices, meta

    def save(
        self,
        kind: str,
        fingerprint: str,
        texts: Sequence[str],
        matrices: Sequence[np.ndarray],
        meta: dict[str, Any],
    ) -> Path:
        """Store one ``(n_rows, dim)`` matrix per text (written to a temporary folder, then renamed)."""
        entry = self._entry(kind, fingerprint, texts)
        lengths = [np.asarray(m).reshape(-1, np.asarray(m).shape[-1]).shape[0] for m in matrices]
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        rows = np.concatenate(
            [
                np.asarray(m, np.float32).reshape(n, -1)
                for m, n in zip(matrices, lengths, strict=True)
            ]
        )

        def fill(staging: Path) -> None:
            np.save(staging / "rows.npy", rows, allow_pickle=False)
            np.save(staging / "offsets.npy", offsets, allow_pickle=False)
            (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")

        atomic_replace_dir(entry, fill)  # an entry filled meanwhile by another run is kept
        return entry


class DocumentMemo:
    """Wraps a sentence-transformers model: texts in ``known`` are answered from it.

    Every text the model really encodes is recorded in :attr:`encoded` (to fill the cache), but
    only ``known`` texts are served from memory, so query latency is always measured for real.
    Other attributes are the wrapped model's.
    """

    def __init__(self, model: Any, known: dict[str, np.ndarray]) -> None:
        self.model = model
        self.known = known
        self.encoded: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def encode(self, sentences: str | Sequence[str], **kwargs: Any) -> np.ndarray:
        """Encode as ``SentenceTransformer.encode`` does (numpy output, one row per text)."""
        texts = [sentences] if isinstance(sentences, str) else list(sentences)
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            kwargs["convert_to_numpy"] = True
            vectors = np.asarray(self.model.encode(missing, **kwargs), dtype=np.float32)
            fresh = dict(zip(missing, vectors, strict=True))
            self.encoded.update(fresh)
        rows = [self.known[t] if t in self.known else fresh[t] for t in texts]
        return np.stack(rows) if rows else np.zeros((0, 0), np.float32)
