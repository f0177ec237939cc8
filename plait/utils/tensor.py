"""Conversions between the array types users hand us (numpy, torch, nested lists)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

T = TypeVar("T")


def is_tensor(x: Any) -> bool:
    """Return whether ``x`` is a torch tensor, without importing torch.

    If torch is not loaded, ``x`` cannot be one.
    """
    torch_module = sys.modules.get("torch")
    return torch_module is not None and isinstance(x, torch_module.Tensor)


def convert_to_tensor(x: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Return ``x`` as a torch tensor (numpy arrays are shared, not copied, when possible).

    >>> convert_to_tensor(np.zeros((2, 3), dtype=np.float32)).shape
    torch.Size([2, 3])
    """
    import torch

    if isinstance(x, torch.Tensor):
        tensor = x
    elif isinstance(x, np.ndarray):
        array = x if x.dtype != np.float16 else x.astype(np.float32)
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    elif isinstance(x, (list, tuple)) and x and all(isinstance(e, torch.Tensor) for e in x):
        tensor = torch.stack(list(x))
    else:
        tensor = torch.as_tensor(np.asarray(x))
    if dtype is not None and tensor.dtype != dtype:
        tensor = tensor.to(dtype)
    return tensor


def to_numpy(x: Any, dtype: Any = np.float32) -> np.ndarray:
    """Return ``x`` as a numpy array of ``dtype`` (torch tensors are detached and moved to CPU)."""
    if is_tensor(x):
        x = x.detach().cpu()
        if x.dtype == sys.modules["torch"].bfloat16:
            x = x.float()
        x = x.numpy()
    array = np.asarray(x)
    if dtype is not None and array.dtype != dtype:
        if np.dtype(dtype).kind == "f" and array.dtype.kind not in "biuf":
            kind = "complex numbers" if array.dtype.kind == "c" else f"dtype {array.dtype}"
            raise TypeError(f"expected real numbers, got {kind} (convert them explicitly)")
        array = array.astype(dtype)
    return array


def is_array(x: Any) -> bool:
    """Return whether ``x`` is a numpy array or a torch tensor."""
    return isinstance(x, np.ndarray) or is_tensor(x)


def as_matrices(embeddings: Any, what: str = "queries_embeddings") -> list[np.ndarray]:
    """Normalise embeddings to a list of float32 ``(n_tokens, dim)`` numpy matrices.

    Accepts a 3-D array/tensor ``(n, tokens, dim)``, a single 2-D matrix (one item), or a sequence
    of 2-D matrices (ragged lengths allowed) given as arrays, tensors or nested lists.

    Examples
    --------
    >>> [m.shape for m in as_matrices(np.zeros((2, 3, 4)))]
    [(3, 4), (3, 4)]
    >>> [m.shape for m in as_matrices(np.zeros((3, 4)))]
    [(3, 4)]
    """
    if is_array(embeddings):
        array = to_numpy(embeddings)
        if array.ndim == 2:
            return [array]
        if array.ndim == 3:
            return list(array)
        raise ValueError(
            f"{what} must be 2-D (tokens, dim) or 3-D (n, tokens, dim), got shape {tuple(array.shape)}"
        )
    if isinstance(embeddings, (str, bytes)) or not isinstance(embeddings, Sequence):
        raise TypeError(
            f"{what} must be an array, a tensor or a list of (tokens, dim) matrices, "
            f"got {type(embeddings).__name__}"
        )
    if len(embeddings) > 0 and not is_array(embeddings[0]):
        first = np.asarray(embeddings[0])
        if first.ndim == 1:  # nested lists forming a single matrix
            return as_matrices(np.asarray(embeddings, dtype=np.float32), what)
    matrices = []
    for i, item in enumerate(embeddings):
        array = to_numpy(item)
        if array.ndim != 2:
            raise ValueError(
                f"{what}[{i}] must be a 2-D (tokens, dim) matrix, got shape {tuple(array.shape)}"
            )
        matrices.append(array)
    return matrices


def iter_batch(items: Sequence[T], batch_size: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of ``items`` of at most ``batch_size`` elements.

    Examples
    --------
    >>> [list(b) for b in iter_batch([1, 2, 3], 2)]
    [[1, 2], [3]]
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    for start in range(0, len(items), batch_size):
        yield items[start : start + batch_size]
