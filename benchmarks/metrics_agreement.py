"""plait's metrics (trec_eval through pytrec_eval) against ranx, on real runs over BEIR folders.

ranx used to compute plait's metrics; it left the core install (issue 28: it pulls pandas,
matplotlib, seaborn, fastparquet, ir-datasets and numba-compiled code that takes a minute on first
use). This script shows the replacement gives the same numbers: for every BEIR folder it builds a
BM25 top-1000 run (plait.baselines.BM25) on each split and prints the largest per-query difference
of every metric. BM25 gives equal scores to documents deep in the list; plait keeps tied documents
in the run's order, ranx's sort does not always (it is not stable on long lists), so ties are
broken in the run itself first (``score - 1e-9 * rank``, the same order). A second row per split
rounds the scores to two decimals and keeps the ties: it shows how far tie handling alone moves
the numbers and is not held to the tolerance. ranx must be importable (``pip install ranx``; it is
not a plait dependency)::

    .venv/bin/python benchmarks/metrics_agreement.py [../shared/data] [--tolerance 1e-6] [--no-page]

Exit status 1 when any difference exceeds the tolerance. The table becomes the "metrics" section of
docs/benchmarks.md (benchmarks/page.py) unless ``--no-page``.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import page

METRICS = [
    "ndcg@10",
    "ndcg@100",
    "mrr@10",
    "mrr",
    "recall@100",
    "recall@1000",
    "map@100",
    "map",
    "precision@5",
    "precision@10",
    "hits@10",
    "hit_rate@10",
    "f1@10",
    "r-precision",
    "ndcg",
]


def ranx_values(run: dict, qrels: dict, names: list[str]) -> dict[str, dict[str, float]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ranx import Qrels, Run, evaluate

        ranx_qrels = Qrels(qrels)
        full = {qid: run.get(qid, {}) for qid in qrels}
        values = evaluate(ranx_qrels, Run(full), names, return_mean=False, make_comparable=True)
    order = list(ranx_qrels.keys())
    return {name: dict(zip(order, map(float, values[name]), strict=True)) for name in names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default="../shared/data", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    parser.add_argument("--no-page", action="store_true", help="print only")
    args = parser.parse_args()
    started, machine = time.time(), page.machine()
    versions = ", ".join(f"{name} {version(name)}" for name in ("pytrec_eval-terrier", "ranx"))
    from plait.baselines import BM25
    from plait.evaluation import evaluate
    from plait.evaluation.beir import available_splits, load_beir

    worst_overall = 0.0
    lines = [
        "| collection | split | queries | largest |difference| (worst metric) | "
        "scores rounded: ties (worst metric) |",
        "|---|---|---|---|---|",
    ]
    for folder in sorted(p for p in args.data.iterdir() if (p / "qrels").is_dir()):
        for split in available_splits(folder):
            documents, queries, qrels = load_beir(folder, split)
            bm25 = BM25().index([d["text"] for d in documents], [d["id"] for d in documents])
            hits = bm25.retrieve([q["text"] for q in queries], k=1000)
            exact = {
                q["id"]: {h["id"]: h["score"] - 1e-9 * rank for rank, h in enumerate(row)}
                for q, row in zip(queries, hits, strict=True)
            }
            tied = {qid: {d: round(s, 2) for d, s in row.items()} for qid, row in exact.items()}
            cells = []
            for run in (exact, tied):
                ours = evaluate(run, qrels, metrics=METRICS, per_query=True)
                theirs = ranx_values(run, qrels, METRICS)
                gaps = {
                    name: max(abs(ours[name][q] - theirs[name][q]) for q in theirs[name])
                    for name in METRICS
                }
                metric = max(gaps, key=gaps.__getitem__)
                if run is exact:
                    worst_overall = max(worst_overall, gaps[metric])
                cells.append(f"{gaps[metric]:.2e} ({metric})")
            lines.append(f"| {folder.name} | {split} | {len(qrels)} | {' | '.join(cells)} |")
            print(lines[-1], flush=True)
    verdict = f"largest difference without ties: {worst_overall:.2e} (tolerance {args.tolerance:g})"
    print(verdict)
    if not args.no_page:
        body = "\n".join(
            [
                f"BM25 top-1000 runs on every BEIR folder and split of `{args.data}`, "
                f"{len(METRICS)} metrics ({', '.join(METRICS)}); {versions}. Largest per-query "
                "difference between plait's metrics and ranx's:",
                "",
                *lines,
                "",
                f"{verdict.capitalize()}. Without ties the two agree exactly. With tied scores "
                "plait keeps the run's order (a stable sort); ranx's sort is not stable on long "
                "lists, so the rounded column shows how far tie order alone moves a metric.",
            ]
        )
        page.publish(
            "metrics",
            command=" ".join(["python benchmarks/metrics_agreement.py", *sys.argv[1:]]),
            body=body,
            started=started,
            machine_line=machine,
        )
    return 0 if worst_overall <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
