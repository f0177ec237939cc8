"""Open any plait index folder by what its manifest says it is: one registry of index formats.

Every index writes its ``format`` into ``manifest.json``; :func:`open_index` reads it and opens the
folder with the class registered for it, so no caller guesses the kind from names or strings.
Formats of higher packages (the sharded index lives in :mod:`plait.distributed`) are registered
by ``"module:Class"`` name and imported only when such a folder is opened.

>>> sorted(FORMATS)
['plait-exact', 'plait-plaid', 'plait-sharded-plaid']
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from plait.indexes.base import CorruptIndexError
from plait.indexes.foreign import describe, remedy
from plait.indexes.storage import IndexFolder

__all__ = [
    "FORMATS",
    "SHARDED_FORMAT",
    "index_class",
    "index_format",
    "open_index",
    "register_format",
]

#: The sharded PLAID index's format (its class takes ``backend=`` and ``ray_address=``).
SHARDED_FORMAT = "plait-sharded-plaid"

#: ``format`` in manifest.json -> ``"module:Class"`` whose ``(index_folder=, index_name=)``
#: constructor opens such a folder.
FORMATS: dict[str, str] = {
    "plait-exact": "plait.indexes.exact:Exact",
    "plait-plaid": "plait.indexes.plaid.index:PLAID",
    SHARDED_FORMAT: "plait.distributed.sharded:ShardedPLAID",
}


def register_format(name: str, target: str) -> None:
    """Register an index class (``"module:Class"``) for manifests whose ``format`` is ``name``."""
    module, _, attribute = target.partition(":")
    if not module or not attribute:
        raise ValueError(f"target must be 'module:Class', got {target!r}")
    FORMATS[name] = target


def index_format(path: str | os.PathLike[str]) -> str:
    """Return the ``format`` of the index at ``path`` (its manifest is read and checked).

    Raises
    ------
    FileNotFoundError
        No index at ``path`` (the message names a foreign index if it is one).
    CorruptIndexError
        The manifest is damaged or names no format.
    """
    folder = IndexFolder(path)
    if not folder.exists():
        foreign = (
            describe(child.name for child in Path(path).iterdir()) if Path(path).is_dir() else None
        )
        what = f"; it holds {foreign}: {remedy(foreign, path)}" if foreign else ""
        raise FileNotFoundError(f"no plait index at {path} (no manifest.json){what}")
    fmt = folder.read_manifest().get("format")
    if not isinstance(fmt, str):
        raise CorruptIndexError(f"{folder.manifest_path}: no 'format' string in the manifest")
    return fmt


def index_class(fmt: str) -> type:
    """Return the class registered for ``fmt`` (imported on first use)."""
    target = FORMATS.get(fmt)
    if target is None:
        known = ", ".join(sorted(FORMATS))
        raise CorruptIndexError(f"unknown index format {fmt!r} (this plait reads {known})")
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


def open_index(path: str | os.PathLike[str], **options: Any) -> Any:
    """Open the existing index at ``path``, whatever its kind.

    ``options`` go to its class (e.g. ``backend="ray"`` for a sharded index). Never creates or
    changes anything.

    Examples
    --------
    >>> from plait import indexes
    >>> index = indexes.open_index("my-index")  # doctest: +SKIP
    """
    cls = index_class(index_format(path))
    folder = Path(path)
    return cls(index_folder=folder.parent, index_name=folder.name, override=False, **options)
