"""PLAID's payload on the segment store (:mod:`plait.indexes.segments`) and its trained codec.

The segment store keeps ids, texts, metadata and tombstones; PLAID adds, per manifest ``files``
role:

* ``centroids`` (int8 ``(n_centroids, dim)``) with ``centroid_scales`` (float32, one per centroid;
  centroid = int8 row * scale), or float32 centroids without scales, and the trained residual
  codec, written once per (re)training (see :mod:`.codec`): ``pq_rotation`` and ``pq_codewords``
  (float32; the product codec, format version 3 on) or ``bucket_cutoffs`` and ``bucket_weights``
  (float32; the per-dimension buckets of versions 1-2 and of migrated indexes).
* per segment ``<seg>`` (at most 65,536 documents each): ``<seg>.codes`` (uint16 below 65,536
  centroids, else int32, one per token, document-major), ``<seg>.residuals`` (uint8
  ``(n_tokens, dim * nbits / 8)``: codeword indices, or bit-packed buckets) and ``<seg>.doclens``
  (int32).

The inverted lists (centroid -> documents, :class:`.ivf.InvertedLists`) are derived from the codes
when a segment is opened (one sort, about 0.1 s per million tokens) and kept in memory (2 bytes per
(centroid, document) pair) instead of being stored: on disk they would cost 1-2 bytes per token, the
difference between meeting and missing the 36 bytes/token budget at nbits=2 and 128 dimensions.
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plait.indexes.base import CorruptIndexError
from plait.indexes.plaid.centroids import CentroidQuantizer, from_int8_rows
from plait.indexes.plaid.codec import TABLE_ROLES, Codec, codec_from_arrays
from plait.indexes.plaid.ivf import InvertedLists
from plait.indexes.segments import Segment as StoreSegment
from plait.indexes.storage import IndexFolder
from plait.kernels.plaid_decompress import token_inverse_norms

FORMAT = "plait-plaid"
# written; READ_VERSIONS are read (2 added ``<seg>.metadata`` and ``settings.config``, 3 the
# product codec: a version-2 reader would not know its files)
VERSION = 3
READ_VERSIONS = (1, 2, 3)
PAYLOAD_ROLES = ("codes", "residuals", "doclens")
CODEC_ROLES = ("centroids", "centroid_scales", *TABLE_ROLES)


class LazyNorms:
    """Holder of a segment's per-token inverse norms (``None`` until first computed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.value: np.ndarray | None = None


@dataclass(frozen=True, kw_only=True)
class Segment(StoreSegment):
    """An immutable batch of encoded documents (the store's common fields plus PLAID's arrays)."""

    doclens: np.ndarray = field(repr=False)
    codes: np.ndarray = field(repr=False)
    residuals: np.ndarray = field(repr=False)
    ivf: InvertedLists = field(repr=False)
    offsets: np.ndarray = field(init=False, repr=False)
    # per-token inverse norms, computed on first search; shared by copies that only change ``deleted``
    norms: LazyNorms = field(default_factory=LazyNorms, repr=False, compare=False)

    def __post_init__(self) -> None:
        offsets = np.zeros(len(self.doclens) + 1, dtype=np.int64)
        np.cumsum(self.doclens, out=offsets[1:])
        object.__setattr__(self, "offsets", offsets)

    def inverse_norms(self, quantizer: CentroidQuantizer, codec: Codec) -> np.ndarray:
        """Return ``1 / |decoded token|`` of every token row, computed on first use and kept.

        They take 4 bytes per token in memory, nothing on disk (see
        :mod:`plait.kernels.plaid_decompress`). A segment is only ever decoded with its own
        index's codec.
        """
        with self.norms.lock:  # the threads of a batched search would otherwise each compute them
            if self.norms.value is None:
                self.norms.value = token_inverse_norms(
                    codec.to_codec_space(quantizer.centroids),
                    self.codes,
                    self.residuals,
                    codec.lut,
                    quantizer.sq_norms,
                )
            return self.norms.value

    def rows(self, local: np.ndarray) -> np.ndarray:
        """Token rows of documents ``local`` (in that order), concatenated."""
        lens = self.doclens[local]
        starts = self.offsets[local]
        shift = starts - np.r_[0, np.cumsum(lens)[:-1]]
        return np.repeat(shift, lens) + np.arange(int(lens.sum()))


def write_codec(folder: IndexFolder, quantizer: CentroidQuantizer, codec: Codec) -> dict[str, Any]:
    """Write the codec's files; return their manifest entries keyed by role.

    The residual codec's tables (:meth:`~.codec.ProductCodec.arrays`), and the centroids: int8 with
    their scales when the quantizer has them, else float32.
    """
    files = {role: folder.write_array(role, table) for role, table in codec.arrays().items()}
    if quantizer.int8 is not None:
        files["centroids"] = folder.write_array("centroids", quantizer.int8[0])
        files["centroid_scales"] = folder.write_array("centroid_scales", quantizer.int8[1])
    else:
        files["centroids"] = folder.write_array("centroids", quantizer.centroids)
    return files


def read_codec(
    folder: IndexFolder,
    files: dict[str, Any],
    nbits: int,
    *,
    settings: dict[str, Any] | None = None,
) -> tuple[CentroidQuantizer, Codec]:
    """Read the trained codec, CRC-checked (small files every search depends on).

    ``settings`` (the manifest's), when given, must agree with it on ``dim`` and ``n_centroids``.
    """

    def arr(role: str, dtypes: tuple[str, ...], ndim: int | None) -> np.ndarray:
        if role not in files:
            raise CorruptIndexError(f"manifest of {folder.path} lacks the codec file {role!r}")
        return folder.read_array(files[role], mmap=False, verify_crc=True, dtypes=dtypes, ndim=ndim)

    stored = arr("centroids", ("int8", "float32"), 2)
    # bucket tables: per dimension or shared by all; product codec tables: 2-d and 3-d
    tables = {role: arr(role, ("float32",), None) for role in TABLE_ROLES if role in files}
    try:
        if settings is not None and (
            stored.shape[0] != settings.get("n_centroids") or stored.shape[1] != settings.get("dim")
        ):
            raise ValueError(
                f"centroids of shape {stored.shape} but the manifest says {settings.get('n_centroids')} "
                f"centroids of dimension {settings.get('dim')}"
            )
        if "centroid_scales" in files:
            scale = arr("centroid_scales", ("float32",), 1)
            if stored.dtype != np.int8 or scale.shape != (stored.shape[0],):
                raise ValueError("int8 centroids and their scales disagree")
            quantizer = CentroidQuantizer(from_int8_rows(stored, scale), int8=(stored, scale))
        else:
            quantizer = CentroidQuantizer(stored.astype(np.float32))
        return quantizer, codec_from_arrays(nbits, tables)
    except ValueError as e:
        raise CorruptIndexError(f"codec files in {folder.path} are inconsistent: {e}") from None


def write_payload(
    folder: IndexFolder,
    name: str,
    enc_doclens: np.ndarray,
    codes: np.ndarray,
    residuals: np.ndarray,
    n_centroids: int,
) -> dict[str, Any]:
    """Write one segment's vector files; returns their manifest entries keyed ``<name>.<role>``."""
    code_dtype = np.uint16 if n_centroids <= 1 << 16 else np.int32
    arrays = {
        "codes": np.asarray(codes).astype(code_dtype, copy=False),
        "residuals": residuals,
        "doclens": np.asarray(enc_doclens, dtype=np.int32),
    }
    return {f"{name}.{role}": folder.write_array(f"{name}.{role}", a) for role, a in arrays.items()}


def advise_random(array: np.ndarray) -> None:
    """Tell the kernel that a memory-mapped array is read at random places.

    A page fault then reads one page instead of read-ahead windows (which would pull most of the
    file into RSS).
    """
    handle = getattr(array, "_mmap", None)
    if handle is not None and hasattr(handle, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        try:
            handle.madvise(mmap.MADV_RANDOM)
        except OSError:  # pragma: no cover - advisory only
            pass


def read_payload(
    folder: IndexFolder,
    manifest: Mapping[str, Any],
    info: Mapping[str, Any],
    common: dict[str, Any],
) -> Segment:
    """Open a segment's arrays memory-mapped, check that they agree, build its inverted lists.

    This is the segment store's payload reader.
    """
    name = info["name"]
    files = manifest["files"]

    def arr(role: str, dtypes: tuple[str, ...], ndim: int, small: bool = False) -> np.ndarray:
        return folder.read_array(
            files[f"{name}.{role}"], mmap=not small, verify_crc=small, dtypes=dtypes, ndim=ndim
        )

    doclens = arr("doclens", ("int32",), 1, small=True).astype(np.int64)
    codes = arr("codes", ("uint16", "int32"), 1)
    residuals = arr("residuals", ("uint8",), 2)
    advise_random(residuals)  # search reads scattered rows: no read-ahead
    n_tokens = int(doclens.sum())
    settings = manifest["settings"]
    n_centroids, dim, nbits = (
        int(settings["n_centroids"]),
        int(settings["dim"]),
        int(settings["nbits"]),
    )
    problems = [
        (len(common["ids"]) != len(doclens), "doclens"),
        (
            doclens.size and doclens.min() < 0 or info.get("n_tokens", n_tokens) != n_tokens,
            "doclens",
        ),
        (
            codes.shape != (n_tokens,)
            or (n_tokens and (int(codes.max()) >= n_centroids or int(codes.min()) < 0)),
            "codes",
        ),
        (residuals.shape != (n_tokens, dim * nbits // 8), "residuals"),
    ]
    for bad, role in problems:
        if bad:
            entry = files[f"{name}.{role}"]
            raise CorruptIndexError(
                f"index file {folder.path / entry['name']} ({role} of segment {name}) does not match "
                "the rest of the segment"
            )
    ivf = InvertedLists.build(codes, doclens, n_centroids)
    return Segment(**common, doclens=doclens, codes=codes, residuals=residuals, ivf=ivf)
