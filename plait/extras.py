"""Optional dependencies: which extra brings each one, and the one error when it is missing.

The core install (``pip install plait``) encodes, indexes, searches and evaluates. BM25, training,
the HTTP server, the comparison report and Ray scale-out live behind extras; whatever needs
one calls :func:`require_extra` (or turns its ``ImportError`` into :func:`missing_extra`), so every
missing package gives the same one line: what needs it, and the ``pip install`` that brings it.

>>> sorted(EXTRAS)
['bm25', 'compare', 'metadata', 'ray', 'server', 'train']
"""

from __future__ import annotations

import importlib.util

EXTRAS: dict[str, tuple[str, ...]] = {
    "bm25": ("bm25s", "Stemmer"),  # the BM25 baseline and BM25 negatives (Stemmer: PyStemmer)
    "metadata": ("pyarrow", "duckdb"),  # per-document metadata (Parquet) and its filters
    "train": ("datasets", "accelerate", "bm25s", "Stemmer"),  # the sentence-transformers trainer
    "server": ("fastapi", "uvicorn"),
    "compare": ("matplotlib", "bm25s", "Stemmer"),
    "ray": ("ray",),
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def missing_extra(
    extra: str, what: str, modules: tuple[str, ...] | None = None
) -> MissingExtraError:
    """Return the error to raise when ``what`` cannot import the packages of ``extra``."""
    names = ", ".join(modules or EXTRAS[extra])
    return MissingExtraError(f'{what} needs {names}: pip install "plait[{extra}]"')


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError, AttributeError):  # e.g. sys.modules[module] is None
        return False


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`MissingExtraError` unless every package of ``extra`` is importable.

    This is checked without importing them.
    """
    missing = tuple(module for module in EXTRAS[extra] if not _installed(module))
    if missing:
        raise missing_extra(extra, what, missing)


__all__ = ["EXTRAS", "MissingExtraError", "missing_extra", "require_extra"]
