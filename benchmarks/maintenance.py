"""PLAID index maintenance on SciFact: what an add costs, and whether add/remove cycles degrade it.

    .venv/bin/python benchmarks/maintenance.py [--cycles 10] [--threads 2] [--no-page]

Same vectors as the engines benchmark (plait's default-model SciFact embeddings, cached under
benchmarks/.work/data; encoded first when missing). The index is built on the first half of the
documents; the other half is the pool that adds draw from (SciFact has 5,183 documents, so the
largest add is the whole pool, about 2,600, not 10,000).

1. Adds of 1, 2, 10, 100, 1,000 and the rest of the pool, one after the other, each timed as one
   ``add_documents`` call (ms per document), with what the add did to the codebook
   (:class:`plait.indexes.plaid.growth.AddReport`).
2. ``--cycles`` add/remove cycles on a fresh copy of the base index: add 100 pool documents, remove
   them, and measure recall@10 of the base documents' search against exact MaxSim over their
   original vectors, beside the freshly built index's.

The tables become the "maintenance" section of docs/benchmarks.md unless ``--no-page``.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import page
from common import WORK, recall_at

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADDS = (1, 2, 10, 100, 1000)


def load(args: argparse.Namespace) -> dict:
    """The SciFact embedding set, encoded with the default model when not cached."""
    import filter_bench
    from protocol import load_embeddings

    options = argparse.Namespace(scifact=args.scifact, scifact_embeddings=args.scifact_embeddings)
    data, note = filter_bench.embedding_set(options, WORK / "logs")
    out = load_embeddings(str(data.folder))
    out["note"] = note
    return out


def exact_top(ids: list[str], docs: list[np.ndarray], queries: np.ndarray) -> list[list[str]]:
    """Top-10 ids by exact MaxSim over the original vectors (plait's in-memory Exact)."""
    from plait.indexes import Exact

    exact = Exact(index_folder=None)
    exact.add_documents(ids, docs)
    return [list(r.ids) for r in exact.search(queries, k=10)]


def main() -> int:
    """Run both parts, print the tables and publish them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--scifact-embeddings", type=Path, default=None)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-page", action="store_true", help="print only")
    args = parser.parse_args()
    started, machine = time.time(), page.machine()
    from plait.indexes import PLAID
    from plait.kernels.threads import set_num_threads

    set_num_threads(args.threads)
    data = load(args)
    ids, docs, queries = data["ids"], data["documents"], data["queries"]
    half = len(ids) // 2
    base_ids, base_docs = ids[:half], docs[:half]
    pool_ids, pool_docs = ids[half:], docs[half:]
    truth = exact_top(base_ids, base_docs, queries)
    work = Path(tempfile.mkdtemp(prefix="maintenance-", dir=WORK))
    try:
        t0 = time.perf_counter()
        fresh = PLAID(work, "fresh", override=True)
        fresh.add_documents(base_ids, base_docs)
        build_s = time.perf_counter() - t0
        fresh_recall = recall_at([r.ids for r in fresh.search(queries, k=10)], truth, 10)
        lines = [
            f"Embeddings: {data['note']}. Base index: the first {half:,} documents, built in "
            f"{build_s:.1f} s ({fresh.stats['n_centroids']:,} centroids), recall@10 vs exact "
            f"{fresh_recall:.3f}; the pool: the other {len(pool_ids):,}.",
            "",
            "| add (documents) | seconds | ms per document | outlier tokens | new centroids "
            "| centroids after | codec fits |",
            "|---|---|---|---|---|---|---|",
        ]
        shutil.copytree(work / "fresh", work / "grow")
        grow = PLAID(work, "grow")
        position = 0
        for size in (*ADDS, len(pool_ids) - sum(ADDS)):
            part = slice(position, position + size)
            position += size
            t0 = time.perf_counter()
            grow.add_documents(pool_ids[part], pool_docs[part])
            seconds = time.perf_counter() - t0
            r = grow.last_add
            assert r is not None and not r.trained
            lines.append(
                f"| {size:,} | {seconds:.3f} | {1e3 * seconds / size:.2f} | {r.outliers:,} "
                f"| {r.new_centroids:,} | {r.n_centroids:,} | {'yes' if r.codec_fits else 'no'} |"
            )
            print(lines[-1], flush=True)
        shutil.copytree(work / "fresh", work / "cycles")
        cycled = PLAID(work, "cycles")
        rng = np.random.default_rng(0)
        recalls = []
        for cycle in range(args.cycles):
            pick = rng.choice(len(pool_ids), 100, replace=False)
            cycled.add_documents([pool_ids[i] for i in pick], [pool_docs[i] for i in pick])
            cycled.remove_documents([pool_ids[i] for i in pick])
            recalls.append(recall_at([r.ids for r in cycled.search(queries, k=10)], truth, 10))
            print(f"cycle {cycle + 1}: recall@10 {recalls[-1]:.4f}", flush=True)
        lines += [
            "",
            "| add/remove cycles (100 documents each) | recall@10 vs exact | fresh index "
            "| difference |",
            "|---|---|---|---|",
            *(
                f"| after cycle {i + 1} | {r:.4f} | {fresh_recall:.4f} | {r - fresh_recall:+.4f} |"
                for i, r in enumerate(recalls)
                if i in (0, len(recalls) // 2 - 1, len(recalls) - 1)
            ),
            "",
            f"{len(queries)} queries, k=10, default search settings, {args.threads} threads. An "
            "add never re-trains or re-encodes stored documents; outlier tokens (beyond the 99th "
            "percentile of the training residuals) get new centroids from their own vectors "
            "(plait/indexes/plaid/growth.py), and the removed documents leave the base documents' "
            f"vectors untouched, so the cycles end at {recalls[-1]:.4f} against the fresh "
            f"{fresh_recall:.4f}.",
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    body = "\n".join(lines)
    print(body)
    if not args.no_page:
        page.publish(
            "maintenance",
            command=shlex.join(["python", "benchmarks/maintenance.py", *sys.argv[1:]]),
            body=body,
            started=started,
            machine_line=machine,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
