"""Indexes: the :class:`Index` contract, the exact (exhaustive) index and PLAID.

:func:`open_index` opens any plait index folder by the format its manifest names.

``Voyager`` is PyLate's name for its exact-ish index; here it is the exact index.
"""

from plait.indexes.base import (
    CorruptIndexError,
    DuplicateIdError,
    Index,
    IndexInputError,
    IndexLockedError,
    SearchResult,
    UnknownIdError,
)
from plait.indexes.exact import Exact
from plait.indexes.plaid import PLAID, Codebook, PLAIDSearchParams
from plait.indexes.registry import open_index
from plait.indexes.voyager import Voyager

__all__ = [
    "Codebook",
    "CorruptIndexError",
    "DuplicateIdError",
    "Exact",
    "Index",
    "IndexInputError",
    "IndexLockedError",
    "PLAID",
    "PLAIDSearchParams",
    "SearchResult",
    "UnknownIdError",
    "Voyager",
    "open_index",
]
