"""Small helpers shared across plait.

The trainer's collator and distillation processing are re-exported lazily (PyLate keeps them in
``pylate.utils``): importing :mod:`plait.utils` loads neither torch nor :mod:`plait.training`.
"""

from __future__ import annotations

from typing import Any

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

_LAZY = {
    "ColBERTCollator": "plait.training.collator",
    "KDProcessing": "plait.training.kd",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'plait.utils' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
