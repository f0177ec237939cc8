"""MaxSim scores on padded batches (torch, differentiable) and on ragged documents (numpy).

Padding is masked with ``-inf`` before the max, never by multiplying similarities by 0: with a
0-masked pad, a padded token wins the max whenever all real similarities of a query token are
negative. Conventions:

* a document whose tokens are all masked (or that has no tokens) scores 0;
* a masked query token contributes 0 to the sum;
* masks are ``(…, tokens)`` arrays/tensors where nonzero / ``True`` means "real token".

Inputs may be torch tensors, numpy arrays or lists of ragged 2-D matrices (padded here, with the
matching mask built for you). Results are torch tensors on the queries' device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from plait.utils.tensor import as_matrices, convert_to_tensor, is_array

# Bound on the (queries x documents x query tokens x document tokens) similarity block.
_MAX_BLOCK_ELEMENTS = 1 << 25


def _pad(items: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(t) for t in items])
    padded = torch.nn.utils.rnn.pad_sequence(items, batch_first=True)
    mask = torch.arange(padded.shape[1])[None, :] < lengths[:, None]
    return padded, mask


def _batch(x: Any, mask: Any, name: str, ndim: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Tensor of ``ndim`` dims (ragged lists of matrices are padded) and its boolean mask."""
    if not is_array(x) and ndim == 3 and isinstance(x, (list, tuple)) and x and is_array(x[0]):
        tensors = [convert_to_tensor(item) for item in x]
        if len({tuple(t.shape) for t in tensors}) > 1:
            if mask is not None:
                raise ValueError(
                    f"{name}: pass either ragged matrices or a padded batch with a mask"
                )
            for i, t in enumerate(tensors):
                if t.ndim != 2:
                    raise ValueError(
                        f"{name}[{i}] must be a 2-D (tokens, dim) matrix, got {tuple(t.shape)}"
                    )
            return _pad([t.to(tensors[0].dtype) for t in tensors])
    tensor = convert_to_tensor(x)
    if tensor.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {tuple(tensor.shape)}")
    if not tensor.is_floating_point():
        tensor = tensor.float()
    if mask is None:
        return tensor, None
    mask_t = convert_to_tensor(mask).to(tensor.device)
    if tuple(mask_t.shape) != tuple(tensor.shape[:-1]):
        raise ValueError(
            f"{name} mask has shape {tuple(mask_t.shape)}, expected {tuple(tensor.shape[:-1])}"
        )
    return tensor, mask_t != 0


_BACKENDS_ELSEWHERE = {
    "flash": "requires CUDA and the flash-maxsim kernels",
    "lik": "requires CUDA or MPS and the late-interaction-kernels package",
}


def check_backend(backend: str | None) -> None:
    """Accept PyLate's ``backend=`` values: ``None``, ``"torch"`` and ``"auto"`` run plait's MaxSim.

    Parameters
    ----------
    backend
        PyLate 1.6's scoring backend name.

    Raises
    ------
    RuntimeError
        ``"flash"`` or ``"lik"``: PyLate's optional GPU kernels, which plait does not ship (PyLate
        raises the same on CPU tensors; ``"auto"`` falls back to torch as PyLate's does).
    ValueError
        Any other value.
    """
    if backend is None or backend in ("torch", "auto"):
        return
    if backend in _BACKENDS_ELSEWHERE:
        raise RuntimeError(
            f"backend={backend!r} {_BACKENDS_ELSEWHERE[backend]}, which plait does not ship; "
            "use backend='torch' or 'auto' (plait's MaxSim runs on any torch device)"
        )
    raise ValueError(f"backend={backend!r}: choose 'torch', 'auto', 'flash' or 'lik'")


def _check_dims(q: torch.Tensor, d: torch.Tensor) -> None:
    if q.shape[-1] != d.shape[-1]:
        raise ValueError(
            f"queries have embedding dimension {q.shape[-1]} but documents have {d.shape[-1]}"
        )


def _reduce(
    sims: torch.Tensor, q_mask: torch.Tensor | None, d_mask: torch.Tensor | None
) -> torch.Tensor:
    """``sims[..., s, t]`` -> masked max over t, masked sum over s. Masks broadcast against sims."""
    if sims.shape[-1] == 0:
        best = sims.new_zeros(sims.shape[:-1])
    else:
        if d_mask is not None:
            sims = sims.masked_fill(~d_mask, float("-inf"))
        best = sims.max(dim=-1).values
        best = torch.where(torch.isneginf(best), torch.zeros_like(best), best)
    if q_mask is not None:
        best = torch.where(q_mask, best, torch.zeros_like(best))
    return best.sum(dim=-1)


def colbert_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    backend: str | None = None,
) -> torch.Tensor:
    """MaxSim of every query against every document: ``Q (nq, Lq, d)``, ``D (nd, Ld, d)`` -> ``(nq, nd)``.

    ``backend`` takes PyLate's scoring backend names (see :func:`check_backend`).

    >>> q = torch.tensor([[[1.0], [-1.0]]])           # one query, two tokens
    >>> d = torch.tensor([[[-0.5], [0.0]]])           # one document, second token is padding
    >>> colbert_scores(q, d, documents_mask=torch.tensor([[1, 0]]))
    tensor([[0.]])
    >>> colbert_scores(q, d)                          # unmasked, the 0 pad wins for token 1
    tensor([[0.5000]])
    """
    check_backend(backend)
    q, q_mask = _batch(queries_embeddings, queries_mask, "queries_embeddings", 3)
    d, d_mask = _batch(documents_embeddings, documents_mask, "documents_embeddings", 3)
    _check_dims(q, d)
    d = d.to(device=q.device, dtype=q.dtype)
    if d_mask is not None:
        d_mask = d_mask.to(q.device)
    nq, lq = q.shape[:2]
    per_doc = max(1, nq * lq * max(1, d.shape[1]))
    step = max(1, _MAX_BLOCK_ELEMENTS // per_doc)
    blocks = []
    for start in range(0, d.shape[0], step):
        sims = torch.einsum("ash,bth->abst", q, d[start : start + step])
        dm = None if d_mask is None else d_mask[start : start + step][None, :, None, :]
        qm = None if q_mask is None else q_mask[:, None, :]
        blocks.append(_reduce(sims, qm, dm))
    if not blocks:
        return q.new_zeros((nq, 0))
    return torch.cat(blocks, dim=1)


def colbert_scores_pairwise(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    backend: str | None = None,
) -> torch.Tensor:
    """MaxSim of query ``i`` against document ``i``: ``Q (n, Lq, d)``, ``D (n, Ld, d)`` -> ``(n,)``.

    ``backend`` takes PyLate's scoring backend names (see :func:`check_backend`).

    >>> q = torch.tensor([[[1.0]], [[2.0]]])
    >>> d = torch.tensor([[[3.0], [1.0]], [[1.0], [5.0]]])
    >>> colbert_scores_pairwise(q, d)
    tensor([ 3., 10.])
    """
    check_backend(backend)
    q, q_mask = _batch(queries_embeddings, queries_mask, "queries_embeddings", 3)
    d, d_mask = _batch(documents_embeddings, documents_mask, "documents_embeddings", 3)
    _check_dims(q, d)
    if q.shape[0] != d.shape[0]:
        raise ValueError(
            f"pairwise scores need as many documents as queries, got {d.shape[0]} and {q.shape[0]}"
        )
    d = d.to(device=q.device, dtype=q.dtype)
    sims = torch.einsum("ash,ath->ast", q, d)
    dm = None if d_mask is None else d_mask.to(q.device)[:, None, :]
    return _reduce(sims, q_mask, dm)


def colbert_kd_scores(
    queries_embeddings: Any,
    documents_embeddings: Any,
    queries_mask: Any = None,
    documents_mask: Any = None,
    backend: str | None = None,
) -> torch.Tensor:
    """MaxSim of each query against its own candidates: ``Q (nq, Lq, d)``, ``D (nq, nd, Ld, d)`` -> ``(nq, nd)``.

    Used by the distillation loss (candidate ``j`` of query ``i`` is ``D[i, j]``).
    ``backend`` takes PyLate's scoring backend names (see :func:`check_backend`).

    >>> q = torch.tensor([[[1.0]], [[2.0]]])
    >>> d = torch.tensor([[[[3.0]], [[1.0]]], [[[1.0]], [[5.0]]]])
    >>> colbert_kd_scores(q, d)
    tensor([[ 3.,  1.],
            [ 2., 10.]])
    """
    check_backend(backend)
    q, q_mask = _batch(queries_embeddings, queries_mask, "queries_embeddings", 3)
    d, d_mask = _batch(documents_embeddings, documents_mask, "documents_embeddings", 4)
    _check_dims(q, d)
    if q.shape[0] != d.shape[0]:
        raise ValueError(
            f"kd scores need one candidate list per query: {q.shape[0]} queries, {d.shape[0]} lists"
        )
    d = d.to(device=q.device, dtype=q.dtype)
    sims = torch.einsum("ash,abth->abst", q, d)
    dm = None if d_mask is None else d_mask.to(q.device)[:, :, None, :]
    qm = None if q_mask is None else q_mask[:, None, :]
    return _reduce(sims, qm, dm)


class ColBERTScores:
    """In-batch contrastive scores: every query against every query's document group.

    PyLate 1.6's ``scores.ColBERTScores``. Called with ``(Q, Lq, d)`` queries and ``(D, N, Ld, d)``
    documents (``N`` documents per group, e.g. a positive and hard negatives), it returns the
    ``(Q, D * N)`` MaxSim matrix in query-major order: column ``j * N + k`` is document ``k`` of
    group ``j``, so with ``Q == D`` the positive of query ``i`` sits at column ``i * N``. Masks
    are ``(Q, Lq)`` and ``(D, N, Ld)``; padding is masked as in :func:`colbert_scores`.

    Examples
    --------
    >>> queries = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> documents = torch.tensor([[[[1.0, 0.0]], [[0.0, 0.5]]], [[[0.0, 1.0]], [[0.5, 0.0]]]])
    >>> ColBERTScores()(queries, documents)
    tensor([[1.0000, 0.0000, 0.0000, 0.5000],
            [0.0000, 0.5000, 1.0000, 0.0000]])
    """

    def __call__(
        self,
        queries_embeddings: Any,
        documents_embeddings: Any,
        queries_mask: Any = None,
        documents_mask: Any = None,
        backend: str | None = None,
    ) -> torch.Tensor:
        """Return the ``(Q, D * N)`` scores (see the class docstring).

        Parameters
        ----------
        queries_embeddings
            ``(Q, Lq, d)`` query token embeddings.
        documents_embeddings
            ``(D, N, Ld, d)``: ``N`` documents for each of ``D`` groups.
        queries_mask, documents_mask
            Optional ``(Q, Lq)`` / ``(D, N, Ld)`` masks, nonzero for real tokens.
        backend
            PyLate's scoring backend name (see :func:`check_backend`).

        Returns
        -------
        torch.Tensor
            ``(Q, D * N)`` MaxSim scores, query-major.
        """
        documents, mask = _batch(documents_embeddings, documents_mask, "documents_embeddings", 4)
        groups, per_group = documents.shape[:2]
        flat = documents.reshape(groups * per_group, *documents.shape[2:])
        flat_mask = None if mask is None else mask.reshape(groups * per_group, mask.shape[-1])
        return colbert_scores(queries_embeddings, flat, queries_mask, flat_mask, backend=backend)


def maxsim(query: Any, documents: Any) -> np.ndarray:
    """MaxSim of one query ``(Lq, d)`` against ragged documents (a list of ``(Ld_i, d)``) -> ``(n,)``.

    Uses the exact kernel (:mod:`plait.kernels.maxsim`); empty documents score 0.

    >>> maxsim(np.eye(2, dtype=np.float32), [np.eye(2, dtype=np.float32), np.zeros((0, 2))])
    array([2., 0.], dtype=float32)
    """
    from plait.kernels.maxsim import maxsim_scores

    query_matrix = as_matrices(query, "query")
    if len(query_matrix) != 1:
        raise ValueError(
            "maxsim takes one query matrix (tokens, dim); use colbert_scores for batches"
        )
    docs = (
        as_matrices(documents, "documents")
        if not is_array(documents) or np.ndim(documents) == 3
        else None
    )
    if docs is None:
        raise ValueError("documents must be a list of (tokens, dim) matrices or a 3-D array")
    dim = query_matrix[0].shape[1]
    for i, doc in enumerate(docs):
        if doc.shape[1] != dim and len(doc):
            raise ValueError(f"query has dimension {dim} but documents[{i}] has {doc.shape[1]}")
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(doc) for doc in docs])
    tokens = (
        np.concatenate([doc.reshape(-1, dim) for doc in docs]).astype(np.float32, copy=False)
        if docs
        else np.zeros((0, dim), np.float32)
    )
    return maxsim_scores(query_matrix, tokens, offsets)[0]
