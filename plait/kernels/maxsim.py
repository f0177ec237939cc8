"""Exact MaxSim of a batch of queries against a flat token matrix, and top-k.

Documents are stored the way every plait index stores them: one flat ``(n_tokens, dim)`` matrix
(float32 or float16) and ``offsets`` of length ``n_documents + 1``; document ``j`` is
``tokens[offsets[j]:offsets[j + 1]]``. Queries are packed the same way (``pack_queries``), so ragged
queries and padding masks cost nothing: masked query tokens are simply not packed.

The fast path (:func:`maxsim_scores`) walks the documents in blocks whose similarity matrix is
about one core's L2 cache (2 MiB):

1. one BLAS matrix multiply per block, ``block_tokens @ query_tokens.T`` (torch/MKL; float16 and
   gathered blocks are widened/copied to float32 in cache-sized pieces first),
2. a segment max over each document's rows (numba, ``nogil``; the inner loop runs along the
   contiguous query-token axis, so it vectorises; it costs ~2% of the multiply),
3. a sum over each query's tokens.

Blocks are shared among ``get_num_threads()`` worker threads (torch's thread setting), each running
its multiplies single-threaded. One OpenMP team per block would meet at a barrier thousands of
times per search; on a busy machine every barrier waits for a descheduled thread (measured: 21% of
the matmul rate instead of 88-100%). Measure with ``benchmarks/bench_maxsim.py``.

:func:`maxsim_scores_reference` is the slow loop it is tested against. ``backend="torch"`` (chosen
by passing ``device=``, e.g. ``"cuda"``) runs the same blocks with torch ops on that device: a
matrix multiply, a scatter-max per document and an index-add per query. :func:`top_k` selects with
``argpartition`` and sorts only the ``k`` winners.

Conventions: a document with no tokens scores 0 (so does a query with no tokens). Scores are float32.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from plait.kernels.threads import get_num_threads, worker_pool
from plait.utils.tensor import as_matrices, to_numpy

if TYPE_CHECKING:
    import torch

try:  # numba is a hard dependency, but keep the numpy path usable if it is broken
    from numba import njit

    HAS_NUMBA = True
except ImportError:  # pragma: no cover
    HAS_NUMBA = False

Backend = Literal["auto", "numba", "numpy", "torch", "reference"]
DEFAULT_BLOCK_BYTES = 2 << 20  # size of one block's similarity matrix (about one core's L2)
_COPY_BLOCK_BYTES = 2 << 20  # size of a widened (float16) or gathered block of document tokens
# segment(sims, starts, ends, q_offsets, out, col0): the per-block segment max + per-query sum
SegmentMaxSum = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], None]


# ----------------------------------------------------------------------------- packing
def pack_queries(queries: Any, queries_mask: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Pack queries into ``(flat float32 (n_query_tokens, dim), offsets int64 (n_queries + 1,))``.

    ``queries`` is a 3-D array/tensor ``(n, tokens, dim)``, one 2-D matrix, or a list of 2-D matrices
    (ragged). ``queries_mask`` (``(n, tokens)``, nonzero = keep) drops padded query tokens.

    >>> flat, offsets = pack_queries(np.ones((2, 3, 4)), np.array([[1, 1, 0], [1, 0, 0]]))
    >>> flat.shape, offsets.tolist()
    ((3, 4), [0, 2, 3])
    """
    matrices = as_matrices(queries, "queries")
    if queries_mask is not None:
        mask = to_numpy(queries_mask, dtype=None).astype(bool)
        lengths = {m.shape[0] for m in matrices}
        if mask.ndim == 1 and len(matrices) == 1:
            mask = mask[None]
        if mask.ndim != 2 or mask.shape[0] != len(matrices) or {mask.shape[1]} != lengths:
            raise ValueError(
                f"queries_mask of shape {tuple(mask.shape)} does not match queries "
                f"({len(matrices)} queries of lengths {sorted(lengths)})"
            )
        matrices = [m[keep] for m, keep in zip(matrices, mask, strict=True)]
    dims = {m.shape[1] for m in matrices}
    if len(dims) > 1:
        raise ValueError(f"queries have different embedding dimensions: {sorted(dims)}")
    offsets = np.zeros(len(matrices) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([m.shape[0] for m in matrices])
    dim = dims.pop() if dims else 0
    flat = np.concatenate(matrices, axis=0) if matrices else np.zeros((0, dim), np.float32)
    return np.ascontiguousarray(flat, dtype=np.float32), offsets


def _check_documents(
    tokens: np.ndarray, offsets: np.ndarray, documents: Any, dim: int
) -> tuple[np.ndarray, np.ndarray | None]:
    if tokens.ndim != 2:
        raise ValueError(f"tokens must be a 2-D (n_tokens, dim) matrix, got shape {tokens.shape}")
    if tokens.dtype not in (np.float32, np.float16):
        raise TypeError(f"tokens must be float32 or float16, got {tokens.dtype}")
    if tokens.shape[1] != dim:
        raise ValueError(f"queries have dimension {dim} but document tokens have {tokens.shape[1]}")
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or len(offsets) < 1 or offsets[0] != 0 or offsets[-1] != len(tokens):
        raise ValueError("offsets must be 1-D, start at 0 and end at len(tokens)")
    if documents is None:
        return offsets, None
    documents = np.asarray(documents, dtype=np.int64).reshape(-1)
    if len(documents) and (documents.min() < 0 or documents.max() >= len(offsets) - 1):
        raise IndexError(f"document indices must lie in [0, {len(offsets) - 1})")
    return offsets, documents


# ----------------------------------------------------------------------------- numba core
if HAS_NUMBA:
    # No numba thread pool: the pass costs ~1/50 of the block's matrix multiply, and numba's pool
    # fighting torch's spinning OpenMP threads made it 25x slower. Workers run it (nogil) instead.
    @njit(cache=True, fastmath=True, nogil=True)
    def _segment_max_sum_numba(
        sims: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        q_offsets: np.ndarray,
        out: np.ndarray,
        col0: int,
    ) -> None:  # pragma: no cover
        n_docs = starts.shape[0]
        n_tokens = sims.shape[1]
        n_queries = q_offsets.shape[0] - 1
        for j in range(n_docs):
            a = starts[j]
            b = ends[j]
            if a == b:
                for q in range(n_queries):
                    out[q, col0 + j] = 0.0
                continue
            best = sims[a].copy()
            for r in range(a + 1, b):
                row = sims[r]
                for t in range(n_tokens):
                    v = row[t]
                    best[t] = v if v > best[t] else best[t]
            for q in range(n_queries):
                s = np.float32(0.0)
                for t in range(q_offsets[q], q_offsets[q + 1]):
                    s += best[t]
                out[q, col0 + j] = s


def _segment_max_sum_numpy(
    sims: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    q_offsets: np.ndarray,
    out: np.ndarray,
    col0: int,
) -> None:
    n_docs = len(starts)
    nonempty = ends > starts
    maxima = np.zeros((n_docs, sims.shape[1]), dtype=np.float32)
    if nonempty.any():
        maxima[nonempty] = np.maximum.reduceat(sims, starts[nonempty], axis=0)
    # reduceat over [start_i, start_{i+1}) equals [start_i, end_i): the block is contiguous
    for q in range(len(q_offsets) - 1):
        out[q, col0 : col0 + n_docs] = maxima[:, q_offsets[q] : q_offsets[q + 1]].sum(axis=1)


# ----------------------------------------------------------------------------- blocks
def _blocks(lengths: np.ndarray, max_tokens: int) -> list[tuple[int, int]]:
    """Split documents (given their token counts) into runs of at most ``max_tokens`` tokens."""
    blocks, start, total = [], 0, 0
    for j, n in enumerate(lengths.tolist()):
        if total + n > max_tokens and j > start:
            blocks.append((start, j))
            start, total = j, 0
        total += n
    if start < len(lengths):
        blocks.append((start, len(lengths)))
    return blocks


def _gather_rows(offsets: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """Token row indices of ``documents``, concatenated in order."""
    starts = offsets[documents]
    lengths = offsets[documents + 1] - starts
    total = int(lengths.sum())
    begins = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - begins, lengths)


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    """Zero-copy tensor view; read-only (memory-mapped) arrays are fine because torch only reads."""
    import torch

    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array)


def resolve_backend(backend: Backend) -> str:
    """``"auto"`` picks numba when it imports, else numpy."""
    if backend == "auto":
        return "numba" if HAS_NUMBA else "numpy"
    if backend not in ("numba", "numpy", "torch", "reference"):
        raise ValueError(
            f"backend must be 'auto', 'numba', 'numpy', 'torch' or 'reference', got {backend!r}"
        )
    if backend == "numba" and not HAS_NUMBA:
        raise ImportError("backend='numba' needs numba: pip install numba")
    return backend


def maxsim_scores(
    queries: Any,
    tokens: np.ndarray,
    offsets: np.ndarray,
    *,
    documents: Sequence[int] | np.ndarray | None = None,
    queries_mask: Any = None,
    backend: Backend = "auto",
    device: str | torch.device | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> np.ndarray:
    """MaxSim scores ``(n_queries, n_documents)`` float32 of every query against every document.

    ``documents`` (indices into ``offsets``) restricts scoring to those documents, in that order;
    the result then has one column per listed document. ``device`` (e.g. ``"cuda"``) selects the
    torch backend, which runs every step on that device block by block.

    >>> tokens = np.eye(3, dtype=np.float32); offsets = np.array([0, 1, 3])
    >>> maxsim_scores(np.eye(3, dtype=np.float32)[None], tokens, offsets).tolist()
    [[1.0, 2.0]]
    """
    q_flat, q_offsets = pack_queries(queries, queries_mask)
    tokens = tokens if isinstance(tokens, np.ndarray) else to_numpy(tokens)
    offsets, documents = _check_documents(tokens, offsets, documents, q_flat.shape[1])
    resolved = resolve_backend("torch" if device is not None and backend == "auto" else backend)
    if resolved == "reference":
        return _reference_packed(q_flat, q_offsets, tokens, offsets, documents)
    n_docs = len(documents) if documents is not None else len(offsets) - 1
    out = np.zeros((len(q_offsets) - 1, n_docs), dtype=np.float32)
    if n_docs == 0 or len(q_flat) == 0:
        return out
    lengths = np.diff(offsets) if documents is None else offsets[documents + 1] - offsets[documents]
    max_tokens = max(1, block_bytes // (4 * len(q_flat)))
    if tokens.dtype != np.float32 or documents is not None:  # blocks are copied: keep them in cache
        max_tokens = min(max_tokens, max(1, _COPY_BLOCK_BYTES // (4 * tokens.shape[1])))
    ranges = _blocks(lengths, max_tokens)
    if resolved == "torch":
        blocks = ((lo, hi, _block(tokens, offsets, documents, lo, hi)) for lo, hi in ranges)
        _scores_torch(q_flat, q_offsets, blocks, lengths, out, device or "cpu")
        return out
    segment: SegmentMaxSum = (
        _segment_max_sum_numba if resolved == "numba" else _segment_max_sum_numpy
    )

    def run(some: list[tuple[int, int]]) -> None:
        _run_blocks(some, q_flat, q_offsets, tokens, offsets, documents, lengths, out, segment)

    workers = min(get_num_threads(), len(ranges))
    if workers > 1:  # each worker multiplies single-threaded; no barrier per block
        list(worker_pool("maxsim", workers).map(run, [ranges[i::workers] for i in range(workers)]))
    else:
        run(ranges)
    return out


def _block(
    tokens: np.ndarray, offsets: np.ndarray, documents: np.ndarray | None, lo: int, hi: int
) -> np.ndarray:
    """Float32 token rows of documents ``lo..hi`` (of ``documents`` when given)."""
    if documents is None:
        block = tokens[offsets[lo] : offsets[hi]]
    else:
        block = tokens[_gather_rows(offsets, documents[lo:hi])]
    return np.ascontiguousarray(block, dtype=np.float32)


def _run_blocks(
    ranges: Iterable[tuple[int, int]],
    q_flat: np.ndarray,
    q_offsets: np.ndarray,
    tokens: np.ndarray,
    offsets: np.ndarray,
    documents: np.ndarray | None,
    lengths: np.ndarray,
    out: np.ndarray,
    segment: SegmentMaxSum,
) -> None:
    """CPU backends: per block, one matrix multiply then the segment max into ``out[:, lo:hi]``."""
    import torch

    q_t = torch.from_numpy(q_flat).T
    buffer = np.empty((0, len(q_flat)), np.float32)
    for lo, hi in ranges:
        block = _block(tokens, offsets, documents, lo, hi)
        n = len(block)
        if n > len(buffer):
            buffer = np.empty((n, len(q_flat)), np.float32)
        sims = buffer[:n]
        if n:
            torch.mm(_as_tensor(block), q_t, out=torch.from_numpy(sims))
        ends = np.cumsum(lengths[lo:hi])
        segment(sims, ends - lengths[lo:hi], ends, q_offsets, out, lo)


def _scores_torch(
    q_flat: np.ndarray,
    q_offsets: np.ndarray,
    blocks: Iterable[tuple[int, int, np.ndarray]],
    lengths: np.ndarray,
    out: np.ndarray,
    device: str | torch.device,
) -> None:
    """Torch backend (any device): matmul, scatter-max per document, index-add per query."""
    import torch

    device = torch.device(device)
    n_queries = len(q_offsets) - 1
    queries = torch.from_numpy(q_flat).to(device)
    query_of_token = torch.repeat_interleave(
        torch.arange(n_queries, device=device), torch.from_numpy(np.diff(q_offsets)).to(device)
    )
    for lo, hi, block in blocks:
        n_block = hi - lo
        sims = _as_tensor(block).to(device) @ queries.T  # (block tokens, query tokens)
        doc_of_row = torch.repeat_interleave(
            torch.arange(n_block, device=device), torch.from_numpy(lengths[lo:hi]).to(device)
        )
        maxima = torch.full((n_block, sims.shape[1]), float("-inf"), device=device)
        maxima.scatter_reduce_(0, doc_of_row[:, None].expand_as(sims), sims, "amax")
        maxima = torch.where(torch.isneginf(maxima), torch.zeros_like(maxima), maxima)
        sums = torch.zeros((n_block, n_queries), device=device).index_add_(
            1, query_of_token, maxima
        )
        out[:, lo:hi] = sums.T.cpu().numpy()


# ----------------------------------------------------------------------------- reference
def _reference_packed(
    q_flat: np.ndarray,
    q_offsets: np.ndarray,
    tokens: np.ndarray,
    offsets: np.ndarray,
    documents: np.ndarray | None,
) -> np.ndarray:
    doc_ids = range(len(offsets) - 1) if documents is None else documents
    out = np.zeros((len(q_offsets) - 1, len(doc_ids)), dtype=np.float32)
    for q in range(len(q_offsets) - 1):
        query = q_flat[q_offsets[q] : q_offsets[q + 1]].astype(np.float64)
        for col, j in enumerate(doc_ids):
            doc = np.asarray(tokens[offsets[j] : offsets[j + 1]], dtype=np.float64)
            total = 0.0
            for qt in query:
                if len(doc):
                    total += max(float(np.dot(qt, dt)) for dt in doc)
            out[q, col] = total
    return out


def maxsim_scores_reference(
    queries: Any,
    tokens: np.ndarray,
    offsets: np.ndarray,
    *,
    documents: Sequence[int] | np.ndarray | None = None,
    queries_mask: Any = None,
) -> np.ndarray:
    """Slow, obviously correct loop version of :func:`maxsim_scores` (float64 accumulation)."""
    return maxsim_scores(
        queries,
        tokens,
        offsets,
        documents=documents,
        queries_mask=queries_mask,
        backend="reference",
    )


# ----------------------------------------------------------------------------- top-k
def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return indices and values of the ``k`` largest finite entries of 1-D ``scores``, best first.

    Entries equal to ``-inf`` (excluded documents) are never returned, so fewer than ``k`` come back
    when fewer are finite. Ties are broken by the smaller index.

    >>> top_k(np.array([0.5, -np.inf, 2.0, 1.0], dtype=np.float32), 3)
    (array([2, 3, 0]), array([2. , 1. , 0.5], dtype=float32))
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    scores = np.asarray(scores)
    valid = np.flatnonzero(scores > -np.inf)
    if len(valid) == len(scores):
        candidates = np.arange(len(scores))
    else:
        candidates = valid
    values = scores[candidates]
    if len(candidates) > k:
        part = np.argpartition(-values, k - 1)[:k]
        candidates, values = candidates[part], values[part]
    order = np.lexsort((candidates, -values))
    return candidates[order], values[order]


def maxsim_search(
    queries: Any,
    tokens: np.ndarray,
    offsets: np.ndarray,
    k: int,
    *,
    documents: Sequence[int] | np.ndarray | None = None,
    queries_mask: Any = None,
    backend: Backend = "auto",
    device: str | torch.device | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Exact top-``k`` per query: a list of ``(document indices, scores)``, best first.

    Indices refer to ``offsets`` (also when ``documents`` restricts the search).
    """
    scores = maxsim_scores(
        queries,
        tokens,
        offsets,
        documents=documents,
        queries_mask=queries_mask,
        backend=backend,
        device=device,
        block_bytes=block_bytes,
    )
    results = []
    for row in scores:
        idx, values = top_k(row, k)
        if documents is not None:
            idx = np.asarray(documents, dtype=np.int64)[idx]
        results.append((idx, values))
    return results
