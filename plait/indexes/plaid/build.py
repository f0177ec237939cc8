"""Building blocks of PLAID writes: input checks, codec training, encoding, segment batching.

Everything here works in bounded memory: tokens are encoded in chunks of ``CHUNK_TOKENS``, and the
only full-size arrays are the outputs (2-4 bytes of code + ``dim * nbits / 8`` bytes per token).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from plait.indexes.plaid.centroids import (
    CentroidQuantizer,
    default_n_centroids,
    sample_documents_count,
)
from plait.indexes.plaid.codec import Codec, train_residual_codec
from plait.indexes.plaid.growth import OUTLIER_QUANTILE
from plait.indexes.plaid.ivf import MAX_SEGMENT_DOCS
from plait.indexes.plaid.store import Segment

logger = logging.getLogger(__name__)

CHUNK_TOKENS = 1 << 15
CODEC_SAMPLE_TOKENS = 1 << 16


@dataclass
class Encoded:
    """Encoded documents, document-major: ``codes[t]``, ``residuals[t]``, one ``doclens`` per doc."""

    codes: np.ndarray
    residuals: np.ndarray
    doclens: np.ndarray
    residual_norm: float = 0.0  # mean L2 norm of the raw residuals of these tokens
    timings: dict[str, float] = field(default_factory=dict)


def train_codec(
    docs: Sequence[np.ndarray],
    *,
    nbits: int,
    n_centroids: int | None,
    niters: int,
    max_points_per_centroid: int,
    n_sample_docs: int | None,
    seed: int,
    quantizer: CentroidQuantizer | None = None,
) -> tuple[CentroidQuantizer, Codec, dict[str, float]]:
    """Train centroids on a document sample (PLAID's size rule), then the residual codec.

    With ``quantizer`` given, its centroids are kept and only the codec is trained. Returns the
    quantizer, the codec and training statistics (counts and seconds).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    n_sample = min(len(docs), n_sample_docs or sample_documents_count(len(docs)))
    picked = np.sort(rng.choice(len(docs), n_sample, replace=False))
    sample = np.concatenate([docs[i] for i in picked if len(docs[i])])
    # hold out 5% of the sample (ColBERTv2; up to 25% of small samples) to learn the codec on
    # unbiased residuals: residuals of k-means training points are smaller than new data's.
    # Whole documents are held out when there are enough: tokens of one document repeat each
    # other, so held-out tokens of documents k-means saw would still fit better than a new
    # document's, and the residual norms recorded here are what later adds are measured against.
    n_held = min(CODEC_SAMPLE_TOKENS, max(len(sample) // 20, min(len(sample) // 4, 4096)))
    n_held = n_held if len(sample) >= 40 else 0
    nonempty = [i for i in picked if len(docs[i])]
    if n_held and len(nonempty) >= 20:
        held_docs: list[int] = []
        size = 0
        for i in rng.permutation(nonempty):
            if size >= n_held or len(held_docs) >= len(nonempty) // 4:
                break
            held_docs.append(int(i))
            size += len(docs[i])
        chosen = set(held_docs)
        held = np.concatenate([docs[i] for i in sorted(chosen)])[:CODEC_SAMPLE_TOKENS]
        train = np.concatenate([docs[i] for i in nonempty if i not in chosen])
    else:
        order = rng.permutation(len(sample))
        held = sample[order[:n_held]] if n_held else sample
        train = sample[np.sort(order[n_held:])] if n_held else sample
    total_tokens = sum(len(d) for d in docs)
    if quantizer is None:
        k = int(min(n_centroids or default_n_centroids(total_tokens), len(train)))
        quantizer = CentroidQuantizer.train(
            train, k, niters=niters, max_points_per_centroid=max_points_per_centroid, seed=seed
        )
    t1 = time.perf_counter()
    residuals = held - quantizer.centroids[quantizer.assign(held)]
    codec = train_residual_codec(residuals, nbits, seed=seed)
    norms = np.linalg.norm(residuals, axis=1)
    stats = {
        "n_centroids": quantizer.n_centroids,
        "train_tokens": int(len(train)),
        "train_residual_norm": float(norms.mean()),
        # the outlier threshold of incremental adds (plait.indexes.plaid.growth)
        "outlier_residual_norm": float(np.quantile(norms, OUTLIER_QUANTILE)),
        "kmeans_s": t1 - t0,
        "codec_s": time.perf_counter() - t1,
    }
    logger.info(
        "PLAID codec trained: %d centroids on %d tokens", quantizer.n_centroids, len(sample)
    )
    return quantizer, codec, stats


def _token_chunks(docs: Sequence[np.ndarray]) -> Iterator[np.ndarray]:
    """Concatenated tokens of consecutive documents, about ``CHUNK_TOKENS`` at a time."""
    buf: list[np.ndarray] = []
    size = 0
    for d in docs:
        buf.append(d)
        size += len(d)
        if size >= CHUNK_TOKENS:
            yield np.concatenate(buf)
            buf, size = [], 0
    if buf and size:
        yield np.concatenate(buf)


def encode_documents(
    docs: Sequence[np.ndarray], quantizer: CentroidQuantizer, codec: Codec
) -> Encoded:
    """Assign every token to its centroid and encode its residual."""
    doclens = np.array([len(d) for d in docs], dtype=np.int64)
    n_tokens = int(doclens.sum())
    codes = np.empty(n_tokens, dtype=np.int32)
    packed = np.empty((n_tokens, codec.bytes_per_token), dtype=np.uint8)
    assign_s = pack_s = 0.0
    norm_sum = 0.0
    pos = 0
    for chunk in _token_chunks(docs):
        t0 = time.perf_counter()
        c = quantizer.assign(chunk)
        t1 = time.perf_counter()
        residuals = chunk - quantizer.centroids[c]
        norm_sum += float(np.linalg.norm(residuals, axis=1).sum())
        codes[pos : pos + len(chunk)] = c
        packed[pos : pos + len(chunk)] = codec.encode(residuals)
        pack_s += time.perf_counter() - t1
        assign_s += t1 - t0
        pos += len(chunk)
    return Encoded(
        codes,
        packed,
        doclens,
        residual_norm=norm_sum / max(n_tokens, 1),
        timings={"assign_s": assign_s, "pack_s": pack_s},
    )


def split_for_segments(n_docs: int, max_docs: int = MAX_SEGMENT_DOCS) -> list[tuple[int, int]]:
    """``[start, stop)`` document ranges of at most ``max_docs`` each."""
    return [(s, min(s + max_docs, n_docs)) for s in range(0, n_docs, max_docs)]


def slice_encoded(enc: Encoded, start: int, stop: int) -> Encoded:
    """Return documents ``[start, stop)`` of ``enc`` (views of its codes and residuals)."""
    offsets = np.r_[0, np.cumsum(enc.doclens)]
    t0, t1 = int(offsets[start]), int(offsets[stop])
    return Encoded(enc.codes[t0:t1], enc.residuals[t0:t1], enc.doclens[start:stop])


def live_batches(
    segments: Sequence[Segment], max_docs: int = MAX_SEGMENT_DOCS
) -> Iterator[tuple[list[str], Encoded]]:
    """Yield the live documents of ``segments`` in order, in groups of at most ``max_docs``.

    Each group is its ids and their codes and packed residuals, copied as they are (no
    re-encoding).
    """
    ids: list[str] = []
    parts: list[tuple[Segment, np.ndarray]] = []
    count = 0

    def flush() -> tuple[list[str], Encoded]:
        codes, residuals, lens = [], [], []
        for seg, local in parts:
            rows = seg.rows(local)
            codes.append(np.asarray(seg.codes[rows], dtype=np.int32))
            residuals.append(np.asarray(seg.residuals[rows]))
            lens.append(seg.doclens[local])
        return ids, Encoded(np.concatenate(codes), np.concatenate(residuals), np.concatenate(lens))

    for seg in segments:
        live = np.flatnonzero(~seg.deleted)
        while live.size:
            take = live[: max_docs - count]
            live = live[len(take) :]
            parts.append((seg, take))
            ids.extend(seg.ids[i] for i in take)
            count += len(take)
            if count == max_docs:
                yield flush()
                ids, parts, count = [], [], 0
    if count:
        yield flush()
