"""The benchmark's sections: encode, build, search (+ quality). Each returns tables and a summary.

Both sides are measured in the same run, interleaved (plait call, peer call, plait call, ...), so
that load from other processes on a shared machine hits both sides alike; the report gives ratios.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from common import Table, Worker, WorkerError, percentile_ms, recall_at
from embedding_sets import EmbeddingSet

GIB = 2**30


@dataclass
class Options:
    """Run-wide settings (from the command line)."""

    work: Path
    logs: Path
    nbits: int = 2
    quick: bool = False
    latency_queries: int = 50
    batch_size: int = 100
    max_queries: int | None = None
    timing_queries: int = 100
    peer_timeout: float = 3600.0
    peer_max_tokens: int = 3_000_000
    encode_documents: int = 512
    encode_queries: int = 300


@dataclass
class Outcome:
    """What a section measured: tables to print and named numbers for the ratio summary."""

    tables: list[Table] = field(default_factory=list)
    numbers: dict[str, float | None] = field(default_factory=dict)


# ----------------------------------------------------------------------------- encode
def encode_section(
    plait: Worker, peer: Worker, model_folder: Path, texts: dict[str, list[str]], opts: Options
) -> Outcome:
    """Encoding throughput of the same weights: plait's default model vs PyLate loading its save."""
    loaded = peer.call("load_model", timeout=600, path=str(model_folder))
    sanity = _embedding_agreement(plait, peer, texts, opts.work / "sanity")
    table = Table.new(
        "Encoding (same weights: plait default model, saved and loaded in PyLate)",
        ["texts", "plait /s", "PyLate /s", "plait ÷ PyLate"],
    )
    out = Outcome([table])
    for label, is_query, sample in (
        ("documents", False, texts["documents"][: opts.encode_documents]),
        ("queries", True, texts["queries"][: opts.encode_queries]),
    ):
        rates = _interleaved_encode(plait, peer, sample, is_query, opts)
        table.add(
            f"{len(sample)} {label}", rates["plait"], rates["peer"], rates["plait"] / rates["peer"]
        )
        out.numbers[f"encode_{label}_ratio"] = rates["plait"] / rates["peer"]
    table.notes.append(
        f"embeddings agree: max |plait - PyLate| = {sanity['max_abs']:.2e} over {sanity['texts']} "
        f"texts (token counts equal: {sanity['same_shapes']})"
    )
    table.notes.append(
        "batch size 32 on both sides, interleaved in chunks of 32 texts, "
        "after one warm-up chunk each; SciFact texts (documents: title + text)"
    )
    if loaded.get("dropped_config_keys"):
        table.notes.append(
            "PyLate 1.6 (sentence-transformers 5.3) cannot load plait's saved folder as is: its "
            "sentence_bert_config.json holds keys it rejects "
            f"({', '.join(loaded['dropped_config_keys'])}); the peer loads a copy without them"
        )
    out.numbers["encode_max_abs_diff"] = sanity["max_abs"]
    return out


def _embedding_agreement(
    plait: Worker, peer: Worker, texts: dict[str, list[str]], folder: Path
) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    worst, same = 0.0, True
    count = 0
    for is_query, sample in ((True, texts["queries"][:4]), (False, texts["documents"][:4])):
        paths = {}
        for side, worker in (("plait", plait), ("peer", peer)):
            paths[side] = folder / f"{side}-{int(is_query)}.npz"
            worker.call(
                "encode", timeout=600, texts=sample, is_query=is_query, save=str(paths[side])
            )
        a, b = np.load(paths["plait"]), np.load(paths["peer"])
        count += len(sample)
        if a["tokens"].shape != b["tokens"].shape or not np.array_equal(a["offsets"], b["offsets"]):
            same = False
            continue
        worst = max(worst, float(np.abs(a["tokens"] - b["tokens"]).max()))
    return {"max_abs": worst if same else float("nan"), "same_shapes": same, "texts": count}


def _interleaved_encode(
    plait: Worker, peer: Worker, texts: list[str], is_query: bool, opts: Options
) -> dict[str, float]:
    chunks = [texts[i : i + 32] for i in range(0, len(texts), 32)]
    totals = {"plait": 0.0, "peer": 0.0}
    for worker in (plait, peer):  # warm-up
        worker.call("encode", timeout=opts.peer_timeout, texts=chunks[0], is_query=is_query)
    for n, chunk in enumerate(chunks):
        order = (
            (("plait", plait), ("peer", peer)) if n % 2 == 0 else (("peer", peer), ("plait", plait))
        )
        for side, worker in order:
            result = worker.call(
                "encode", timeout=opts.peer_timeout, texts=chunk, is_query=is_query
            )
            totals[side] += result["seconds"]
    return {side: len(texts) / seconds for side, seconds in totals.items()}


# ----------------------------------------------------------------------------- build
def index_folder(opts: Options, data: EmbeddingSet) -> Path:
    return opts.work / "indexes" / data.folder.name / f"nbits{opts.nbits}"


def build_section(data: EmbeddingSet, opts: Options, make: dict[str, Any]) -> Outcome:
    """Build both indexes from the same embeddings, each in a fresh worker process."""
    folder = index_folder(opts, data)
    folder.mkdir(parents=True, exist_ok=True)  # each side overrides its own index folder
    table = Table.new(
        f"Index build, {data.name} ({data.n_documents:,} documents, {data.n_tokens:,} tokens), "
        f"nbits={opts.nbits}",
        ["", "build s", "peak RSS GiB", "RSS before build GiB", "disk MiB", "files", "bytes/token"],
    )
    out = Outcome([table])
    for side, label in (("plait", "plait PLAID"), ("peer", "fast-plaid (PyLate)")):
        if make.get(side) is None:
            table.add(label, *[None] * 6)
            table.notes.append(f"{label} skipped: {make.get('why', 'not available')}")
            continue
        row = _build_one(side, make[side], data, folder, opts)
        table.add(label, *row)
        if row[0] is not None:
            out.numbers[f"{side}_build_s"] = row[0]
            out.numbers[f"{side}_bytes_per_token"] = row[-1]
            out.numbers[f"{side}_peak_gib"] = row[1]
    table.notes.append(
        "each side builds in a fresh process that first loads the same float32 "
        "embeddings (RSS before build); peak RSS is the process's VmHWM; disk counts "
        "every file in the index folder"
    )
    return out


def _build_one(side: str, make: Any, data: EmbeddingSet, folder: Path, opts: Options) -> list[Any]:
    name = "plait" if side == "plait" else "fastplaid"
    try:
        with make() as worker:
            before = worker.call("load_data", timeout=1800, folder=str(data.folder))
            result = worker.call(
                "build",
                timeout=opts.peer_timeout,
                index_folder=str(folder),
                index_name=name,
                nbits=opts.nbits,
            )
            size, files = worker.call("folder_bytes", path=str(folder / name))
    except WorkerError as error:
        print(f"[{side}] build failed: {error}", flush=True)
        return [None] * 6
    timings = result.get("timings") or {}
    if timings:
        print(f"[{side}] build stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))
    return [
        result["seconds"],
        result["after"]["peak_kib"] * 1024 / GIB,
        before["rss_kib"] * 1024 / GIB,
        size / 2**20,
        files,
        size / data.n_tokens,
    ]


# ----------------------------------------------------------------------------- search
def query_indices(data: EmbeddingSet, opts: Options) -> list[int]:
    n = data.n_queries if opts.max_queries is None else min(opts.max_queries, data.n_queries)
    return list(range(n))


def search_section(
    data: EmbeddingSet, opts: Options, make: dict[str, Any], latency: bool = True
) -> Outcome:
    """Exact truth, then plait PLAID vs fast-plaid: latency, batched throughput, recall, nDCG@10."""
    folder = index_folder(opts, data)
    indices = query_indices(data, opts)
    with make["plait"]() as plait:
        plait.call("load_data", timeout=1800, folder=str(data.folder))
        truth: dict[str, list[Any]] = {"seconds": [], "ids": []}
        for chunk in _chunks(indices, opts.batch_size):
            part = plait.call(
                "exact", timeout=opts.peer_timeout, k=100, indices=chunk, batched=True
            )
            truth["seconds"] += part["seconds"]
            truth["ids"] += part["ids"]
        kernel = plait.call("maxsim_rate", timeout=1800, n_queries=16)
        try:
            plait.call("open_index", timeout=600, index_folder=str(folder), index_name="plait")
        except WorkerError as error:
            print(f"[plait] cannot open the PLAID index: {error}", flush=True)
            plait = None  # type: ignore[assignment]
        with (make.get("peer") or _no_worker)() as peer:
            try:
                if peer is not None:
                    peer.call("load_data", timeout=1800, folder=str(data.folder), documents=False)
                    peer.call(
                        "open_index", timeout=600, index_folder=str(folder), index_name="fastplaid"
                    )
            except WorkerError as error:
                print(f"[peer] cannot open the fast-plaid index: {error}", flush=True)
                peer = None
            sides = {"plait": plait, "peer": peer}
            measured = _measure_search(sides, indices, opts, latency)
    return _search_report(data, indices, truth, kernel, measured, opts, latency)


@contextmanager
def _no_worker() -> Iterator[None]:
    yield None


def _chunks(indices: list[int], size: int) -> list[list[int]]:
    return [indices[i : i + size] for i in range(0, len(indices), size)]


def _measure_search(
    sides: dict[str, Worker | None], indices: list[int], opts: Options, latency: bool
) -> dict[Any, Any]:
    """Latency on a sample, batched k=100 over every query, batched k=10 over the timed subset.

    Queries beyond ``opts.timing_queries`` still get k=10 results for recall and nDCG: plait runs
    them (untimed); fast-plaid's top-10 is the prefix of its top-100 (its search settings do not
    depend on k), which is checked on the timed queries and reported.
    """
    live = {side: w for side, w in sides.items() if w is not None}
    for worker in live.values():  # warm-up (page faults, numba compilation)
        worker.call("search", timeout=opts.peer_timeout, k=100, indices=indices[:2], batched=True)
    timed, rest = indices[: opts.timing_queries], indices[opts.timing_queries :]
    measured: dict[Any, Any] = {}
    sample = sorted(random.Random(0).sample(timed, min(opts.latency_queries, len(timed))))
    for k in (10, 100):
        if latency:
            measured[("single", k)] = _interleave(live, [[i] for i in sample], k, opts)
    measured[("batched", 100)] = _interleave(live, _chunks(indices, opts.batch_size), 100, opts)
    measured[("batched", 10)] = _interleave(live, _chunks(timed, opts.batch_size), 10, opts)
    all10: dict[str, list[list[str]]] = {}
    for side in live:
        head = measured[("batched", 10)][side]["ids"]
        if side == "plait" and rest:
            tail = _interleave({side: live[side]}, _chunks(rest, opts.batch_size), 10, opts)
            all10[side] = head + tail[side]["ids"]
        else:
            top100 = measured[("batched", 100)][side]["ids"]
            all10[side] = head + [ids[:10] for ids in top100[len(head) :]]
            same = sum(a == b[:10] for a, b in zip(head, top100, strict=False))
            measured[("prefix", side)] = (same, len(head))
    measured["all10"] = all10
    return measured


def _interleave(
    live: dict[str, Worker], groups: list[list[int]], k: int, opts: Options
) -> dict[str, dict[str, list[Any]]]:
    """Run each group on every side in turn (alternating who goes first); collect times and ids."""
    got: dict[str, dict[str, list[Any]]] = {s: {"seconds": [], "ids": []} for s in live}
    failed: set[str] = set()
    for n, group in enumerate(groups):
        order = list(live.items()) if n % 2 == 0 else list(reversed(live.items()))
        for side, worker in order:
            if side in failed:
                continue
            try:
                result = worker.call(
                    "search", timeout=opts.peer_timeout, k=k, indices=group, batched=True
                )
            except WorkerError as error:
                print(f"[{side}] search failed: {error}", flush=True)
                failed.add(side)
                continue
            got[side]["seconds"] += result["seconds"]
            got[side]["ids"] += result["ids"]
    for side in failed:
        got[side] = {"seconds": [], "ids": []}
    return got


def _ndcg(run_ids: list[list[str]], query_ids: list[str], qrels: dict | None) -> float | None:
    if not run_ids or not qrels or len(run_ids) != len(query_ids):
        return None
    from plait.evaluation import evaluate

    run = {
        q: {d: float(len(ids) - r) for r, d in enumerate(ids)}
        for q, ids in zip(query_ids, run_ids, strict=True)
    }
    judged = {q: qrels[q] for q in query_ids if q in qrels}
    return float(evaluate(run, judged, metrics=["ndcg@10"])["ndcg@10"])


def _search_report(
    data: EmbeddingSet,
    indices: list[int],
    truth: dict[str, Any],
    kernel: dict[str, float],
    measured: dict[str, Any],
    opts: Options,
    latency: bool,
) -> Outcome:
    from protocol import load_embeddings

    query_ids = [
        load_embeddings(str(data.folder), documents=False)["query_ids"][i] for i in indices
    ]
    exact_qps = len(indices) / sum(truth["seconds"])
    n_timed = min(opts.timing_queries, len(indices))
    n_latency = min(opts.latency_queries, n_timed)
    out = Outcome()
    table = Table.new(
        f"Search, {data.name} ({len(indices)} queries, nbits index from the build section)",
        ["", "k", "p50 ms", "p95 ms", "batched q/s", "recall vs exact"]
        + (["nDCG@10"] if data.qrels else []),
    )
    out.tables.append(table)
    exact_row: list[Any] = ["exact MaxSim (plait brute force)", "100", None, None, exact_qps, 1.0]
    if data.qrels:
        exact_row.append(_ndcg([ids[:10] for ids in truth["ids"]], query_ids, data.qrels))
        out.numbers["exact_ndcg10"] = exact_row[-1]
    table.add(*exact_row)
    out.numbers["exact_qps"] = exact_qps
    for side, label in (("plait", "plait PLAID"), ("peer", "fast-plaid (PyLate)")):
        for k in (10, 100):
            row = _side_row(measured, side, k, truth["ids"], latency)
            if row is None:
                table.add(label, str(k), None, None, None, None, *([None] if data.qrels else []))
                continue
            p50, p95, qps, recall, ids = row
            extra = [
                _ndcg([i[:10] for i in ids], query_ids, data.qrels)
                if k == 10 and data.qrels
                else None
            ]
            table.add(label, str(k), p50, p95, qps, recall, *(extra if data.qrels else []))
            out.numbers.update(
                {f"{side}_p50_k{k}": p50, f"{side}_qps_k{k}": qps, f"{side}_recall_k{k}": recall}
            )
            if data.qrels and k == 10:
                out.numbers[f"{side}_ndcg10"] = extra[0]
    out.numbers["maxsim_pct_matmul"] = 100 * kernel["maxsim_gflops"] / kernel["matmul_gflops"]
    table.notes += [
        f"recall@k = |top-k ∩ exact top-k| / k and nDCG@10, over all {len(indices)} queries; "
        f"batched q/s = chunks of up to {opts.batch_size} queries per call, interleaved chunk by "
        f"chunk, over all queries at k=100 and the first {n_timed} at k=10; p50/p95 = one query "
        f"per call over {n_latency} of those, interleaved; exact q/s: the same chunks at k=100",
        f"exact MaxSim kernel {kernel['maxsim_gflops']:.1f} GFLOP/s vs float32 matmul "
        f"{kernel['matmul_gflops']:.1f} GFLOP/s ({out.numbers['maxsim_pct_matmul']:.0f}%)",
        "fast-plaid runs with PyLate's defaults (n_ivf_probe=8, n_full_scores=8192); "
        "plait PLAID with its defaults chosen from k",
    ]
    if ("prefix", "peer") in measured and n_timed < len(indices):
        same, total = measured[("prefix", "peer")]
        table.notes.append(
            f"fast-plaid's k=10 results for queries after the first {n_timed} are the top 10 of its "
            f"k=100 results (its settings do not depend on k); on the timed queries the two agree "
            f"for {same}/{total}"
        )
    return out


def _side_row(
    measured: dict[str, Any], side: str, k: int, truth: list[list[str]], latency: bool
) -> tuple[Any, Any, Any, Any, list[list[str]]] | None:
    batched = measured[("batched", k)].get(side)
    if not batched or not batched["ids"]:
        return None
    qps = len(batched["ids"]) / sum(batched["seconds"])
    ids = measured["all10"].get(side, batched["ids"]) if k == 10 else batched["ids"]
    recall = recall_at(ids, truth, k) if len(ids) == len(truth) else None
    p50 = p95 = None
    if latency and measured[("single", k)].get(side, {}).get("seconds"):
        seconds = measured[("single", k)][side]["seconds"]
        p50, p95 = percentile_ms(seconds, 50), percentile_ms(seconds, 95)
    return p50, p95, qps, recall, ids
