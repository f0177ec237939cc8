"""Filtered search on SciFact with synthetic metadata: plait vs fast-plaid 1.7 vs xtr-warp-rs 2.1.

    .venv/bin/python benchmarks/filter_bench.py [--engines plait,fast-plaid,xtr-warp-rs]
        [--repeats 3] [--seed 0] [--nbits 2] [--threads 2] [--reuse-indexes [--rebuild-plait]]
        [--no-page]

Every SciFact document gets deterministic synthetic metadata (``--seed``): ``year`` uniform over
1995-2024, ``category`` uniform over 10 values (``c0``..``c9``), a boolean ``flag``. Four filter
conditions hit about 50 %, 10 %, 1 % and 0.1 % of the documents (the actual share is printed and
reported), and a first row searches without a filter (each engine's plain search). For each engine and condition: queries/s of one batched search of all 300 queries under
the filter (median of ``--repeats`` after one warm-up; the filter's evaluation is part of the
timed call), recall@10 against exact MaxSim over the matching documents (plait's ``Exact`` with
the same filter), and how many queries got fewer than min(10, matching) results.

Same vectors for every engine: plait's default-model SciFact embeddings (cached under
benchmarks/.work/data, see ``embedding_sets.py``), written as .npy files. Each engine runs in its
own worker process (plait: this file run as a worker with plait's venv; the peers:
``peers/filter_peer_worker.py`` in benchmarks/.work/filter-peer-venv, made by
``bash benchmarks/setup_filter_peers.sh``); each uses its own filtering API. The engines' calls
are interleaved (the order rotates every repetition) so that load from other processes on a
shared machine hits them alike. The report becomes the "engines" section of docs/benchmarks.md
(benchmarks/page.py; ``--no-page``: print only; it is always written to
benchmarks/.work/filter/report.md). Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import page  # noqa: E402
from common import (  # noqa: E402
    PLAIT_PYTHON,
    ROOT,
    WORK,
    Table,
    Worker,
    WorkerError,
    fmt,
    machine_facts,
    recall_at,
)

HERE = Path(__file__).resolve()
PEER_PYTHON = WORK / "filter-peer-venv" / "bin" / "python"
PEER_SCRIPT = HERE.parent / "peers" / "filter_peer_worker.py"
FILTER_WORK = WORK / "filter"
ROLE = "PLAIT_FILTER_BENCH_WORKER"
PEERS = ("fast-plaid", "xtr-warp-rs")
ENGINES = ("plait", *PEERS)
K = 10


# ============================================================================ plait's worker side
# (run as ``PLAIT_FILTER_BENCH_WORKER=1 .venv/bin/python benchmarks/filter_bench.py``; torch and
# plait are imported only here, never by the orchestrator)
worker_state: dict[str, Any] = {}


def w_versions() -> dict[str, str]:
    from protocol import package_versions

    return package_versions(("plait", "torch", "numpy", "numba", "duckdb", "pyarrow"))


def w_load_data(folder: str, metadata_path: str, threads: int) -> dict[str, int]:
    from protocol import load_embeddings, memory_kib

    import plait.indexes.filtering  # noqa: F401  (import now: the filter code is loaded lazily,
    from plait.indexes import PLAID  # noqa: F401    and a tree edited mid-run must not mix versions)
    from plait.indexes.exact import Exact  # noqa: F401
    from plait.kernels.threads import set_num_threads

    set_num_threads(threads)
    worker_state["data"] = load_embeddings(folder)
    with open(metadata_path) as f:
        worker_state["metadata"] = json.load(f)
    return memory_kib()


def w_build(index_folder: str, nbits: int) -> dict[str, float]:
    """plait's PLAID index and the Exact index (the ground truth), both with the metadata."""
    from plait.indexes import PLAID
    from plait.indexes.exact import Exact

    data, metadata = worker_state["data"], worker_state["metadata"]
    out = {}
    start = time.perf_counter()
    plaid = PLAID(index_folder=index_folder, index_name="plaid", override=True, nbits=nbits)
    plaid.add_documents(data["ids"], data["documents"], metadata=metadata)
    out["plaid_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    exact = Exact(index_folder=index_folder, index_name="exact", override=True)
    exact.add_documents(data["ids"], data["documents"], metadata=metadata)
    out["exact_seconds"] = time.perf_counter() - start
    worker_state["plaid"], worker_state["exact"] = plaid, exact
    return out


def w_open(index_folder: str) -> dict[str, float]:
    """Open the PLAID and Exact indexes an earlier w_build wrote (``--reuse-indexes``)."""
    from plait.indexes import PLAID
    from plait.indexes.exact import Exact

    worker_state["plaid"] = PLAID(index_folder=index_folder, index_name="plaid")
    worker_state["exact"] = Exact(index_folder=index_folder, index_name="exact")
    return {"documents": len(worker_state["plaid"])}


def w_count(engine: str, condition: str | None, params: list[Any]) -> int | None:
    if condition is None:
        return None
    return len(worker_state[engine].filter_ids(condition, params))


def w_search(engine: str, condition: str | None, params: list[Any], k: int) -> dict[str, Any]:
    """One batched search of every query under the filter (``engine``: plaid or exact)."""
    index, queries = worker_state[engine], worker_state["data"]["queries"]
    start = time.perf_counter()
    results = index.search(queries, k=k, filter=condition, filter_params=params or None)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "ids": [[str(i) for i in r.ids] for r in results]}


def serve_plait() -> None:
    from protocol import serve

    serve(
        {
            "versions": w_versions,
            "load_data": w_load_data,
            "build": w_build,
            "open": w_open,
            "count": w_count,
            "search": w_search,
        }
    )


# ============================================================================ orchestrator
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument(
        "--scifact-embeddings",
        type=Path,
        default=None,
        help="a cached embedding set (benchmarks/.work/data/scifact-*) instead of "
        "encoding with the current default model (or reusing its cache)",
    )
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated subset of {','.join(ENGINES)}",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions after a warm-up")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic metadata")
    parser.add_argument("--nbits", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--build-timeout",
        type=float,
        default=2400.0,
        help="seconds an engine's index build may take before it is reported as "
        "not finished (and left out of the search table)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds any other worker operation may take"
    )
    parser.add_argument(
        "--slow-seconds",
        type=float,
        default=60.0,
        help="an engine whose warm-up search takes longer than this is not repeated: "
        "the warm-up is its one timed run (marked in the table)",
    )
    parser.add_argument(
        "--reuse-indexes",
        action="store_true",
        help="open the indexes an earlier run built (same embeddings, metadata seed "
        "and nbits) instead of building them; the build table then says so",
    )
    parser.add_argument(
        "--rebuild-plait",
        action="store_true",
        help="with --reuse-indexes: build plait's indexes again (after a change to plait) and "
        "reopen only the peers'",
    )
    parser.add_argument("--no-page", action="store_true", help="leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(args.engines) - set(ENGINES))
    if unknown or not args.engines:
        parser.error(f"--engines: unknown {unknown}; choose from {','.join(ENGINES)}")
    return args


def make_metadata(n: int, seed: int) -> list[dict[str, Any]]:
    """Deterministic synthetic metadata: year 1995-2024, category c0..c9, a boolean flag."""
    rng = np.random.default_rng(seed)
    years = 1995 + rng.integers(0, 30, n)
    categories = rng.integers(0, 10, n)
    flags = rng.random(n) < 0.5
    return [
        {"year": int(y), "category": f"c{int(c)}", "flag": bool(f)}
        for y, c, f in zip(years, categories, flags, strict=True)
    ]


def choose_conditions(metadata: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Four conditions for ~50 %, 10 %, 1 % and 0.1 % of the documents, with their exact counts.

    The two narrow ones take the parameter values whose match count is closest to the target
    (scanned over every category / year window / flag), so the share is near the nominal one.
    """
    years = np.array([m["year"] for m in metadata])
    categories = np.array([m["category"] for m in metadata])
    flags = np.array([m["flag"] for m in metadata])
    n = len(metadata)
    out = [
        {"target": "no filter", "where": None, "params": [], "mask": np.ones(n, dtype=bool)},
        {"target": "50%", "where": "year >= ?", "params": [2010], "mask": years >= 2010},
        {"target": "10%", "where": "category = ?", "params": ["c3"], "mask": categories == "c3"},
    ]
    best: tuple[float, list[Any], np.ndarray] | None = None
    for c in sorted({str(x) for x in categories}):
        for first in range(1995, 2020):
            mask = (categories == c) & (years >= first) & (years <= first + 5) & flags
            gap = abs(int(mask.sum()) - 0.01 * n)
            if best is None or gap < best[0]:
                best = (gap, [c, first, first + 5, True], mask)
    assert best is not None
    out.append(
        {
            "target": "1%",
            "where": "category = ? AND year BETWEEN ? AND ? AND flag = ?",
            "params": best[1],
            "mask": best[2],
        }
    )
    best = None
    for c in sorted({str(x) for x in categories}):
        for year in range(1995, 2025):
            for flag in (True, False):
                mask = (categories == c) & (years == year) & (flags == flag)
                gap = abs(int(mask.sum()) - 0.001 * n)
                if best is None or gap < best[0]:
                    best = (gap, [c, year, flag], mask)
    assert best is not None
    out.append(
        {
            "target": "0.1%",
            "where": "category = ? AND year = ? AND flag = ?",
            "params": best[1],
            "mask": best[2],
        }
    )
    for condition in out:
        condition["matching"] = int(condition["mask"].sum())
        condition["share"] = condition["matching"] / n
    return out


def plait_worker(logs: Path) -> Worker:
    os.environ[ROLE] = "1"  # Worker passes the environment on: this file then serves
    try:
        return Worker("plait", PLAIT_PYTHON, HERE, logs / "filter-plait.log")
    finally:
        os.environ.pop(ROLE, None)


def peer_worker(engine: str, logs: Path) -> Worker:
    if not PEER_PYTHON.exists():
        raise WorkerError(
            f"{engine}: {PEER_PYTHON} not found (run: bash benchmarks/setup_filter_peers.sh)"
        )
    return Worker(engine, PEER_PYTHON, PEER_SCRIPT, logs / f"filter-{engine}.log")


def embedding_set(args: argparse.Namespace, logs: Path) -> tuple[Any, str]:
    """The SciFact embedding set (plait's default model; encoded once, then cached)."""
    from embedding_sets import cached_scifact, model_fingerprint, scifact

    if args.scifact_embeddings:
        data = cached_scifact(args.scifact, args.scifact_embeddings)
        return (
            data,
            f"{args.scifact_embeddings} (model sha256 {data.meta.get('model_fingerprint', '?')[:12]})",
        )
    model_folder = WORK / "model" / "plait-default"
    with Worker(
        "plait-encoder", PLAIT_PYTHON, HERE.parent / "plait_worker.py", logs / "plait.log"
    ) as w:
        w.call("load_model", timeout=900)
        w.call("save_model", timeout=300, path=str(model_folder))
        fingerprint = model_fingerprint(model_folder)
        data = scifact(args.scifact, WORK, w, fingerprint)
    return data, f"plait default model, sha256 {fingerprint[:12]} ({data.folder.name})"


def _load() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return " / ".join(f"{x:.1f}" for x in load)


def run(args: argparse.Namespace, facts: dict[str, str]) -> list[Table]:
    logs = WORK / "logs"
    data, model_note = embedding_set(args, logs)
    facts["embeddings"] = (
        f"{model_note}; {data.n_documents:,} documents, {data.n_tokens:,} tokens, {data.n_queries} queries"
    )
    FILTER_WORK.mkdir(parents=True, exist_ok=True)
    metadata = make_metadata(data.n_documents, args.seed)
    metadata_path = FILTER_WORK / f"metadata-seed{args.seed}.json"
    metadata_path.write_text(json.dumps(metadata))
    conditions = choose_conditions(metadata)
    for c in conditions:
        print(
            f"~{c['target']}: {c['where']} {c['params']} -> {c['matching']} documents "
            f"({100 * c['share']:.2f} %)",
            flush=True,
        )

    workers: dict[str, Worker] = {}
    status: dict[str, str] = {}  # engine -> why it has no numbers
    builds = Table.new(
        f"Index builds, SciFact ({data.n_documents:,} documents, {data.n_tokens:,} "
        f"tokens), nbits={args.nbits}, with the metadata",
        ["engine", "build s", "filtering API"],
    )
    try:
        plait = plait_worker(logs)
        workers["plait"] = plait
        facts["plait side"] = _versions(plait.call("versions", timeout=300))
        plait.call(
            "load_data",
            timeout=args.timeout,
            folder=str(data.folder),
            metadata_path=str(metadata_path),
            threads=args.threads,
        )
        plait_api = "search(filter=..., filter_params=...) (DuckDB over the segments' metadata)"
        if args.reuse_indexes and not args.rebuild_plait:
            plait.call(
                "open", timeout=args.timeout, index_folder=str(FILTER_WORK / "indexes" / "plait")
            )
            builds.add("plait PLAID", None, f"{plait_api}; index reused (--reuse-indexes)")
            builds.add("plait Exact (ground truth)", None, "same; index reused")
        else:
            built = plait.call(
                "build",
                timeout=args.build_timeout,
                index_folder=str(FILTER_WORK / "indexes" / "plait"),
                nbits=args.nbits,
            )
            builds.add("plait PLAID", built["plaid_seconds"], plait_api)
            builds.add("plait Exact (ground truth)", built["exact_seconds"], "same")
        for engine in PEERS:
            if engine not in args.engines:
                continue
            api = (
                "fast_plaid.filtering.where() (SQLite metadata.db) -> search(subset=...)"
                if engine == "fast-plaid"
                else "XTRWarp.filter() (DuckDB metadata.duckdb) -> search(subset=...)"
            )
            try:
                peer = peer_worker(engine, logs)
                workers[engine] = peer
                if "peer side" not in facts:
                    facts["peer side"] = _versions(peer.call("versions", timeout=300))
                peer.call(
                    "load_data",
                    timeout=args.timeout,
                    engine=engine,
                    folder=str(data.folder),
                    metadata_path=str(metadata_path),
                    threads=args.threads,
                )
                folder = str(FILTER_WORK / "indexes" / engine)
                if args.reuse_indexes:
                    peer.call("open", timeout=args.timeout, index_folder=folder)
                    builds.add(engine, None, f"{api}; index reused (--reuse-indexes)")
                else:
                    print(f"building {engine} ...", flush=True)
                    built = peer.call(
                        "build", timeout=args.build_timeout, index_folder=folder, nbits=args.nbits
                    )
                    builds.add(engine, built["seconds"], api)
            except WorkerError as error:
                status[engine] = _short(error)
                builds.add(engine, None, f"{api}; failed: {status[engine]}")
                workers.pop(engine, None)
                print(f"[{engine}] {error}", flush=True)
        print("\n" + builds.markdown(), flush=True)
        table = search_table(args, data, conditions, workers, status)
    finally:
        for worker in workers.values():
            worker.close()
    facts["load average at end"] = _load()
    return [builds, table]


def search_table(
    args: argparse.Namespace,
    data: Any,
    conditions: list[dict[str, Any]],
    workers: dict[str, Worker],
    status: dict[str, str],
) -> Table:
    sides = [("plait PLAID", "plait", "plaid"), ("plait Exact", "plait", "exact")]
    sides += [(e, e, None) for e in PEERS if e in args.engines]
    table = Table.new(
        f"Filtered search, SciFact, {data.n_queries} queries batched, k={K}, nbits={args.nbits}, "
        f"{args.threads} threads",
        [
            "selectivity (target)",
            "condition",
            "matching docs",
            "engine",
            "q/s (median)",
            "q/s runs",
            "filter ms",
            "recall@10 vs exact",
            f"queries < min({K}, matching)",
        ],
    )
    for condition in conditions:
        where, params, matching = condition["where"], condition["params"], condition["matching"]
        label = f"{100 * condition['share']:.2f} % ({condition['target']})"
        shown = _shown(where, params)
        live: dict[str, tuple[Worker, str | None]] = {}
        for name, owner, engine in sides:
            if owner in workers:
                live[name] = (workers[owner], engine)
        counts: dict[str, int | None] = {}
        for name, (worker, engine) in live.items():
            arguments = {"engine": engine} if engine else {}
            try:
                counts[name] = worker.call(
                    "count", timeout=args.timeout, condition=where, params=params, **arguments
                )
            except WorkerError as error:
                counts[name] = -1
                print(f"[{name}] count failed: {error}", flush=True)
        runs: dict[str, list[float]] = {name: [] for name in live}
        filter_ms: dict[str, list[float]] = {name: [] for name in live}
        ids: dict[str, list[list[str]]] = {}
        failed: dict[str, str] = {}
        slow: set[str] = set()
        names = list(live)
        for rep in range(1 + args.repeats):
            shift = rep % len(names)
            for name in names[shift:] + names[:shift]:
                if name in failed or (rep and name in slow):
                    continue
                worker, engine = live[name]
                arguments = {"engine": engine} if engine else {}
                try:
                    got = worker.call(
                        "search",
                        timeout=args.timeout,
                        condition=where,
                        params=params,
                        k=K,
                        **arguments,
                    )
                except WorkerError as error:
                    failed[name] = _short(error)
                    print(f"[{name}] search failed: {error}", flush=True)
                    continue
                ids[name] = got["ids"]
                if rep == 0 and got["seconds"] > args.slow_seconds:
                    slow.add(name)  # its warm-up is its one measurement (see --slow-seconds)
                if rep or name in slow:  # else the first round is the warm-up
                    runs[name].append(got["seconds"])
                    if "filter_seconds" in got:
                        filter_ms[name].append(1e3 * got["filter_seconds"])
        truth = ids.get("plait Exact")
        want = min(K, matching)
        for name, _owner, _engine in sides:
            if name not in live:
                table.add(
                    label,
                    shown,
                    matching,
                    name,
                    None,
                    None,
                    None,
                    None,
                    f"not run: {status.get(name, 'not selected')}",
                )
                continue
            if name in failed:
                table.add(
                    label, shown, matching, name, None, None, None, None, f"failed: {failed[name]}"
                )
                continue
            qps = [data.n_queries / s for s in runs[name]]
            found = ids[name]
            recall = recall_at(found, truth, K) if truth is not None else None
            short = sum(len(set(r)) < want for r in found)
            count_note = (
                ""
                if counts.get(name) in (matching, None)
                else " (its count failed)"
                if counts.get(name) == -1
                else f" (its filter matched {counts.get(name)})"
            )
            if name in slow:
                count_note += f" (one run, no warm-up: it took > {args.slow_seconds:.0f} s)"
            table.add(
                label,
                shown,
                matching,
                name,
                statistics.median(qps) if qps else None,
                ", ".join(f"{q:.0f}" for q in qps),
                statistics.median(filter_ms[name]) if filter_ms[name] else None,
                recall,
                f"{short}{count_note}",
            )
            print(f"{label} {name}: q/s {qps} recall {recall} short {short}", flush=True)
    table.notes += [
        f"an engine whose warm-up call took more than {args.slow_seconds:.0f} s (--slow-seconds) is "
        "timed by that one call only, marked in the last column",
        "q/s: 300 queries in one batched call under the filter, the filter's evaluation included "
        f"(median of {args.repeats} after one warm-up; engines interleaved, order rotating)",
        "filter ms: the peers' condition -> subset step (fast-plaid: SQLite, xtr-warp-rs: "
        "DuckDB), part of the timed call; plait evaluates the filter inside search()",
        "recall@10: |top-10 ∩ exact top-10| / min(10, matching), exact = plait Exact (MaxSim over "
        "every token of the matching documents, float32) with the same filter; plait Exact "
        "is the ground truth, so its recall is 1 by definition",
        f"last column: queries that got fewer than min({K}, matching) distinct results; every "
        "engine's own filter matched the same number of documents as numpy on the generated "
        "metadata unless noted",
    ]
    return table


def _shown(where: str | None, params: list[Any]) -> str:
    """The condition with its parameters filled in, for the table (the engines bind them)."""
    if where is None:
        return "(none)"
    parts = where.split("?")
    values = [
        repr(p) if isinstance(p, str) else str(p).lower() if isinstance(p, bool) else str(p)
        for p in params
    ]
    return "`" + "".join(a + b for a, b in zip(parts, [*values, ""], strict=True)) + "`"


def _versions(found: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in found.items())


def _short(error: Exception) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]


def page_body(args: argparse.Namespace, facts: dict[str, str], tables: list[Table]) -> str:
    """The short form for the benchmarks page: the search table and what it measures.

    The build table, the run's facts and the long notes go to the dated log.
    """
    builds, search = tables
    built = {row[0]: row[1] for row in builds.rows}
    build = (
        "indexes reused"
        if built.get("plait PLAID") is None
        else f"plait PLAID built in {built['plait PLAID']:.1f} s"
        + (
            ""
            if all(built.get(e) is not None for e in PEERS if e in built)
            else " (the peers' indexes reused from an earlier run of the script)"
        )
    )
    short = compact(search)
    return "\n".join(
        [
            f"{facts.get('embeddings', '')}; {build}. {facts.get('plait side', '')}; peers: "
            f"{facts.get('peer side', '')}. Synthetic metadata (seed {args.seed}): year "
            "1995-2024, category c0..c9, a boolean flag.",
            "",
            short.markdown(),
            "Each cell: queries/s, all queries in one call, the filter included, median of "
            f"{args.repeats} after a warm-up (an engine slower than {args.slow_seconds:.0f} s is "
            "timed once: *); recall@10 against plait Exact with the same filter (exact MaxSim "
            "over every matching document; Exact's own cell shows its queries/s); and, when not "
            "zero, how many queries got fewer than min(10, matching) results. Build times, every "
            "run and the long notes: the dated log.",
        ]
    )


def compact(search: Table) -> Table:
    """The search table with one row per condition and one column per engine (for the page)."""
    engines = list(dict.fromkeys(row[3] for row in search.rows))
    table = Table.new(
        search.title,
        [
            "selectivity",
            "condition",
            "matching",
            *(f"{e}: q/s" + ("" if e == "plait Exact" else ", recall") for e in engines),
        ],
    )
    cells: dict[tuple[Any, ...], dict[str, str]] = {}
    for label, shown, matching, engine, qps, _runs, _ms, recall, short in search.rows:
        if qps is None:
            text = str(short)
        else:
            text = f"{fmt(qps)}{'*' if 'one run' in str(short) else ''}"
            if engine != "plait Exact":
                text += f", {fmt(recall)}"
            few = str(short).split(" ", 1)[0]
            if few not in ("0", ""):
                text += f", {few} short"
        cells.setdefault((label.split(" (")[0], shown, matching), {})[engine] = text
    for (label, shown, matching), got in cells.items():
        table.add(label, shown, matching, *(got.get(e, "") for e in engines))
    return table


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    args = parse_args(argv)
    command = shlex.join(
        [".venv/bin/python", "benchmarks/filter_bench.py", *(argv or sys.argv[1:])]
    )
    began, machine = time.time(), page.machine()
    facts = machine_facts()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", "plait"], cwd=ROOT, capture_output=True, text=True
    ).stdout.splitlines()
    facts["plait/ working tree"] = (
        f"{len(changed)} file(s) differ from the commit" if changed else "as committed"
    )
    print(f"{command}\n" + "\n".join(f"{k}: {v}" for k, v in facts.items()), flush=True)
    started = time.perf_counter()
    tables: list[Table] = []
    error = None
    try:
        tables = run(args, facts)
    except Exception as exc:  # keep what was measured: report it with the error
        error = f"{type(exc).__name__}: {_short(exc)}"
        traceback.print_exc()
    facts.setdefault("load average at end", _load())
    facts["wall time"] = f"{time.perf_counter() - started:.0f} s"
    shown = ("embeddings", "plait side", "peer side", "load average at end", "wall time")
    lines = [f"- {key}: {facts[key]}" for key in shown if key in facts]
    lines += [
        f"- metadata (seed {args.seed}): year uniform over 1995-2024, category uniform over "
        "c0..c9, flag a fair coin; each condition's actual share of the documents is in the "
        "first column",
        "",
    ]
    if error:
        lines += [f"**Run incomplete:** {error}", ""]
    lines += [t.markdown() for t in tables]
    report = "\n".join(lines) + "\n"
    print("\n" + report, flush=True)
    FILTER_WORK.mkdir(parents=True, exist_ok=True)
    (FILTER_WORK / "report.md").write_text(report)
    if not args.no_page and not error:
        page.publish(
            "engines",
            command=command,
            body=page_body(args, facts, tables),
            started=began,
            machine_line=machine,
            log_only=report,
        )
    return 1 if error else 0


if __name__ == "__main__":
    if os.environ.get(ROLE):
        serve_plait()
    else:
        sys.exit(main())
