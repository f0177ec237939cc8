"""Which shard owns a document: a stable hash of its id (or of an explicit partition key).

The hash is the first 8 bytes of BLAKE2b of the UTF-8 key, read big-endian, modulo the number of
shards: the same on every machine, Python version and process (unlike ``hash()``, which is salted
per process).

>>> shard_of("doc-1", 4), shard_of("doc-1", 4) == shard_of("doc-1", 4)
(1, True)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH = "blake2b-64"


def shard_of(key: str, n_shards: int) -> int:
    """Shard number in ``[0, n_shards)`` of a partition key."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n_shards


def split_by_shard(keys: Sequence[str], n_shards: int) -> list[list[int]]:
    """Positions of ``keys`` grouped by owning shard (input order kept within each shard)."""
    groups: list[list[int]] = [[] for _ in range(n_shards)]
    for position, key in enumerate(keys):
        groups[shard_of(key, n_shards)].append(position)
    return groups
