"""The stages of a PLAID search, each over ONE index's segments (the driver composes them).

1. :func:`centroid_scores` ``S = Q @ C.T`` (and :func:`query_scores`: ``S``, its transpose and the
   pruning mask, computed once per query);
2. :func:`probe_cells` / :func:`candidates_in_cells` (or :func:`gather` of every eligible document,
   :func:`eligible_masks`);
3. :func:`interaction_scores` with the :func:`pruning_mask` (centroids whose best query score is below
   ``centroid_score_threshold`` are ignored);
4. :func:`interaction_scores` without pruning;
5. :func:`exact_candidate_scores` (compressed MaxSim; :func:`decompress` + :func:`exact_scores` is
   the numpy equivalent); :func:`top_n` is every cut.

Which stage runs when, and where the candidate list is cut, is decided in one place only:
:mod:`.driver`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from plait.indexes.plaid.centroids import CentroidQuantizer
from plait.indexes.plaid.codec import Codec
from plait.indexes.plaid.store import Segment
from plait.kernels.kmeans import top_columns
from plait.kernels.plaid_decompress import NORM_FLOOR, compressed_maxsim
from plait.kernels.plaid_interaction import centroid_interaction


@dataclass(frozen=True)
class PLAIDSearchParams:
    """Per-call search knobs; ``None`` means "chosen from ``k``" as PLAID does.

    ``ncells`` (PyLate: ``n_ivf_probe``): centroids probed per query token.
    ``centroid_score_threshold``: pruning threshold of stage 3 (``float("-inf")`` disables pruning).
    ``ndocs``: documents kept after pruned centroid scoring.
    ``n_full_scores``: documents decompressed and scored exactly (default ``max(k, ndocs // f)``).

    Defaults ``(ncells, threshold, ndocs, f)``: ``k <= 10``: (2, 0.5, 512, 4); ``k <= 100``:
    (4, 0.45, 2048, 2); else (4, 0.4, max(4k, 4096), 4). Chosen on SciFact train queries (809;
    MiniLM ColBERT, 8,192 centroids, nbits=2 with the product codec, recall against exact MaxSim,
    2 threads): at k <= 10, rescoring 128 instead of 256 documents exactly keeps recall@10 at 0.922
    (0.924) and raises batched queries/s from 191 to 285; 96 loses more (0.917) for nothing
    (286), and ndocs 256 loses 0.008. At k <= 100, 1,024 rescored documents give recall@100 0.916
    at 70 queries/s, 512 give 0.909 at 113 (kept at 1,024). History of earlier choices:
    benchmarks/log/2026-11-26.md and 2026-12-04.md.
    """

    ncells: int | None = None
    centroid_score_threshold: float | None = None
    ndocs: int | None = None
    n_full_scores: int | None = None

    def __post_init__(self) -> None:
        for name in ("ncells", "ndocs", "n_full_scores"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
                raise ValueError(
                    f"PLAIDSearchParams.{name} must be a positive integer, got {value!r}"
                )
        t = self.centroid_score_threshold
        if t is not None and (not isinstance(t, (int, float)) or np.isnan(t)):
            raise ValueError(
                f"PLAIDSearchParams.centroid_score_threshold must be a number, got {t!r}"
            )

    def resolve(self, k: int, defaults: PLAIDSearchParams | None = None) -> PLAIDSearchParams:
        """Fill every ``None`` from ``defaults`` (the index's constructor settings), then from ``k``."""
        if k <= 10:
            auto = (2, 0.5, 512, 4)
        elif k <= 100:
            auto = (4, 0.45, 2048, 2)
        else:
            auto = (4, 0.4, max(4 * k, 4096), 4)
        d = defaults or PLAIDSearchParams()
        ncells = _first(self.ncells, d.ncells, auto[0])
        threshold = _first(self.centroid_score_threshold, d.centroid_score_threshold, auto[1])
        ndocs = max(k, _first(self.ndocs, d.ndocs, auto[2]))
        n_full = max(k, _first(self.n_full_scores, d.n_full_scores, ndocs // auto[3]))
        return PLAIDSearchParams(int(ncells), float(threshold), int(ndocs), int(min(n_full, ndocs)))


def _first(*values):  # type: ignore[no-untyped-def]
    return next(v for v in values if v is not None)


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Return the indices of the ``n`` best scores, best first.

    Ties are broken by position (deterministic), at the cut too: of documents tied at the ``n``-th
    score the first ones are kept, so the choice does not depend on how the list was split or
    merged (a sharded search equals a single index's).
    """
    if len(scores) > n:
        part = np.argpartition(-scores, n - 1)[:n]
        boundary = scores[part].min()
        above = np.flatnonzero(scores > boundary)
        part = np.concatenate([above, np.flatnonzero(scores == boundary)[: n - len(above)]])
    else:
        part = np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


def decompress(
    segment: Segment, local: np.ndarray, quantizer: CentroidQuantizer, codec: Codec
) -> tuple[np.ndarray, np.ndarray]:
    """Return the decoded token vectors of documents ``local`` of ``segment`` and their doclens."""
    lens = segment.doclens[local]
    rows = segment.rows(local)
    codes = np.asarray(segment.codes[rows], dtype=np.int64)
    vectors = quantizer.centroids[codes] + codec.decode(np.asarray(segment.residuals[rows]))
    if quantizer.unit_norm:  # as the kernel scores them (plait.kernels.plaid_decompress)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), NORM_FLOOR)
    return vectors, lens


def exact_scores(query: np.ndarray, vectors: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """MaxSim of ``query`` against documents stored back to back in ``vectors``; empty docs score 0."""
    out = np.zeros(len(lens), dtype=np.float32)
    nonempty = lens > 0
    if vectors.shape[0] == 0:
        return out
    sims = query @ vectors.T  # (Lq, T)
    starts = np.r_[0, np.cumsum(lens)[:-1]][nonempty]
    out[nonempty] = np.maximum.reduceat(sims, starts, axis=1).sum(axis=0, dtype=np.float32)
    return out


@dataclass
class Candidates:
    """Documents as parallel arrays: segment position, local index, score."""

    seg: np.ndarray
    local: np.ndarray
    score: np.ndarray

    def take(self, idx: np.ndarray) -> Candidates:
        """Return the candidates at positions ``idx``, in that order."""
        return Candidates(self.seg[idx], self.local[idx], self.score[idx])


# ---------------------------------------------------------------------- stages (public)
def centroid_scores(query: np.ndarray, quantizer: CentroidQuantizer) -> np.ndarray:
    """Stage 1: ``(Lq, K)`` float32 scores of every query token against every centroid.

    Multiplied by torch, whose OpenMP thread count is per thread: a search running on a
    single-threaded worker (a batch split over threads) then multiplies on its own core.
    """
    import torch  # loaded on the first search, not when an index is opened

    q = torch.from_numpy(np.ascontiguousarray(query, dtype=np.float32))
    centroids = torch.from_numpy(np.asarray(quantizer.centroids, dtype=np.float32))
    return (q @ centroids.T).numpy()


@dataclass(frozen=True)
class QueryScores:
    """One query's stage-1 products, each computed once.

    ``scores`` ``(Lq, K)``, ``keep`` (the :func:`pruning_mask`) and, on first use, ``scores_t``,
    the contiguous ``(K, Lq)`` transpose the kernels read (a coordinator that only picks cells
    never makes it).
    """

    scores: np.ndarray
    keep: np.ndarray

    @cached_property
    def scores_t(self) -> np.ndarray:
        """The contiguous ``(K, Lq)`` transpose of :attr:`scores`, made on first use."""
        return np.ascontiguousarray(self.scores.T)

    @property
    def n_centroids(self) -> int:
        """Number of centroids ``K``."""
        return int(self.scores.shape[1])

    def prunes(self, threshold: float) -> bool:
        """Whether stage 3 runs: a finite threshold that keeps some centroid (none kept: no pruning)."""
        return threshold > -np.inf and bool(self.keep.any())


def query_scores(query: np.ndarray, quantizer: CentroidQuantizer, threshold: float) -> QueryScores:
    """Stage 1 of one query: :func:`centroid_scores` and the pruning mask for ``threshold``."""
    scores = centroid_scores(query, quantizer)
    return QueryScores(scores, pruning_mask(scores, threshold))


def probe_cells(scores: np.ndarray, n_cells: int) -> np.ndarray:
    """Stage 2a: sorted unique ids of the top ``n_cells`` centroids of any query token.

    Every centroid when ``n_cells >= K``.
    """
    n_centroids = scores.shape[1]
    if n_cells >= n_centroids:
        return np.arange(n_centroids)
    # one pass per query token keeping its best n_cells (np.argpartition took 20% of a search)
    return np.unique(top_columns(scores, n_cells)).astype(np.int64)


def eligible_masks(segments: list[Segment], allowed: list[np.ndarray] | None) -> list[np.ndarray]:
    """Per segment, the bool mask of documents a search may return (live, and in ``allowed``)."""
    if allowed is None:
        return [~seg.deleted for seg in segments]
    return [~seg.deleted & allowed[s] for s, seg in enumerate(segments)]


def candidates_in_cells(
    cells: np.ndarray, segments: list[Segment], masks: list[np.ndarray]
) -> Candidates:
    """Stage 2b: eligible documents listed under any of ``cells`` (scores 0).

    No ``ncells`` doubling here: the caller decides that from the global candidate count.
    """
    found = [seg.ivf.probe(cells) for seg in segments]
    return gather(masks, [f[m[f]] for f, m in zip(found, masks, strict=True)])


def pruning_mask(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Centroids kept by stage 3: those whose best query-token score reaches ``threshold``."""
    return np.asarray(scores.max(axis=0) >= threshold)


def interaction_scores(
    cand: Candidates, segments: list[Segment], scores_t: np.ndarray, keep: np.ndarray
) -> Candidates:
    """Stages 3-4: centroid-interaction scores of ``cand``.

    ``scores_t``: ``(K, Lq)``; ``keep``: ``(K,)`` pruning mask, all True for the unpruned pass.
    """
    out = np.empty(len(cand.seg), dtype=np.float32)
    for s in np.unique(cand.seg):
        where = np.flatnonzero(cand.seg == s)
        seg = segments[s]
        out[where] = centroid_interaction(seg.codes, seg.offsets, cand.local[where], scores_t, keep)
    return Candidates(cand.seg, cand.local, out)


def exact_candidate_scores(
    cand: Candidates,
    segments: list[Segment],
    query: np.ndarray,
    quantizer: CentroidQuantizer,
    codec: Codec,
    scores_t: np.ndarray | None = None,
) -> Candidates:
    """Stage 5: exact MaxSim of ``query`` against the compressed ``cand``.

    They are scored without decoding them
    (:func:`~plait.kernels.plaid_decompress.compressed_maxsim`: centroid score plus per-byte
    residual tables over the query in the codec's coordinates; :func:`decompress` +
    :func:`exact_scores` is the numpy equivalent).
    ``scores_t``: the query's ``(K, Lq)`` centroid scores when already computed (stage 1).
    """
    if scores_t is None and len(cand.seg):
        scores_t = np.ascontiguousarray(centroid_scores(query, quantizer).T)
    final = np.zeros(len(cand.seg), dtype=np.float32)
    if not len(cand.seg):
        return Candidates(cand.seg, cand.local, final)
    # the residual tables are in the codec's coordinates (a rotation: dot products are unchanged)
    rotated = codec.to_codec_space(query)
    for s in np.unique(cand.seg):
        where = np.flatnonzero(cand.seg == s)
        seg = segments[s]
        final[where] = compressed_maxsim(
            rotated,
            quantizer.centroids,
            seg.codes,
            seg.residuals,
            seg.offsets,
            cand.local[where],
            codec.lut,
            scores_t,
            seg.inverse_norms(quantizer, codec) if quantizer.unit_norm else None,
        )
    return Candidates(cand.seg, cand.local, final)


def gather(masks: list[np.ndarray], locals_: list[np.ndarray]) -> Candidates:
    """Candidates from per-segment local document indices (scores 0)."""
    segs = [np.full(len(loc), s, dtype=np.int64) for s, loc in enumerate(locals_)]
    seg = np.concatenate(segs) if segs else np.zeros(0, dtype=np.int64)
    local = np.concatenate(locals_).astype(np.int64) if locals_ else np.zeros(0, dtype=np.int64)
    return Candidates(seg, local, np.zeros(len(seg), dtype=np.float32))
