"""Migrate a fast-plaid (or PyLate fast-plaid backend) index folder into a plait PLAID folder.

Nothing is re-encoded. A fast-plaid 1.7 folder holds what a plait PLAID index holds: centroids
(``centroids.npy``, float16), one bucket table for every dimension (``bucket_cutoffs.npy``,
``bucket_weights.npy``), per token a centroid code and packed residual bits (per chunk
``<i>.codes.npy`` / ``<i>.residuals.npy``, or their ``merged_*.npy`` copies), and the tokens per
document (``doclens.<i>.json``), documents numbered ``0 .. n-1`` in chunk order. The migration
keeps the same centroids (as float32), the same buckets (one row per dimension) and the same
codes; the residual bytes are rewritten by a 256-entry table, because fast-plaid packs each
dimension's bucket number least significant bit first and plait most significant bit first
(checked against fast-plaid's own decompression for nbits 2 and 4: ``tests/indexes/test_migrate.py``
on folders written by ``benchmarks/peers/make_fast_plaid_fixture.py``). A token therefore decodes to
the same vector in both engines, and a search at full probe settings returns the same documents.

Document ids: a bare fast-plaid folder numbers its documents; they become ``"0"``, ``"1"``, ... unless
``ids`` gives one id per document. A PyLate folder (``fast_plaid_index/`` beside
``plaid_ids_to_documents_ids.pkl``) keeps its ids: the pickle is read by an unpickler that admits
only plain containers, strings and numbers (no class is ever loaded). Files a migration does not
need (fast-plaid's ``metadata.db``, the raw ``embeddings.npy`` / ``buffer.npy`` it keeps for small
indexes, which are pickles) are never opened; metadata is not carried over.

The growth policy of later adds (:mod:`plait.indexes.plaid.growth`) needs the training residual
norms, which fast-plaid does not keep: they are taken from the decoded residuals of the migrated
tokens (a sample), and the report says so.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plait.indexes.base import CorruptIndexError, IndexInputError
from plait.indexes.plaid.build import Encoded
from plait.indexes.plaid.centroids import CentroidQuantizer
from plait.indexes.plaid.codebook import Codebook
from plait.indexes.plaid.codec import SUPPORTED_NBITS, ResidualCodec, pack_buckets
from plait.indexes.plaid.growth import OUTLIER_QUANTILE
from plait.indexes.plaid.index import PLAID

__all__ = ["MigrationReport", "migrate_index"]

PYLATE_IDS = "plaid_ids_to_documents_ids.pkl"
SAMPLE_TOKENS = 1 << 16


@dataclass(frozen=True)
class MigrationReport:
    """What :func:`migrate_index` did."""

    source: str
    kind: str
    target: str
    documents: int
    tokens: int
    nbits: int
    n_centroids: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return asdict(self)


# ------------------------------------------------------------------------------------------ reading
def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptIndexError(f"{path} is missing (a fast-plaid folder needs it)") from None
    except (OSError, ValueError) as error:
        raise CorruptIndexError(f"{path} is not readable JSON ({error})") from None


def _array(path: Path, mmap: bool = False) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise CorruptIndexError(f"{path} is missing (a fast-plaid folder needs it)") from None
    except (OSError, ValueError) as error:
        raise CorruptIndexError(f"{path} is not a readable .npy array ({error})") from None


def _chunk_rows(folder: Path, suffix: str, counts: list[int]) -> np.ndarray:
    """Every chunk's ``codes`` or ``residuals`` rows, in chunk order (per-chunk or merged file)."""
    parts = [folder / f"{i}.{suffix}.npy" for i in range(len(counts))]
    total = sum(counts)
    if all(p.exists() for p in parts):
        arrays = [_array(p, mmap=True) for p in parts]
        for p, a, n in zip(parts, arrays, counts, strict=True):
            if a.shape[0] < n:
                raise CorruptIndexError(f"{p} holds {a.shape[0]} rows, its doclens say {n}")
        return np.concatenate([np.asarray(a[:n]) for a, n in zip(arrays, counts, strict=True)])
    merged = folder / f"merged_{suffix}.npy"
    rows = _array(merged, mmap=True)
    if rows.shape[0] < total:  # a merged file may end with padding rows, never fewer
        raise CorruptIndexError(f"{merged} holds {rows.shape[0]} rows, the doclens say {total}")
    return np.asarray(rows[:total])


class _PlainUnpickler(pickle.Unpickler):
    """Admits dicts, lists, strings and numbers only: any class reference is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise CorruptIndexError(
            f"the id map refers to {module}.{name}: plait reads only plain id maps"
        )


def _pylate_ids(path: Path, count: int) -> list[str]:
    try:
        data = _PlainUnpickler(io.BytesIO(path.read_bytes())).load()
    except CorruptIndexError:
        raise
    except Exception as error:  # noqa: BLE001 - any damage in the pickle is reported as damage
        raise CorruptIndexError(f"{path} is not a readable id map ({error})") from None
    if not isinstance(data, dict) or sorted(data) != list(range(count)):
        raise CorruptIndexError(f"{path} does not map the {count} fast-plaid documents to ids")
    return [str(data[i]) for i in range(count)]


def _fast_plaid_folder(source: Path) -> tuple[Path, str, Path | None]:
    """Return the fast-plaid folder inside ``source``, what it is, and the PyLate id map if any."""
    if (source / "fast_plaid_index").is_dir():
        ids = source / PYLATE_IDS
        if not ids.exists():
            raise IndexInputError(f"{source} has fast_plaid_index/ but no {PYLATE_IDS}")
        return source / "fast_plaid_index", "a PyLate PLAID index (fast-plaid backend)", ids
    if (source / "metadata.json").exists() and (source / "bucket_weights.npy").exists():
        return source, "a fast-plaid index", None
    if (source / "ivf.pid.pt").exists() or (source / "buckets.pt").exists():
        raise IndexInputError(
            f"{source} is a Stanford ColBERT (PLAID) index: its migration is not supported yet; "
            "re-encode the documents into a plait index"
        )
    raise IndexInputError(
        f"{source} is neither a fast-plaid nor a PyLate (fast-plaid) index folder"
    )


def _residual_table(nbits: int) -> np.ndarray:
    """Map each fast-plaid residual byte to the plait byte with the same bucket numbers."""
    per_byte = 8 // nbits
    bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)  # (256, 8) MSB first
    groups = bits.reshape(256, per_byte, nbits)
    buckets = (groups * (1 << np.arange(nbits))).sum(axis=2)  # least significant bit first
    return pack_buckets(buckets.astype(np.uint8), nbits)[:, 0]


# ------------------------------------------------------------------------------------------ migrate
def migrate_index(
    source: str | os.PathLike[str],
    target_folder: str | os.PathLike[str],
    target_name: str = "plaid",
    *,
    ids: list[str] | None = None,
    override: bool = False,
) -> MigrationReport:
    """Convert the fast-plaid or PyLate index in ``source`` into a plait PLAID index.

    Parameters
    ----------
    source
        A fast-plaid 1.7 index folder, or a PyLate ``PLAID`` index folder with the fast-plaid
        backend (``<index_folder>/<index_name>``).
    target_folder, target_name
        Where the plait index is written (``PLAID(index_folder=target_folder,
        index_name=target_name)``); it must not exist unless ``override``.
    ids
        One id per document, in fast-plaid's order, for a bare fast-plaid folder (default:
        ``"0"``, ``"1"``, ...). A PyLate folder's own ids are used.
    override
        Replace a plait index already at the target (never a folder plait did not write).

    Returns
    -------
    MigrationReport
        Counts, settings and the time taken.
    """
    began = time.perf_counter()
    source = Path(source)
    if not source.is_dir():
        raise FileNotFoundError(f"no such index folder: {source}")
    folder, kind, id_map = _fast_plaid_folder(source)
    meta = _json(folder / "metadata.json")
    nbits = int(meta.get("nbits", 0))
    if nbits not in SUPPORTED_NBITS:
        raise IndexInputError(f"{folder / 'metadata.json'}: nbits {nbits} is not one plait reads")
    doclens = [_json(folder / f"doclens.{i}.json") for i in range(int(meta.get("num_chunks", 0)))]
    if not all(isinstance(d, list) for d in doclens):
        raise CorruptIndexError(f"{folder}: a doclens.<i>.json file is not a list")
    lengths = np.array([int(n) for chunk in doclens for n in chunk], dtype=np.int64)
    counts = [int(sum(chunk)) for chunk in doclens]
    if len(lengths) != int(meta.get("num_documents", -1)) or int(lengths.sum()) != int(
        meta.get("num_embeddings", -1)
    ):
        raise CorruptIndexError(
            f"{folder}: the doclens files hold {len(lengths)} documents and {int(lengths.sum())} "
            f"tokens, metadata.json says {meta.get('num_documents')} and "
            f"{meta.get('num_embeddings')} (documents waiting in a buffer are not supported)"
        )
    centroids = _array(folder / "centroids.npy").astype(np.float32)
    cutoffs = _array(folder / "bucket_cutoffs.npy").astype(np.float32).reshape(-1)
    weights = _array(folder / "bucket_weights.npy").astype(np.float32).reshape(-1)
    dim = int(centroids.shape[1]) if centroids.ndim == 2 else 0
    if not dim or len(weights) != 1 << nbits or len(cutoffs) != (1 << nbits) - 1:
        raise CorruptIndexError(f"{folder}: centroids or bucket tables do not match nbits {nbits}")
    codes = _chunk_rows(folder, "codes", counts).astype(np.int64)
    residuals = _chunk_rows(folder, "residuals", counts)
    if residuals.dtype != np.uint8 or residuals.shape[1:] != (dim * nbits // 8,):
        raise CorruptIndexError(f"{folder}: residuals of shape {residuals.shape}, expected uint8")
    if len(codes) and (codes.min() < 0 or codes.max() >= len(centroids)):
        raise CorruptIndexError(f"{folder}: a code names no centroid")
    doc_ids = (
        _pylate_ids(id_map, len(lengths))
        if id_map is not None
        else [str(i) for i in range(len(lengths))]
    )
    if ids is not None:
        if id_map is not None:
            raise IndexInputError(f"{source} is a PyLate index: its own ids are used, not ids=")
        if len(ids) != len(lengths):
            raise IndexInputError(f"ids gives {len(ids)} ids for {len(lengths)} documents")
        doc_ids = [str(i) for i in ids]
    codec = ResidualCodec(nbits, np.tile(cutoffs, (dim, 1)), np.tile(weights, (dim, 1)))
    codebook = Codebook(CentroidQuantizer(centroids), codec, {})
    packed = _residual_table(nbits)[residuals]
    rng = np.random.default_rng(0)
    sample = rng.choice(len(packed), min(len(packed), SAMPLE_TOKENS), replace=False)
    norms = np.linalg.norm(codec.decode(packed[np.sort(sample)]), axis=1)
    stats = {
        "trained_on_tokens": int(lengths.sum()),
        "train_residual_norm": float(norms.mean()),
        "outlier_residual_norm": float(np.quantile(norms, OUTLIER_QUANTILE)),
        "migrated_from": f"{kind} ({source}); residual norms from the decoded residuals",
    }
    index = PLAID(target_folder, target_name, override=override, nbits=nbits)
    index._import_encoded(doc_ids, Encoded(codes, packed, lengths), codebook, stats)
    return MigrationReport(
        str(source),
        kind,
        str(index.path),
        len(doc_ids),
        int(lengths.sum()),
        nbits,
        len(centroids),
        time.perf_counter() - began,
    )
