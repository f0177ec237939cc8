"""Inverted lists: centroid -> documents, as CSR arrays, one per segment.

``offsets[c] : offsets[c + 1]`` slices ``docs`` to the sorted local document indices (within the
segment) that hold at least one token assigned to centroid ``c``. Segments hold at most
``MAX_SEGMENT_DOCS`` documents so local indices fit in uint16 (2 bytes per entry on disk).

>>> import numpy as np
>>> ivf = InvertedLists.build(codes=np.array([2, 0, 2, 2]), doclens=np.array([2, 2]), n_centroids=3)
>>> ivf.offsets.tolist(), ivf.docs.tolist()
([0, 1, 1, 3], [0, 0, 1])
>>> ivf.probe(np.array([2])).tolist()
[0, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SEGMENT_DOCS = 1 << 16


def docs_dtype(n_docs: int) -> np.dtype:
    """Return the integer type of local document indices in a segment of ``n_docs`` documents."""
    return np.dtype(np.uint16) if n_docs <= MAX_SEGMENT_DOCS else np.dtype(np.int32)


@dataclass(frozen=True)
class InvertedLists:
    """``offsets``: ``(n_centroids + 1,)`` int64-compatible; ``docs``: ``(nnz,)`` uint16/int32."""

    offsets: np.ndarray
    docs: np.ndarray

    @property
    def n_centroids(self) -> int:
        """Number of centroids (lists), empty ones included."""
        return int(self.offsets.shape[0] - 1)

    @classmethod
    def build(cls, codes: np.ndarray, doclens: np.ndarray, n_centroids: int) -> InvertedLists:
        """Build the lists of a segment from its tokens' centroid ``codes`` (document-major).

        Each list holds a document once, however many of its tokens the centroid has.
        """
        n_docs = int(len(doclens))
        doc_of_token = np.repeat(
            np.arange(n_docs, dtype=np.int64), np.asarray(doclens, dtype=np.int64)
        )
        keys = np.unique(np.asarray(codes, dtype=np.int64) * max(n_docs, 1) + doc_of_token)
        cells = keys // max(n_docs, 1)
        docs = (keys % max(n_docs, 1)).astype(docs_dtype(n_docs))
        counts = np.bincount(cells, minlength=n_centroids)
        offsets = np.zeros(n_centroids + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        offset_dtype = np.int32 if offsets[-1] < 2**31 else np.int64
        return cls(offsets.astype(offset_dtype), docs)

    def probe(self, cells: np.ndarray) -> np.ndarray:
        """Sorted unique local document indices listed under any of ``cells``.

        A cell beyond these lists (a centroid added after the segment was opened, see
        :mod:`plait.indexes.plaid.growth`) lists no document of it.
        """
        cells = np.asarray(cells)
        cells = cells[cells < self.n_centroids]
        if len(cells) == 0:
            return np.zeros(0, dtype=np.int64)
        parts = [self.docs[self.offsets[c] : self.offsets[c + 1]] for c in cells]
        return np.unique(np.concatenate(parts).astype(np.int64))
