"""Scale-out on Ray (``pip install "plait[ray]"``): sharded PLAID indexes and scatter-gather search.

Importing this package is cheap and never imports Ray (nor the index code): names are loaded on first
use. Ray itself is imported only when Ray is asked for (``ShardedPLAID(..., backend="ray")``).

* :class:`ShardedPLAID` (:mod:`.sharded`): N PLAID shards sharing one codebook, a top-level manifest,
  routing by a stable hash of the id (or an explicit partition key); follows the Index contract.
* :func:`scatter_gather`, :class:`ShardUnavailableError`, :class:`ShardedSearchResult`
  (:mod:`.search`): the coordinator, equal to a single PLAID index with the same codebook.
* :class:`ShardWorker` (:mod:`.worker`), :class:`LocalShards` / :class:`RayShards` (:mod:`.actors`).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ShardedPLAID": "plait.distributed.sharded",
    "is_sharded_index": "plait.distributed.sharded",
    "ShardUnavailableError": "plait.distributed.search",
    "ShardedSearchResult": "plait.distributed.search",
    "scatter_gather": "plait.distributed.search",
    "ShardWorker": "plait.distributed.worker",
    "LocalShards": "plait.distributed.actors",
    "RayShards": "plait.distributed.actors",
    "shard_of": "plait.distributed.partition",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plait.distributed' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
