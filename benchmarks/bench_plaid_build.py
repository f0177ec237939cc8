"""PLAID size, build time and search latency on synthetic clustered data (not run in CI).

    .venv/bin/python benchmarks/bench_plaid_build.py --docs 10000 --nbits 1 2 4

Reports, per nbits: bytes per token on disk (all files of the committed index, manifest included)
and by file role, build time split into k-means / codec / centroid assignment / packing / writing,
search latency p50/p95 at k=10 (one query at a time, default parameters) and top-10 overlap with
exhaustive MaxSim over the raw float32 vectors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plaid_synthetic import SyntheticCorpus  # noqa: E402

from plait.indexes.plaid import PLAID  # noqa: E402


def role_bytes(index: PLAID) -> dict[str, int]:
    groups: dict[str, int] = {}
    for role, entry in index.manifest["files"].items():
        kind = role.split(".")[-1]
        kind = {
            "ivf_offsets": "ivf",
            "ivf_docs": "ivf",
            "bucket_cutoffs": "codec",
            "bucket_weights": "codec",
        }.get(kind, kind)
        groups[kind] = groups.get(kind, 0) + int(entry["bytes"])
    groups["manifest"] = (Path(index.path) / "manifest.json").stat().st_size
    return groups


def exact_top10(tokens: np.ndarray, query: np.ndarray) -> set[int]:
    n, t, d = tokens.shape
    scores = (tokens.reshape(-1, d) @ query.T).reshape(n, t, -1).max(axis=1).sum(axis=1)
    return set(np.argsort(-scores)[:10].tolist())


def run(n_docs: int, nbits: int, n_queries: int, folder: str) -> dict:
    corpus = SyntheticCorpus()
    ids, tokens, topics = corpus.chunk(0, n_docs)
    index = PLAID(folder, f"bench-{nbits}", override=True, nbits=nbits)
    t0 = time.perf_counter()
    index.add_documents(ids, list(tokens))
    build_s = time.perf_counter() - t0
    stats = index.stats
    queries = corpus.queries(topics, n_queries)
    index.search(queries[:2], k=10)  # warm-up (numba compilation)
    latencies, overlaps = [], []
    for q in queries:
        t = time.perf_counter()
        result = index.search(q[None], k=10)[0]
        latencies.append(time.perf_counter() - t)
        found = {int(i[3:]) for i in result.ids}
        overlaps.append(len(found & exact_top10(tokens, q)) / 10)
    return {
        "docs": n_docs,
        "tokens": stats["tokens"],
        "nbits": nbits,
        "n_centroids": stats["n_centroids"],
        "bytes_per_token": round(stats["bytes_per_token"], 2),
        "bytes_per_token_by_role": {
            k: round(v / stats["tokens"], 3) for k, v in role_bytes(index).items()
        },
        "build_s": round(build_s, 2),
        "build_split_s": {k: round(v, 2) for k, v in index.last_build_timings.items()},
        "search_p50_ms": round(1000 * float(np.median(latencies)), 2),
        "search_p95_ms": round(1000 * float(np.percentile(latencies, 95)), 2),
        "top10_overlap_with_exact": round(float(np.mean(overlaps)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--nbits", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--folder", default=None, help="where to build (default: a temporary folder)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for nbits in args.nbits:
            print(json.dumps(run(args.docs, nbits, args.queries, args.folder or tmp)), flush=True)


if __name__ == "__main__":
    main()
