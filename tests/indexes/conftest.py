"""Registry of index implementations for the shared conformance suite (test_contract.py).

To run the suite against another index, append one :class:`IndexFactory` to ``INDEX_FACTORIES``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from plait.distributed.sharded import ShardedPLAID
from plait.indexes import Exact, Index
from plait.indexes.plaid import PLAID


@dataclass(frozen=True)
class IndexFactory:
    """How the conformance suite builds and reopens one kind of index.

    ``create(folder)`` returns a new, empty index stored under ``folder`` (or in memory when
    ``folder`` is ``None`` and ``in_memory`` is true); ``reopen(folder)`` opens what ``create``
    stored there. ``exact`` says whether scores equal brute-force MaxSim (float tolerance); for
    approximate indexes the suite only checks rankings on well-separated data. ``ordered_ids``:
    ``documents_ids`` lists insertion order (a sharded index lists shard by shard instead).
    """

    name: str
    create: Callable[[Path | None], Index]
    reopen: Callable[[Path], Index]
    exact: bool = True
    in_memory: bool = False
    ordered_ids: bool = True


INDEX_FACTORIES: list[IndexFactory] = [
    IndexFactory(
        name="exact",
        create=lambda folder: Exact(index_folder=folder, index_name="idx", override=True),
        reopen=lambda folder: Exact(index_folder=folder, index_name="idx"),
        in_memory=True,
    ),
    IndexFactory(
        name="exact-float16",
        create=lambda folder: Exact(
            index_folder=folder, index_name="idx", override=True, dtype="float16"
        ),
        reopen=lambda folder: Exact(index_folder=folder, index_name="idx"),
        exact=False,
    ),
    IndexFactory(
        name="plaid",
        create=lambda folder: PLAID(index_folder=folder, index_name="idx", override=True, nbits=8),
        reopen=lambda folder: PLAID(index_folder=folder, index_name="idx"),
        exact=False,
    ),
    IndexFactory(
        name="sharded-plaid",
        create=lambda folder: ShardedPLAID(
            index_folder=folder, index_name="idx", override=True, n_shards=3, nbits=8
        ),
        reopen=lambda folder: ShardedPLAID(index_folder=folder, index_name="idx"),
        exact=False,
        ordered_ids=False,
    ),
]


@pytest.fixture(params=INDEX_FACTORIES, ids=lambda f: f.name)
def index_factory(request) -> IndexFactory:
    return request.param


@pytest.hookimpl(tryfirst=True)  # before -m deselects by the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """``@pytest.mark.slow_kinds("plaid", ...)``: those kinds of an ``index_factory`` test are slow.

    The inner loop (``pytest -m "not slow"``) then runs the test on the other kinds only.
    """
    for item in items:
        marker = item.get_closest_marker("slow_kinds")
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None or "index_factory" not in callspec.params:
            continue
        if callspec.params["index_factory"].name in marker.args:
            item.add_marker(pytest.mark.slow)
