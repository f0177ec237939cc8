"""Exact MaxSim kernel throughput vs the machine's float32 matrix-multiply rate.

    .venv/bin/python benchmarks/bench_maxsim.py [--documents 5000] [--doc-tokens 160] [--dim 128]

Random unit-norm documents (fixed length) and 32-token queries. Reports queries/s of
``plait.kernels.maxsim.maxsim_search`` (batched and one query per call), the GFLOP/s that implies
(2 * query_tokens * dim flops per document token), torch's square float32 matmul GFLOP/s, and
their ratio. Not run in CI.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from plait.kernels.maxsim import get_num_threads, maxsim_search


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up (numba compile, page faults)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    seconds = best_time(lambda: torch.mm(a, b), repeats)
    return 2 * n**3 / seconds / 1e9


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=5000)
    parser.add_argument("--doc-tokens", type=int, default=160)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=64)
    parser.add_argument("--query-tokens", type=int, default=32)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n_tokens = args.documents * args.doc_tokens
    tokens = unit_rows(rng, n_tokens, args.dim)
    offsets = np.arange(0, n_tokens + 1, args.doc_tokens, dtype=np.int64)
    queries = unit_rows(rng, args.queries * args.query_tokens, args.dim).reshape(
        args.queries, args.query_tokens, args.dim
    )
    flop_per_query = 2 * args.query_tokens * args.dim * n_tokens

    peak = matmul_gflops()
    print(f"threads={get_num_threads()}  documents={args.documents}  tokens={n_tokens}  dim={args.dim}")
    print(f"torch float32 matmul (2048^3): {peak:.1f} GFLOP/s")
    for label, storage in (("float32", tokens), ("float16", tokens.astype(np.float16))):
        batched = best_time(lambda s=storage: maxsim_search(queries, s, offsets, args.k), args.repeats)
        single = best_time(
            lambda s=storage: [maxsim_search(q[None], s, offsets, args.k) for q in queries[:8]],
            args.repeats,
        ) / 8
        qps = args.queries / batched
        gflops = qps * flop_per_query / 1e9
        print(
            f"{label} tokens: batched {qps:.1f} queries/s ({gflops:.1f} GFLOP/s, "
            f"{gflops / peak:.0%} of matmul); one query per call {1 / single:.1f} queries/s "
            f"({single * 1e3:.1f} ms, {flop_per_query / single / 1e9 / peak:.0%} of matmul)"
        )


if __name__ == "__main__":
    main()
