"""``Codebook``: the trained part of a PLAID index (k-means centroids + residual codec), on its own.

A codebook is trained once and can then be handed to any number of :class:`~.index.PLAID` indexes
(``PLAID(..., codebook=cb)``), which skip training and never re-train automatically. Indexes built
from one codebook compress the same vector to the same bytes, so their scores are comparable: this
is what a sharded index needs (every shard uses the coordinator's codebook), and what lets
``plait compare`` train k-means once for nbits 1, 2 and 4 (``Codebook.train(..., quantizer=...)``
re-uses the centroids and only learns a new residual codec).

On disk a codebook is one ``.npz`` file, written to a temporary name and renamed into place.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plait.indexes.files import atomic_write
from plait.indexes.plaid import build
from plait.indexes.plaid.centroids import CentroidQuantizer, from_int8_rows
from plait.indexes.plaid.codec import TABLE_ROLES, Codec, check_nbits, codec_from_arrays

FORMAT = "plait.plaid.codebook"
VERSION = 2  # 2: the residual codec's tables by role (the product codec's or the buckets)
READ_VERSIONS = (1, 2)


@dataclass(frozen=True)
class Codebook:
    """Centroids (:class:`CentroidQuantizer`) and the residual codec (:mod:`.codec`)."""

    quantizer: CentroidQuantizer
    codec: Codec
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.quantizer.dim != self.codec.dim:
            raise ValueError(
                f"centroids are {self.quantizer.dim}-d but the residual codec is {self.codec.dim}-d"
            )

    @property
    def nbits(self) -> int:
        """Bits per dimension of a residual (1, 2, 4 or 8)."""
        return self.codec.nbits

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        return self.quantizer.dim

    @property
    def n_centroids(self) -> int:
        """Number of centroids."""
        return self.quantizer.n_centroids

    @classmethod
    def train(
        cls,
        documents_embeddings: Sequence[np.ndarray],
        *,
        nbits: int = 2,
        n_centroids: int | None = None,
        kmeans_niters: int = 4,
        max_points_per_centroid: int = 256,
        n_samples_kmeans: int | None = None,
        seed: int = 0,
        quantizer: CentroidQuantizer | None = None,
    ) -> Codebook:
        """Train on (a sample of) ``documents_embeddings`` with PLAID's rules.

        This is the same code an index uses on its first add. ``quantizer``: keep these centroids,
        learn only the residual codec.
        """
        docs = [np.asarray(d, dtype=np.float32) for d in documents_embeddings]
        if not docs or not any(len(d) for d in docs):
            raise ValueError("a codebook needs documents with at least one token")
        dims = {d.shape[1] for d in docs if d.ndim == 2}
        if any(d.ndim != 2 for d in docs) or len(dims) != 1:
            raise ValueError(
                f"document embeddings must be (tokens, dim) arrays of one dim, got {dims}"
            )
        dim = dims.pop()
        if quantizer is not None and quantizer.dim != dim:
            raise ValueError(f"the given centroids are {quantizer.dim}-d, the documents {dim}-d")
        q, codec, stats = build.train_codec(
            docs,
            nbits=check_nbits(nbits, dim),
            n_centroids=n_centroids,
            niters=kmeans_niters,
            max_points_per_centroid=max_points_per_centroid,
            n_sample_docs=n_samples_kmeans,
            seed=seed,
            quantizer=quantizer,
        )
        return cls(q, codec, stats)

    def same_as(self, other: Codebook) -> bool:
        """Return whether both compress every vector identically (same centroids and codec)."""
        mine, theirs = self.codec.arrays(), other.codec.arrays()
        return (
            self.nbits == other.nbits
            and np.array_equal(self.quantizer.centroids, other.quantizer.centroids)
            and mine.keys() == theirs.keys()
            and all(np.array_equal(mine[role], theirs[role]) for role in mine)
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to ``path`` (``.npz``) atomically: a reader sees the old file or the new one."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {
            "format": np.array(FORMAT),
            "version": np.array(VERSION),
            "nbits": np.array(self.nbits),
            **self.codec.arrays(),
        }
        if self.quantizer.int8 is not None:
            arrays["centroids"], arrays["centroid_scales"] = self.quantizer.int8
        else:
            arrays["centroids"] = self.quantizer.centroids
        atomic_write(target, lambda f: np.savez(f, **arrays))
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Codebook:
        """Read a codebook written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["format"]) != FORMAT or int(data["version"]) not in READ_VERSIONS:
                    raise ValueError(f"not a plait codebook (versions {READ_VERSIONS})")
                stored = data["centroids"]
                if "centroid_scales" in data:
                    scale = data["centroid_scales"]
                    quantizer = CentroidQuantizer(
                        from_int8_rows(stored, scale), int8=(stored, scale)
                    )
                else:
                    quantizer = CentroidQuantizer(stored)
                tables = {role: data[role] for role in TABLE_ROLES if role in data}
                codec = codec_from_arrays(int(data["nbits"]), tables)
        except (KeyError, OSError, EOFError, ValueError) as e:
            raise ValueError(f"cannot read the codebook {path}: {e}") from None
        return cls(quantizer, codec)
