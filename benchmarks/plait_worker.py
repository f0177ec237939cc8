"""plait's side of the benchmark: a worker process (see ``protocol.py``) run with plait's venv.

Operations: ``load_model``, ``save_model``, ``encode``, ``encode_set`` (write an embedding set),
``load_data``, ``build`` (PLAID), ``open_index``, ``search`` (PLAID), ``exact`` (brute-force MaxSim
over every token, the ground truth), ``matmul_gflops``, ``maxsim_gflops``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import load_embeddings, memory_kib, package_versions, serve, timed  # noqa: E402

state: dict[str, Any] = {}


def load_model(path: str | None = None) -> dict[str, Any]:
    from plait.models import ColBERT

    seconds, state["model"] = timed(lambda: ColBERT(path, device="cpu"))
    return {"seconds": seconds, "dim": state["model"].get_embedding_dimension()}


def save_model(path: str) -> None:
    state["model"].save(path)


def _save_ragged(path: str, matrices: list[np.ndarray]) -> None:
    offsets = np.zeros(len(matrices) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(m) for m in matrices])
    np.savez(path, tokens=np.concatenate(matrices), offsets=offsets)


def encode(
    texts: list[str],
    is_query: bool,
    batch_size: int = 32,
    save: str | None = None,
    fixed_queries: bool = False,
) -> dict:
    """Encode and time ``texts``; ``fixed_queries``: queries in the embedding sets' fixed form."""
    model = state["model"]
    with fixed_query_form(model, fixed_queries):
        seconds, out = timed(
            lambda: model.encode(
                texts, is_query=is_query, batch_size=batch_size, show_progress_bar=False
            )
        )
    if save:
        _save_ragged(save, list(out))
    return {"seconds": seconds, "texts": len(texts), "tokens": int(sum(len(m) for m in out))}


QUERY_TOKENS = 32  # fixed query length of embedding sets (protocol.py: queries.npy)


@contextlib.contextmanager
def fixed_query_form(model: Any, active: bool = True) -> Iterator[None]:
    """Queries as embedding sets store them: one (n, QUERY_TOKENS, dim) array, PyLate's 32-token
    [MASK]-expanded form, which both sides search. A model used without expansion (the default
    model reads up to 256 real tokens) is asked for that form; documents keep its settings."""
    if not active:
        yield
        return
    settings = (model.query_length, model.do_query_expansion)
    model.query_length, model.do_query_expansion = QUERY_TOKENS, True
    try:
        yield
    finally:
        model.query_length, model.do_query_expansion = settings


def encode_set(
    folder: str,
    documents: list[str],
    ids: list[str],
    queries: list[str],
    query_ids: list[str],
    batch_size: int = 32,
) -> dict[str, Any]:
    """Encode a corpus and its queries once and write them as an embedding set."""
    model = state["model"]
    start = time.perf_counter()
    docs = model.encode(documents, is_query=False, batch_size=batch_size, show_progress_bar=False)
    with fixed_query_form(model):
        qs = model.encode(queries, is_query=True, batch_size=batch_size, show_progress_bar=False)
    os.makedirs(folder, exist_ok=True)
    offsets = np.zeros(len(docs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(d) for d in docs])
    np.save(os.path.join(folder, "tokens.npy"), np.concatenate(docs).astype(np.float32))
    np.save(os.path.join(folder, "offsets.npy"), offsets)
    np.save(os.path.join(folder, "queries.npy"), np.stack(qs).astype(np.float32))
    for name, values in (("ids.json", ids), ("query_ids.json", query_ids)):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(values, f)
    return {"seconds": time.perf_counter() - start, "tokens": int(offsets[-1])}


def load_data(folder: str, documents: bool = True) -> dict[str, int]:
    state["data"] = load_embeddings(folder, documents=documents)
    return memory_kib()


def build(index_folder: str, index_name: str, nbits: int) -> dict[str, Any]:
    from plait.indexes import PLAID

    data = state["data"]
    before = memory_kib()

    def run() -> Any:
        index = PLAID(index_folder=index_folder, index_name=index_name, override=True, nbits=nbits)
        index.add_documents(data["ids"], data["documents"])
        return index

    seconds, index = timed(run)
    return {
        "seconds": seconds,
        "before": before,
        "after": memory_kib(),
        "timings": dict(getattr(index, "last_build_timings", {}) or {}),
        "stats": _jsonable(getattr(index, "stats", {})),
    }


def _jsonable(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, default=str))
    except (TypeError, ValueError):
        return str(value)


def open_index(index_folder: str, index_name: str) -> dict[str, Any]:
    from plait.indexes import PLAID

    seconds, state["index"] = timed(lambda: PLAID(index_folder=index_folder, index_name=index_name))
    return {"seconds": seconds, **memory_kib()}


def _run_queries(call: Any, indices: list[int], batched: bool) -> dict[str, Any]:
    """Time ``call(queries)`` once over all ``indices`` or once per query; collect ranked ids."""
    queries = state["data"]["queries"]
    seconds: list[float] = []
    ids: list[list[str]] = []
    scores: list[list[float]] = []
    groups = [indices] if batched else [[i] for i in indices]
    for group in groups:
        elapsed, results = timed(lambda g=group: call(queries[g]))
        seconds.append(elapsed)
        for result_ids, result_scores in results:
            ids.append([str(x) for x in result_ids])
            scores.append([float(s) for s in result_scores])
    return {"seconds": seconds, "ids": ids, "scores": scores, **memory_kib()}


def search(k: int, indices: list[int], batched: bool) -> dict[str, Any]:
    index = state["index"]

    def call(queries: np.ndarray) -> list[tuple[list[str], np.ndarray]]:
        return [(r.ids, r.scores) for r in index.search(queries, k=k)]

    return _run_queries(call, indices, batched)


def exact(k: int, indices: list[int], batched: bool) -> dict[str, Any]:
    """Brute-force MaxSim over every stored token (plait's exact kernel), the ground truth."""
    from plait.kernels.maxsim import maxsim_search

    data = state["data"]
    doc_ids = data["ids"]

    def call(queries: np.ndarray) -> list[tuple[list[str], np.ndarray]]:
        hits = maxsim_search(queries, data["tokens"], data["offsets"], k)
        return [([doc_ids[j] for j in idx], values) for idx, values in hits]

    return _run_queries(call, indices, batched)


def maxsim_rate(n_queries: int = 16, repeats: int = 3) -> dict[str, float]:
    """Exact MaxSim kernel GFLOP/s on the loaded set (batched queries) and float32 matmul GFLOP/s."""
    import torch

    from plait.kernels.maxsim import maxsim_search

    data = state["data"]
    queries = data["queries"][:n_queries]
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    matmul = min(timed(lambda: torch.mm(a, b))[0] for _ in range(repeats))
    maxsim_search(queries[:4], data["tokens"], data["offsets"], 10)
    kernel = min(
        timed(lambda: maxsim_search(queries, data["tokens"], data["offsets"], 10))[0]
        for _ in range(repeats)
    )
    flop = 2.0 * queries.shape[0] * queries.shape[1] * queries.shape[2] * len(data["tokens"])
    return {"matmul_gflops": 2 * n**3 / matmul / 1e9, "maxsim_gflops": flop / kernel / 1e9}


def versions() -> dict[str, str]:
    return package_versions(
        ("plait", "torch", "numpy", "numba", "transformers", "sentence-transformers")
    )


if __name__ == "__main__":
    serve(
        {
            "load_model": load_model,
            "save_model": save_model,
            "encode": encode,
            "encode_set": encode_set,
            "load_data": load_data,
            "build": build,
            "open_index": open_index,
            "search": search,
            "exact": exact,
            "maxsim_rate": maxsim_rate,
            "versions": versions,
        }
    )
