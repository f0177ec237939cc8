"""The peers' side of the filtered-search benchmark: fast-plaid 1.7 or xtr-warp-rs 2.1.

    benchmarks/.work/filter-peer-venv/bin/python benchmarks/peers/filter_peer_worker.py
    (spoken to by benchmarks/filter_bench.py; venv from benchmarks/setup_filter_peers.sh)

One process serves one engine (chosen by ``load_data(engine=...)``). Each engine uses its own
filtering API, as its documentation shows it:

- fast-plaid: ``FastPlaid.create(..., metadata=[...])`` writes ``metadata.db`` (SQLite);
  ``fast_plaid.filtering.where(index, condition, parameters)`` returns the matching document
  numbers, passed as ``search(..., subset=...)``.
- xtr-warp-rs: ``XTRWarp.create(..., metadata=[...])`` writes ``metadata.duckdb`` (DuckDB);
  ``XTRWarp.filter(condition, parameters)`` returns the matching passage ids, passed as
  ``search(..., subset=...)``.

A timed search includes turning the condition into the subset. Documents are numbered in the
order of the embedding set, so result numbers map back to the set's ids.

Operations: ``versions``, ``load_data``, ``build``, ``open`` (an index built earlier), ``count``,
``search``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from protocol import load_embeddings, memory_kib, package_versions, serve  # noqa: E402

state: dict[str, Any] = {}
ENGINES = ("fast-plaid", "xtr-warp-rs")


def versions() -> dict[str, str]:
    return package_versions(("fast-plaid", "xtr-warp-rs", "torch", "numpy", "duckdb"))


def load_data(engine: str, folder: str, metadata_path: str, threads: int) -> dict[str, int]:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    import torch

    torch.set_num_threads(threads)
    state.update(engine=engine, threads=threads, data=load_embeddings(folder))
    with open(metadata_path) as f:
        state["metadata"] = json.load(f)
    return memory_kib()


def _documents() -> list[Any]:
    import torch

    return [torch.from_numpy(np.ascontiguousarray(d)) for d in state["data"]["documents"]]


def build(index_folder: str, nbits: int) -> dict[str, Any]:
    """Build the engine's index with the documents' metadata; default settings apart from nbits."""
    import shutil

    engine, metadata = state["engine"], state["metadata"]
    shutil.rmtree(index_folder, ignore_errors=True)
    before = memory_kib()
    start = time.perf_counter()
    if engine == "fast-plaid":
        from fast_plaid import search

        index = search.FastPlaid(index=index_folder, device="cpu")
        index.create(documents_embeddings=_documents(), nbits=nbits, metadata=metadata)
    else:
        from xtr_warp import XTRWarp

        index = XTRWarp(index=index_folder)
        index.create(
            _documents(), device="cpu", nbits=nbits, metadata=metadata, show_progress=False
        )
        index.load(device="cpu")
    seconds = time.perf_counter() - start
    state["index"], state["folder"] = index, index_folder
    return {"seconds": seconds, "before": before, "after": memory_kib()}


def open_index(index_folder: str) -> dict[str, int]:
    """Open the index an earlier ``build`` wrote (with its metadata store)."""
    if state["engine"] == "fast-plaid":
        from fast_plaid import search

        index = search.FastPlaid(index=index_folder, device="cpu")
    else:
        from xtr_warp import XTRWarp

        index = XTRWarp(index=index_folder)
        index.load(device="cpu")
    state["index"], state["folder"] = index, index_folder
    return memory_kib()


def _subset(condition: str, params: list[Any]) -> list[int]:
    if state["engine"] == "fast-plaid":
        from fast_plaid import filtering

        return filtering.where(index=state["folder"], condition=condition, parameters=params)
    return state["index"].filter(condition, params)


def count(condition: str | None, params: list[Any]) -> int | None:
    """How many documents the engine's own filter matches (``None`` without a condition)."""
    return None if condition is None else len(_subset(condition, params))


def search(condition: str | None, params: list[Any], k: int) -> dict[str, Any]:
    """One batched search of every query under the filter (the filter's evaluation included);
    ``condition=None``: no filter, the engine's plain search (a baseline)."""
    import torch

    index, threads = state["index"], state["threads"]
    queries = torch.from_numpy(state["data"]["queries"])
    doc_ids = state["data"]["ids"]
    start = time.perf_counter()
    subset = None if condition is None else _subset(condition, params)
    filter_seconds = time.perf_counter() - start
    if subset is None:
        hits = (
            index.search(queries, top_k=k, show_progress=False, n_processes=threads)
            if state["engine"] == "fast-plaid"
            else index.search(queries, top_k=k, num_threads=threads, show_progress=False)
        )
    elif not subset:
        hits: list[list[tuple[int, float]]] = [[] for _ in range(len(queries))]
    elif state["engine"] == "fast-plaid":
        hits = index.search(
            queries, top_k=k, subset=subset, show_progress=False, n_processes=threads
        )
    else:
        hits = index.search(
            queries, top_k=k, subset=subset, num_threads=threads, show_progress=False
        )
    seconds = time.perf_counter() - start
    ids = [[doc_ids[int(number)] for number, _score in row] for row in hits]
    return {
        "seconds": seconds,
        "filter_seconds": filter_seconds,
        "ids": ids,
        "matching": len(doc_ids) if subset is None else len(subset),
    }


if __name__ == "__main__":
    serve(
        {
            "versions": versions,
            "load_data": load_data,
            "build": build,
            "open": open_index,
            "count": count,
            "search": search,
        }
    )
