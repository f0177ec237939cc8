"""Small helpers shared across plait."""

from plait.utils.tensor import as_matrices, convert_to_tensor, is_array, iter_batch, to_numpy

__all__ = ["as_matrices", "convert_to_tensor", "is_array", "iter_batch", "to_numpy"]
