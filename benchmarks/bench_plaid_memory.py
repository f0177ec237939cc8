"""PLAID memory benchmark: build from chunks through ``add_documents``, then search memory-mapped.

    .venv/bin/python benchmarks/bench_plaid_memory.py --docs 100000 --chunk 5000

Synthetic clustered documents of 100 tokens x 128 dimensions (``plaid_synthetic.py``) are generated
chunk by chunk and added with ``add_documents``, so the raw vectors never exist at once (100,000
documents are 10M tokens: 5 GB as float32). Reports peak RSS of the build process, build time split
into k-means / codec / assignment / packing / writing, disk size, and then, in a fresh process that
opens the index (memory-mapped) and runs queries, its RSS split into anonymous memory and mapped
file pages. Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plaid_synthetic import SyntheticCorpus  # noqa: E402

from plait.indexes.plaid import PLAID  # noqa: E402


def memory() -> dict[str, float]:
    """Current RSS (MiB) split as /proc reports it, and the peak."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def index_mapped_mib(folder: str) -> float:
    """Resident MiB of the memory-mapped index files (from /proc/self/smaps)."""
    root = str(Path(folder).resolve())
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if parts and "-" in parts[0] and len(parts) >= 5:  # a mapping header line
            inside = len(parts) >= 6 and parts[5].startswith(root)
        elif inside and parts[0] == "Rss:":
            total += int(parts[1])
    return round(total / 1024, 1)


def build(folder: str, n_docs: int, chunk: int, nbits: int) -> dict:
    corpus = SyntheticCorpus()
    index = PLAID(folder, "memory", override=True, nbits=nbits)
    totals: dict[str, float] = {}
    t0 = time.perf_counter()
    for start in range(0, n_docs, chunk):
        ids, tokens, _ = corpus.chunk(start, min(chunk, n_docs - start))
        index.add_documents(ids, list(tokens))
        del tokens
        for key, value in index.last_build_timings.items():
            totals[key] = totals.get(key, 0.0) + value
        print(
            json.dumps(
                {
                    "docs": start + len(ids),
                    "elapsed_s": round(time.perf_counter() - t0, 1),
                    **memory(),
                }
            ),
            flush=True,
        )
    stats = index.stats
    return {
        "docs": len(index),
        "tokens": stats["tokens"],
        "nbits": nbits,
        "n_centroids": stats["n_centroids"],
        "build_s": round(time.perf_counter() - t0, 1),
        "build_split_s": {k: round(v, 1) for k, v in totals.items()},
        "disk_mib": round(stats["disk_bytes"] / 2**20, 1),
        "bytes_per_token": round(stats["bytes_per_token"], 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def evict(folder: str) -> None:
    """Drop the index files from the page cache (as for an index not written moments ago): a
    just-written file sits in the cache in large folios, and mapping one maps megabytes at once."""
    import os

    for path in Path(folder).rglob("*.npy"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def search(folder: str, n_queries: int) -> dict:
    evict(folder)
    before = memory()
    t0 = time.perf_counter()
    index = PLAID(folder, "memory")
    open_s = time.perf_counter() - t0
    opened = memory()
    corpus = SyntheticCorpus()
    _, _, topics = corpus.chunk(0, 1000)
    queries = corpus.queries(topics, n_queries)
    index.search(queries[:2], k=10)
    latencies = []
    for q in queries:
        t = time.perf_counter()
        index.search(q[None], k=10)
        latencies.append(time.perf_counter() - t)
    return {
        "index_disk_mib": round(index.stats["disk_bytes"] / 2**20, 1),
        "index_pages_resident_mib": index_mapped_mib(folder),
        "open_s": round(open_s, 2),
        "rss_before_open_mib": before,
        "rss_after_open_mib": opened,
        "rss_after_search_mib": memory(),
        "search_p50_ms": round(1000 * float(np.median(latencies)), 1),
        "search_p95_ms": round(1000 * float(np.percentile(latencies, 95)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    parser.add_argument("--nbits", type=int, default=2)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument(
        "--folder", default=None, help="where to build (default: a temporary folder)"
    )
    parser.add_argument("--search-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.search_only:
        print(json.dumps(search(args.folder, args.queries)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or tmp
        print(json.dumps({"build": build(folder, args.docs, args.chunk, args.nbits)}), flush=True)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--search-only",
                "--folder",
                folder,
                "--queries",
                str(args.queries),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        print(json.dumps({"search": json.loads(out.stdout.strip().splitlines()[-1])}), flush=True)


if __name__ == "__main__":
    main()
