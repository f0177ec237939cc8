"""Ray (issue 9): what scale-out costs on one machine, and the per-shard figures docs/scaling.md uses.

Same data both ways (the first ``--docs`` SciFact documents, the first ``--queries`` test queries,
the default model ``plait.models.ColBERT()``):

1. encode: single-process ``model.encode`` vs :func:`plait.distributed.encode.encode_corpus` with
   ``--replicas`` replicas of 1 CPU each on a local Ray cluster (end to end, and the replicas'
   own encode seconds, which leave out Ray and model start-up);
2. index + search: one PLAID index vs a :class:`~plait.distributed.ShardedPLAID` of ``--shards``
   Ray actor shards, both built with the same codebook; top-10 ids compared, QPS one query per
   call and all queries in one call;
3. per-shard figures: bytes per token on disk, single-PLAID QPS on one core (torch 1 thread),
   build time per million tokens (codebook given) and codebook training time.

    nice -n 10 .venv/bin/python benchmarks/bench_ray.py [--no-page]

Not run in CI. Prints a markdown table, which becomes the "ray" section of docs/benchmarks.md
(benchmarks/page.py) unless ``--no-page``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import page

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - start


def search_rates(index, queries: list[np.ndarray]) -> dict[str, float]:
    """QPS one query per call (and its p50 latency) and all queries in one call."""
    index.search(queries[:2], k=10)  # warm-up (compilation, page cache, actors)
    latencies = []
    for query in queries:
        _, seconds = timed(index.search, [query], 10)
        latencies.append(seconds)
    results, batch_seconds = timed(index.search, queries, 10)
    return {
        "qps_single": len(queries) / sum(latencies),
        "p50_ms": 1000 * float(np.median(latencies)),
        "qps_batch": len(queries) / batch_seconds,
        "results": results,
    }


def measure_encode(args, rows, texts, work: Path) -> dict[str, float]:
    from plait.distributed.encode import encode_corpus
    from plait.distributed.shards import load_embeddings
    from plait.models import ColBERT

    model, load_s = timed(ColBERT, device="cpu")
    model.encode(texts[:8], is_query=False)  # warm-up (each replica's first shard includes its own)
    embeddings, single_s = timed(model.encode, texts, is_query=False, batch_size=32)
    n_tokens = sum(len(e) for e in embeddings)
    corpus = work / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    shards: list[dict] = []
    report, ray_s = timed(
        encode_corpus,
        corpus,
        work / "shards",
        replicas=args.replicas,
        num_cpus=1,
        shard_size=args.shard_size,
        on_shard=shards.append,
    )
    ids, distributed = load_embeddings(work / "shards")
    assert ids == [r["_id"] for r in rows]
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(distributed, embeddings, strict=True))
    replica_s = sum(s["seconds"] for s in shards) / args.replicas
    return {
        "model, embeddings": (model, embeddings),
        "n_tokens": n_tokens,
        "model_load_s": load_s,
        "single_s": single_s,
        "ray_s": ray_s,
        "replica_s": replica_s,
        "max_diff": max_diff,
        "shards": report.n_shards,
    }


def measure_search(args, ids, embeddings, model, query_texts, work: Path) -> dict[str, float]:
    import torch

    from plait.distributed import ShardedPLAID
    from plait.indexes.plaid import PLAID, Codebook

    queries = model.encode(query_texts, is_query=True)
    codebook, train_s = timed(Codebook.train, embeddings, nbits=2)
    single = PLAID(index_folder=work, index_name="single", override=True, codebook=codebook)
    _, build_s = timed(single.add_documents, ids, embeddings)
    sharded = ShardedPLAID(
        work, "sharded", override=True, n_shards=args.shards, codebook=codebook, backend="ray"
    )
    _, sharded_build_s = timed(sharded.add_documents, ids, embeddings)
    one = search_rates(single, queries)
    many = search_rates(sharded, queries)
    same = all(
        a.ids == b.ids and np.allclose(a.scores, b.scores, atol=1e-5)
        for a, b in zip(one["results"], many["results"], strict=True)
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    per_core = search_rates(single, queries)["qps_single"]
    torch.set_num_threads(threads)
    shard_bytes = [folder_bytes(p) for p in sorted((work / "sharded" / "shards").iterdir())]
    counts = sharded.shard_counts()
    sharded.close()
    return {
        "train_s": train_s,
        "build_s": build_s,
        "sharded_build_s": sharded_build_s,
        "single": one,
        "sharded": many,
        "same_top10": same,
        "qps_core": per_core,
        "single_bytes": folder_bytes(work / "single"),
        "shard_bytes": shard_bytes,
        "shard_counts": counts,
        "n_queries": len(queries),
    }


def table(args, enc, srch, n_docs: int) -> str:
    tokens = enc["n_tokens"]
    lines = [
        "| measure | single process | Ray | Ray / single |",
        "|---|---|---|---|",
        f"| encode {n_docs} docs ({tokens:,} tokens), end to end s | {enc['single_s']:.1f} "
        f"| {enc['ray_s']:.1f} ({args.replicas} replicas x 1 CPU, {enc['shards']} shards) "
        f"| {enc['ray_s'] / enc['single_s']:.2f} |",
        f"| encode, docs/s (Ray: replicas' own encode + write time) | "
        f"{n_docs / enc['single_s']:.1f} | {n_docs / enc['replica_s']:.1f} "
        f"| {enc['single_s'] / enc['replica_s']:.2f}x |",
    ]
    if srch:
        one, many = srch["single"], srch["sharded"]
        lines += [
            f"| index build s (codebook given) | {srch['build_s']:.1f} | "
            f"{srch['sharded_build_s']:.1f} ({args.shards} shard actors) | "
            f"{srch['sharded_build_s'] / srch['build_s']:.2f} |",
            f"| search QPS, 1 query per call (p50 ms) | {one['qps_single']:.1f} "
            f"({one['p50_ms']:.1f}) | {many['qps_single']:.1f} ({many['p50_ms']:.1f}) "
            f"| {many['qps_single'] / one['qps_single']:.2f} |",
            f"| search QPS, {srch['n_queries']} queries per call | {one['qps_batch']:.1f} "
            f"| {many['qps_batch']:.1f} | {many['qps_batch'] / one['qps_batch']:.2f} |",
        ]
    lines += [
        "",
        "| per-shard figure | value |",
        "|---|---|",
        f"| encode, tokens/s per core (single process / 2 cores) | "
        f"{tokens / enc['single_s'] / 2:,.0f} |",
        f"| encode, tokens/s per replica (1 CPU) | "
        f"{tokens / enc['replica_s'] / args.replicas:,.0f} |",
    ]
    if srch:
        shard_tokens = tokens / args.shards
        lines += [
            f"| bytes/token on disk, single index | {srch['single_bytes'] / tokens:.1f} |",
            f"| bytes/token on disk, per shard (avg of {args.shards}) | "
            f"{np.mean(srch['shard_bytes']) / shard_tokens:.1f} |",
            f"| PLAID QPS on one core (torch 1 thread, k=10, 1 query per call) | "
            f"{srch['qps_core']:.1f} |",
            f"| build s per million tokens (codebook given) | "
            f"{srch['build_s'] / tokens * 1e6:.0f} |",
            f"| codebook training s (k-means on these {tokens:,} tokens) | {srch['train_s']:.1f} |",
            f"| sharded top-10 equals single PLAID (ids, scores 1e-5) | {srch['same_top10']} |",
        ]
    lines.append(
        f"| max abs difference, Ray vs single-process embeddings | {enc['max_diff']:.1e} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--docs", type=int, default=500)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--shard-size", type=int, default=100)
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--no-search", action="store_true", help="encode only")
    parser.add_argument("--no-page", action="store_true", help="print only")
    args = parser.parse_args()
    began, machine = time.time(), page.machine()

    import ray

    from plait.evaluation.beir import load_beir

    documents, queries, _ = load_beir(args.data, split="test")
    documents = documents[: args.docs]
    rows = [{"_id": d["id"], "text": d["text"]} for d in documents]
    texts = [d["text"] for d in documents]
    ray.init(num_cpus=os.cpu_count(), log_to_driver=False, include_dashboard=False)
    with tempfile.TemporaryDirectory(prefix="bench-ray-") as tmp:
        work = Path(tmp)
        enc = measure_encode(args, rows, texts, work)
        model, embeddings = enc.pop("model, embeddings")
        srch = None
        if not args.no_search:
            srch = measure_search(
                args,
                [d["id"] for d in documents],
                embeddings,
                model,
                [q["text"] for q in queries[: args.queries]],
                work,
            )
    ray.shutdown()
    body = table(args, enc, srch, len(documents))
    print(body)
    if not args.no_page:
        page.publish(
            "ray",
            command=shlex.join(
                ["nice", "-n", "10", "python", "benchmarks/bench_ray.py", *sys.argv[1:]]
            ),
            body=f"ray {ray.__version__}, {len(documents)} SciFact documents.\n\n{body}",
            started=began,
            machine_line=machine,
        )


if __name__ == "__main__":
    main()
