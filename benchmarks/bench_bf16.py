"""Opt-in bfloat16 encoding vs float32: speed and what it does to SciFact quality, in one run.

    .venv/bin/python benchmarks/bench_bf16.py [--data ../shared/data/scifact] [--chunk 64]
                                             [--max-documents N] [--no-append]

The default model encodes the whole corpus and the test queries twice, with
``encode(compute_dtype="float32")`` and ``encode(compute_dtype="bfloat16")``, interleaved chunk
by chunk (the dtype that goes first alternates), after one warm-up chunk each. The same runs give
the throughput ratio and the embeddings whose exact-search nDCG@10, MRR@10 and Recall@100 are
compared (every test query against every document, float32 MaxSim either way). Token vectors are
also compared directly (cosine of each bf16 row to its float32 row). Prints a table and appends
it, with the command, machine facts and date, to the dated history in benchmarks/log/. Not run in CI.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import page
import torch
from common import ROOT, Table, machine_facts, report_head

from plait.evaluation import evaluate, load_beir
from plait.kernels import maxsim_scores
from plait.models import ColBERT

DTYPES = ("float32", "bfloat16")
METRICS = ["ndcg@10", "mrr@10", "recall@100"]


def interleaved_encode(
    model: ColBERT, texts: list[str], is_query: bool, chunk: int
) -> tuple[dict[str, list[np.ndarray]], dict[str, float]]:
    """Encode ``texts`` in both dtypes, chunk by chunk; (embeddings, seconds) per dtype."""
    out: dict[str, list[np.ndarray]] = {d: [] for d in DTYPES}
    seconds = dict.fromkeys(DTYPES, 0.0)
    for dtype in DTYPES:  # warm-up, not timed
        model.encode(texts[:chunk], is_query=is_query, compute_dtype=dtype)
    for n, start in enumerate(range(0, len(texts), chunk)):
        part = texts[start : start + chunk]
        for dtype in DTYPES if n % 2 == 0 else DTYPES[::-1]:
            t0 = time.perf_counter()
            out[dtype] += model.encode(part, is_query=is_query, compute_dtype=dtype)
            seconds[dtype] += time.perf_counter() - t0
    return out, seconds


def quality(
    queries: list[np.ndarray],
    documents: list[np.ndarray],
    query_ids: list[str],
    document_ids: list[str],
    qrels: dict[str, dict[str, int]],
) -> dict[str, float]:
    """Exact MaxSim over every document, top 100 per query, scored with ranx."""
    offsets = np.zeros(len(documents) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(d) for d in documents])
    scores = maxsim_scores(queries, np.concatenate(documents), offsets)
    top = np.argsort(-scores, axis=1)[:, :100]
    run = {
        q: {document_ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(query_ids)
    }
    return {m: float(v) for m, v in evaluate(run, qrels, metrics=METRICS).items()}


def agreement(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[float, float]:
    """(mean, min) cosine between matching rows (both sets are unit-norm)."""
    cos = np.concatenate([(x * y).sum(axis=1) for x, y in zip(a, b, strict=True)])
    return float(cos.mean()), float(cos.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "scifact"))
    parser.add_argument("--chunk", type=int, default=64, help="texts per timed encode call")
    parser.add_argument("--max-documents", type=int, default=None, help="first N documents only")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()
    facts = machine_facts()
    documents, queries, qrels = load_beir(args.data, split="test")
    documents = documents[: args.max_documents] if args.max_documents else documents
    model = ColBERT(device="cpu")

    doc_emb, doc_s = interleaved_encode(model, [d["text"] for d in documents], False, args.chunk)
    q_emb, q_s = interleaved_encode(model, [q["text"] for q in queries], True, args.chunk)
    ids = [d["id"] for d in documents]
    qids = [q["id"] for q in queries]
    scores = {dt: quality(q_emb[dt], doc_emb[dt], qids, ids, qrels) for dt in DTYPES}

    name = Path(args.data).name
    table = Table.new(
        f"Encoding in float32 vs opt-in bfloat16, {name} ({len(documents):,} documents, "
        f"{len(queries)} test queries), default model",
        ["compute_dtype", "documents/s", "queries/s", *METRICS],
    )
    for dt in DTYPES:
        table.add(
            dt,
            len(documents) / doc_s[dt],
            len(queries) / q_s[dt],
            *(scores[dt][m] for m in METRICS),
        )
    table.add(
        "bfloat16 ÷ float32",
        doc_s["float32"] / doc_s["bfloat16"],
        q_s["float32"] / q_s["bfloat16"],
        *(scores["bfloat16"][m] - scores["float32"][m] for m in METRICS),
    )
    d_mean, d_min = agreement(doc_emb["float32"], doc_emb["bfloat16"])
    q_mean, q_min = agreement(q_emb["float32"], q_emb["bfloat16"])
    table.notes += [
        "last row: speed ratios, then metric differences (bfloat16 - float32)",
        f"token vectors, cosine bf16 to float32: documents mean {d_mean:.5f} (min {d_min:.4f}), "
        f"queries mean {q_mean:.5f} (min {q_min:.4f})",
        f"interleaved chunks of {args.chunk} texts after one warm-up chunk each, batch size 32; "
        f"exact MaxSim in float32 over every document; torch threads {torch.get_num_threads()}",
    ]
    command = shlex.join([".venv/bin/python", "benchmarks/bench_bf16.py", *sys.argv[1:]])
    report = "\n".join([*report_head("bfloat16 encoding", command, facts), "", table.markdown()])
    print(report)
    if not args.no_append:
        print(f"appended to {page.append_log(report)}")


if __name__ == "__main__":
    main()
