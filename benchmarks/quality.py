"""Retrieval quality of the shipped default ColBERT against BM25 and the bi-encoder, per BEIR folder.

    .venv/bin/python benchmarks/quality.py [--data ../shared/data] [--split test] [--no-page]

Runs ``plait evaluate --json`` (a fresh process per run, as a user would) on every BEIR folder
under ``--data`` that has the split: BM25, the packaged all-MiniLM-L6-v2 bi-encoder, and the
default ColBERT with the exact index and with PLAID (nbits 2). Every retriever indexes the same
texts (title + text), answers the same judged queries with the same top-k and is scored by the
same metrics call, so the numbers compare. The test splits are reported here only: the default
model and every setting were chosen on SciFact's train split (recipes/README.md). The table
becomes the "quality" section of docs/benchmarks.md unless ``--no-page``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import page

ROOT = Path(__file__).resolve().parent.parent
PLAIT = ROOT / ".venv" / "bin" / "plait"
RUNS = (
    ("BM25", ["--retriever", "bm25"]),
    ("bi-encoder (MiniLM-L6)", ["--retriever", "biencoder"]),
    ("ColBERT default, exact", ["--retriever", "colbert", "--index", "exact"]),
    ("ColBERT default, PLAID", ["--retriever", "colbert", "--index", "plaid"]),
)
METRICS = "ndcg@10,mrr@10,recall@100"


def evaluate(folder: Path, split: str, options: list[str]) -> dict:
    """One ``plait evaluate --json`` run in its own process."""
    command = [str(PLAIT), "evaluate", "--data", str(folder), "--split", split, "--json"]
    done = subprocess.run(
        [*command, "--metrics", METRICS, *options], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command + options)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main() -> int:
    """Run every retriever on every folder, print the table and publish it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--split", default="test")
    parser.add_argument("--no-page", action="store_true", help="print only")
    args = parser.parse_args()
    started, machine = time.time(), page.machine()
    folders = sorted(p for p in args.data.iterdir() if (p / "qrels" / f"{args.split}.tsv").exists())
    lines = [
        "| collection | retriever | nDCG@10 | MRR@10 | Recall@100 | index s | ms/query |",
        "|---|---|---|---|---|---|---|",
    ]
    sizes = []
    for folder in folders:
        for label, options in RUNS:
            result = evaluate(folder, args.split, options)
            m, t = result["metrics"], result["timings"]
            lines.append(
                f"| {folder.name} | {label} | {m['ndcg@10']:.4f} | {m['mrr@10']:.4f} "
                f"| {m['recall@100']:.4f} | {t['index_s']:.1f} | {t['ms_per_query']:.1f} |"
            )
            print(lines[-1], flush=True)
        sizes.append(
            f"{folder.name} {result['n_documents']:,} documents / {result['n_queries']} queries"
        )
    body = "\n".join(
        [
            f"`plait evaluate` on the {args.split} split of each BEIR folder in `{args.data}` "
            f"({'; '.join(sizes)}); top-100 per query, trec_eval metrics:",
            "",
            *lines,
            "",
            "The default ColBERT is the packaged MiniLM-L6 with a trained projection and top "
            "layers (recipes/default_model.py, chosen on SciFact train). Timings are on the "
            "shared 2-core machine (index s: encode + build; ms/query: encode + search) and "
            "rough; quality does not depend on load.",
        ]
    )
    if not args.no_page:
        page.publish(
            "quality",
            command=" ".join(["python benchmarks/quality.py", *sys.argv[1:]]),
            body=body,
            started=started,
            machine_line=machine,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
