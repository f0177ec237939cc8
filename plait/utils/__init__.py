"""Small helpers shared across plait."""

from plait.training.collator import ColBERTCollator
from plait.training.kd import KDProcessing
from plait.utils.tensor import as_matrices, convert_to_tensor, is_array, iter_batch, to_numpy

__all__ = [
    "ColBERTCollator",
    "KDProcessing",
    "as_matrices",
    "convert_to_tensor",
    "is_array",
    "iter_batch",
    "to_numpy",
]
