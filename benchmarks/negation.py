"""Negation on plait's dev set: the default ColBERT vs the MiniLM bi-encoder vs BM25.

    .venv/bin/python benchmarks/negation.py [--no-page]

Runs ``plait evaluate --negation --json`` (a fresh process per retriever, as a user would) on
``plait/data/negation_dev.jsonl`` (320 triples, ``plait/data/NEGATION.md``): the shipped default
ColBERT (exact MaxSim), the packaged all-MiniLM-L6-v2 bi-encoder (cosine) and BM25. Reports the
pair accuracy (the document above its negated twin, ties count one half), split into
document-side negation (the query asks for the affirmed meaning) and query-side negation ("X but
not Y", "without", "excluding"), per domain, and the mean rank of the document among all 640
documents of the set. The table becomes the "negation" section of docs/benchmarks.md unless
``--no-page``.
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
    ("ColBERT default (exact MaxSim)", ["--retriever", "colbert"]),
    ("bi-encoder (MiniLM-L6, cosine)", ["--retriever", "biencoder"]),
    ("BM25", ["--retriever", "bm25"]),
)
DOMAINS = ("medical", "legal", "technical", "general")


def evaluate(options: list[str]) -> dict:
    """One ``plait evaluate --negation --json`` run in its own process."""
    command = [str(PLAIT), "evaluate", "--negation", "--json", *options]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    result["seconds"] = time.perf_counter() - start
    return result


def main() -> int:
    """Run every retriever, print the tables and publish them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-page", action="store_true", help="print only")
    args = parser.parse_args()
    started, machine = time.time(), page.machine()
    pairs = [
        "| retriever | pair accuracy | document-side | query-side | ties | mean rank | first | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    domains = ["| retriever | " + " | ".join(DOMAINS) + " |", "|---" * (len(DOMAINS) + 1) + "|"]
    results = {}
    for label, options in RUNS:
        r = results[label] = evaluate(options)
        g = r["groups"]
        pairs.append(
            f"| {label} | {r['pair_accuracy']:.3f} | {g['side:document']['pair_accuracy']:.3f} "
            f"| {g['side:query']['pair_accuracy']:.3f} | {r['ties']} | {r['mean_rank']:.2f} "
            f"| {100 * r['top1']:.0f}% | {r['seconds']:.0f} |"
        )
        domains.append(
            f"| {label} | "
            + " | ".join(f"{g[f'domain:{d}']['pair_accuracy']:.3f}" for d in DOMAINS)
            + " |"
        )
        print(pairs[-1], flush=True)
    first = next(iter(results.values()))
    sides = {k[5:]: int(v["n"]) for k, v in first["groups"].items() if k.startswith("side:")}
    body = "\n".join(
        [
            f"`plait evaluate --negation` on plait's negation dev set (`plait/data/"
            f"negation_dev.jsonl`: {first['n_triples']} triples, {sides['document']} "
            f"document-side and {sides['query']} query-side, {first['n_documents']} documents; "
            "how it was built: `plait/data/NEGATION.md`). Pair accuracy: the share of triples "
            "whose document scores above its negated twin (a tie counts one half); mean rank: of "
            "the document among all the set's documents (first: the share ranked first).",
            "",
            *pairs,
            "",
            "Pair accuracy per domain:",
            "",
            *domains,
            "",
            "The default ColBERT is the packaged MiniLM-L6 with the trained delta "
            "(recipes/default_model.py), trained without negated twins so far; the bi-encoder is "
            "the same MiniLM-L6 as a single-vector model. BM25 drops 'not' and 'no' as "
            "stopwords, hence its ties. s: wall time of the process (load, encode, score) on the "
            "shared 2-core machine.",
        ]
    )
    if not args.no_page:
        page.publish(
            "negation",
            command=" ".join(["python benchmarks/negation.py", *sys.argv[1:]]),
            body=body,
            started=started,
            machine_line=machine,
        )
    else:
        print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
