"""PLAID vs exact MaxSim on a cached embedding set: recall against exact, queries/s, nDCG@10.

    nice -n 10 .venv/bin/python benchmarks/plaid_vs_exact.py                # SciFact, nbits=2
    nice -n 10 .venv/bin/python benchmarks/plaid_vs_exact.py --reuse        # search an existing build
    nice -n 10 .venv/bin/python benchmarks/plaid_vs_exact.py --param ncells=2 --param ndocs=512

Reads an embedding set written by ``benchmarks/run.py`` (default: the newest
``benchmarks/.work/data/scifact-*``), builds a plait PLAID index from its document embeddings
(wall and CPU seconds), then over every query of the set: exact top-100 with plait's brute-force
MaxSim kernel (the truth; timed batched at k=10 too), PLAID batched at k=10 and k=100 (timed),
recall@k = |PLAID top-k ∩ exact top-k| / k, nDCG@10 against the BEIR judgements (``--qrels``), and
the PLAID single-query p50 latency at k=10. Queries/s are batched (all queries in one call); each
side is timed ``--repeats`` times and the best run is reported. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import recall_at  # noqa: E402
from protocol import load_embeddings  # noqa: E402

from plait.indexes.plaid import PLAID, PLAIDSearchParams  # noqa: E402
from plait.kernels.maxsim import maxsim_search  # noqa: E402


def default_data() -> Path | None:
    found = sorted((HERE / ".work" / "data").glob("scifact-*/meta.json"), key=os.path.getmtime)
    return found[-1].parent if found else None


def best_of(repeats: int, call):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - t0)
    return best, result


def ndcg10(run_ids: list[list[str]], query_ids: list[str], qrels_path: Path | None) -> float | None:
    if qrels_path is None or not qrels_path.exists():
        return None
    from plait.evaluation import evaluate, load_qrels

    qrels = load_qrels(qrels_path / "qrels" / "test.tsv")
    run = {
        q: {d: float(len(ids) - r) for r, d in enumerate(ids)}
        for q, ids in zip(query_ids, run_ids, strict=True)
    }
    judged = {q: qrels[q] for q in query_ids if q in qrels}
    return float(evaluate({q: run[q] for q in judged}, judged, metrics=["ndcg@10"])["ndcg@10"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=default_data(), help="embedding set folder")
    parser.add_argument(
        "--qrels", type=Path, default=HERE.parent.parent / "shared" / "data" / "scifact"
    )
    parser.add_argument("--index-folder", type=Path, default=HERE / ".work" / "indexes")
    parser.add_argument("--index-name", default="plaid-vs-exact")
    parser.add_argument("--nbits", type=int, default=2)
    parser.add_argument(
        "--reuse", action="store_true", help="open the existing index instead of building"
    )
    parser.add_argument(
        "--param", action="append", default=[], help="PLAIDSearchParams field=value"
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--single", type=int, default=50, help="queries timed one at a time")
    args = parser.parse_args()
    if args.data is None:
        parser.error("no cached embedding set found; run benchmarks/run.py once or pass --data")
    data = load_embeddings(str(args.data))
    queries, query_ids, doc_ids = data["queries"], data["query_ids"], data["ids"]
    params = PLAIDSearchParams(
        **{
            k: (float(v) if "." in v or "inf" in v else int(v))
            for k, v in (p.split("=", 1) for p in args.param)
        }
    )
    out: dict[str, object] = {
        "data": str(args.data),
        "documents": len(doc_ids),
        "tokens": int(data["offsets"][-1]),
        "queries": len(queries),
        "nbits": args.nbits,
        "params": args.param,
    }
    if args.reuse:
        index = PLAID(args.index_folder, args.index_name)
    else:
        index = PLAID(args.index_folder, args.index_name, override=True, nbits=args.nbits)
        t0, c0 = time.perf_counter(), time.process_time()
        index.add_documents(doc_ids, data["documents"])
        out["build_s"] = round(time.perf_counter() - t0, 2)
        out["build_cpu_s"] = round(time.process_time() - c0, 2)
        out["build_split_s"] = {k: round(v, 2) for k, v in index.last_build_timings.items()}
    out["bytes_per_token"] = round(float(index.stats["bytes_per_token"]), 2)
    out["n_centroids"] = index.stats["n_centroids"]

    def exact(k: int) -> list[list[str]]:
        return [
            [doc_ids[j] for j in idx]
            for idx, _ in maxsim_search(queries, data["tokens"], data["offsets"], k)
        ]

    def plaid(k: int, qs: np.ndarray = queries) -> list[list[str]]:
        return [r.ids for r in index.search(qs, k=k, params=params)]

    truth = exact(100)
    plaid(10, queries[:4])  # warm-up (numba compilation)
    exact_s, exact10 = best_of(args.repeats, lambda: exact(10))
    plaid10_s, found10 = best_of(args.repeats, lambda: plaid(10))
    plaid100_s, found100 = best_of(args.repeats, lambda: plaid(100))
    single = []
    for q in queries[: args.single]:
        t0 = time.perf_counter()
        plaid(10, q[None])
        single.append(time.perf_counter() - t0)
    n = len(queries)
    out.update(
        {
            "exact_qps_k10": round(n / exact_s, 2),
            "plaid_qps_k10": round(n / plaid10_s, 2),
            "plaid_qps_k100": round(n / plaid100_s, 2),
            "plaid_vs_exact_qps": round(exact_s / plaid10_s, 2),
            "plaid_p50_ms_k10": round(1000 * float(np.median(single)), 2),
            "recall@10": round(recall_at(found10, truth, 10), 4),
            "recall@100": round(recall_at(found100, truth, 100), 4),
            "ndcg@10_exact": ndcg10(exact10, query_ids, args.qrels),
            "ndcg@10_plaid": ndcg10(found10, query_ids, args.qrels),
        }
    )
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
