"""Side-by-side benchmark: plait vs PyLate + fast-plaid, same machine, same embeddings, one run.

    .venv/bin/python benchmarks/run.py [--quick] [--scifact PATH]
        [--sections encode,build,search,quality,scale] [--nbits 2]

Prints tables and appends them, with the command, machine facts and the date, to the dated
history in benchmarks/log/. The peer runs in its own venv (``bash benchmarks/setup_peers.sh``);
each side runs in its own worker subprocess and embeddings cross between the environments as .npy files.
SciFact is encoded once by plait's default model and cached under benchmarks/.work/ (keyed by the
model's fingerprint). See benchmarks/README.md. Not run in CI.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import page  # noqa: E402
from common import (  # noqa: E402
    ROOT,
    WORK,
    Table,
    WorkerError,
    machine_facts,
    peer_worker,
    plait_worker,
    ratio,
    report_head,
)
from embedding_sets import cached_scifact, model_fingerprint, scifact, synthetic  # noqa: E402
from sections import Options, Outcome, build_section, encode_section, search_section  # noqa: E402

SECTIONS = ("encode", "build", "search", "quality", "scale")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small samples and the 10k synthetic set only (minutes, not hours)",
    )
    parser.add_argument("--scifact", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)}",
    )
    parser.add_argument(
        "--scifact-embeddings",
        type=Path,
        default=None,
        help="use this cached SciFact embedding set (benchmarks/.work/data/scifact-*) "
        "instead of encoding with the current default model",
    )
    parser.add_argument("--nbits", type=int, default=2, choices=(1, 2, 4, 8))
    parser.add_argument(
        "--scale",
        default=None,
        help="synthetic sizes in documents, e.g. 10000,100000 (default: 10000 with "
        "--quick, else 10000,100000)",
    )
    parser.add_argument(
        "--max-queries",
        type=int,
        default=None,
        help="use only the first N queries of each set (default: all; --quick: 60)",
    )
    parser.add_argument(
        "--latency-queries",
        type=int,
        default=None,
        help="queries timed one per call (default 30; --quick 10)",
    )
    parser.add_argument(
        "--timing-queries",
        type=int,
        default=None,
        help="queries timed batched at k=10 (default 100; --quick 30); every query "
        "is searched at k=100 and counts for recall and nDCG",
    )
    parser.add_argument(
        "--peer-timeout",
        type=float,
        default=3600.0,
        help="seconds one worker operation may take before it is reported as failed",
    )
    parser.add_argument(
        "--peer-max-tokens",
        type=int,
        default=3_000_000,
        help="skip the peer on synthetic sets with more document tokens than this",
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="scale: search the indexes an earlier run built instead of building",
    )
    parser.add_argument(
        "--rebuild-plait",
        action="store_true",
        help="without the build section (or with scale --no-build): rebuild plait's "
        "index (only) and search fast-plaid's earlier one, e.g. after a PLAID "
        "code change",
    )
    parser.add_argument(
        "--no-append", action="store_true", help="print only; leave benchmarks/log/ alone"
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown or not chosen:
        parser.error(f"--sections: unknown {unknown}; choose from {','.join(SECTIONS)}")
    args.sections = chosen
    sizes = args.scale or ("10000" if args.quick else "10000,100000")
    try:
        args.scale = [int(x) for x in sizes.split(",") if x.strip()]
    except ValueError:
        parser.error(f"--scale must be comma-separated integers, got {sizes!r}")
    return args


def make_options(args: argparse.Namespace) -> Options:
    quick = args.quick
    return Options(
        work=WORK,
        logs=WORK / "logs",
        nbits=args.nbits,
        quick=quick,
        latency_queries=args.latency_queries or (10 if quick else 30),
        timing_queries=args.timing_queries or (30 if quick else 100),
        batch_size=100,
        max_queries=args.max_queries or (60 if quick else None),
        peer_timeout=args.peer_timeout,
        peer_max_tokens=args.peer_max_tokens,
        encode_documents=64 if quick else 512,
        encode_queries=64 if quick else 300,
    )


def factories(opts: Options) -> dict[str, Any]:
    return {"plait": lambda: plait_worker(opts.logs), "peer": lambda: peer_worker(opts.logs)}


def prepare(args: argparse.Namespace, opts: Options) -> tuple[dict[str, Any], dict, Path]:
    """Save plait's default model (PyLate format), cache SciFact embeddings, collect versions."""
    model_folder = WORK / "model" / "plait-default"
    versions: dict[str, Any] = {}
    needs_scifact = bool({"encode", "build", "search", "quality"} & set(args.sections))
    sets: dict[str, Any] = {}
    with plait_worker(opts.logs) as plait:
        versions["plait side"] = plait.call("versions", timeout=300)
        plait.call("load_model", timeout=900)
        plait.call("save_model", timeout=300, path=str(model_folder))
        fingerprint = model_fingerprint(model_folder)
        versions["model"] = f"plait default model, sha256 {fingerprint[:12]}"
        if needs_scifact and args.scifact_embeddings:
            sets["scifact"] = cached_scifact(args.scifact, args.scifact_embeddings)
            versions["SciFact embeddings"] = (
                f"{args.scifact_embeddings} (model sha256 "
                f"{sets['scifact'].meta.get('model_fingerprint', '?')[:12]})"
            )
        elif needs_scifact:
            sets["scifact"] = scifact(args.scifact, WORK, plait, fingerprint)
    try:
        with peer_worker(opts.logs) as peer:
            versions["peer side"] = peer.call("versions", timeout=300)
    except WorkerError as error:
        versions["peer side"] = f"unavailable: {error}"
    return sets, versions, model_folder


def run_sections(
    args: argparse.Namespace,
    opts: Options,
    sets: dict[str, Any],
    model_folder: Path,
    outcomes: list[tuple[str, Outcome]],
) -> None:
    """Run the chosen sections in order, appending each result to ``outcomes`` as it completes."""

    def done(name: str, outcome: Outcome) -> None:
        outcomes.append((name, outcome))
        for table in outcome.tables:
            print("\n" + table.markdown(), flush=True)

    make = factories(opts)
    if "encode" in args.sections:
        texts = _scifact_texts(args.scifact)
        with make["plait"]() as plait, make["peer"]() as peer:
            plait.call("load_model", timeout=900)
            done("SciFact", encode_section(plait, peer, model_folder, texts, opts))
    if "build" in args.sections:
        done("SciFact", build_section(sets["scifact"], opts, make))
    why = "its index from an earlier build (same folder, same embeddings) is searched"
    if args.rebuild_plait and "build" not in args.sections:
        done("SciFact", build_section(sets["scifact"], opts, {**make, "peer": None, "why": why}))
    if "search" in args.sections or "quality" in args.sections:
        latency = "search" in args.sections
        done("SciFact", search_section(sets["scifact"], opts, make, latency=latency))
    if "scale" in args.sections:
        for n in args.scale:
            data = synthetic(n, WORK, n_queries=50 if opts.quick else 100)
            sides = dict(make)
            if data.n_tokens > opts.peer_max_tokens:
                sides["peer"] = None
                sides["why"] = (
                    f"{data.n_tokens:,} tokens > --peer-max-tokens "
                    f"{opts.peer_max_tokens:,} (fast-plaid's CPU build needs several "
                    "GiB per million tokens and hours here)"
                )
            if not args.no_build:
                done(data.name, build_section(data, opts, sides))
            elif args.rebuild_plait:
                done(data.name, build_section(data, opts, {**sides, "peer": None, "why": why}))
            done(data.name, search_section(data, opts, sides))


def _scifact_texts(path: Path) -> dict[str, list[str]]:
    import random

    from plait.evaluation import load_beir

    documents, queries, _ = load_beir(path, "test")
    docs = [d["text"] for d in documents]
    random.Random(0).shuffle(docs)
    return {"documents": docs, "queries": [q["text"] for q in queries]}


# ----------------------------------------------------------------------------- summary
def summary(outcomes: list[tuple[str, Outcome]]) -> Table:
    """The ratios issue 6 asks for, per data set, with the target and whether it is met."""
    table = Table.new(
        "Ratios (issue 6 acceptance; all from this run)",
        ["data", "measure", "value", "target", "met"],
    )
    by_set: dict[str, dict[str, Any]] = {}
    for name, outcome in outcomes:
        by_set.setdefault(name, {}).update(outcome.numbers)
    for name, n in by_set.items():
        checks = [
            (
                "single-query p50 latency plait ÷ fast-plaid (k=10)",
                ratio(n.get("plait_p50_k10"), n.get("peer_p50_k10")),
                "<= 0.1",
                "le",
                0.1,
            ),
            (
                "batched q/s plait ÷ fast-plaid (k=10)",
                ratio(n.get("plait_qps_k10"), n.get("peer_qps_k10")),
                ">= 10",
                "ge",
                10.0,
            ),
            (
                "recall@10 vs exact, plait − fast-plaid",
                _diff(n.get("plait_recall_k10"), n.get("peer_recall_k10")),
                ">= 0",
                "ge",
                0.0,
            ),
            (
                "recall@100 vs exact, plait − fast-plaid",
                _diff(n.get("plait_recall_k100"), n.get("peer_recall_k100")),
                "(report)",
                None,
                None,
            ),
            (
                "batched q/s plait PLAID ÷ plait exact (k=10)",
                ratio(n.get("plait_qps_k10"), n.get("exact_qps")),
                ">= 5" if name == "SciFact" else "(report)",
                "ge" if name == "SciFact" else None,
                5.0,
            ),
            (
                "build time plait ÷ fast-plaid",
                ratio(n.get("plait_build_s"), n.get("peer_build_s")),
                "<= 0.25",
                "le",
                0.25,
            ),
            (
                "bytes/token plait ÷ fast-plaid",
                ratio(n.get("plait_bytes_per_token"), n.get("peer_bytes_per_token")),
                "<= 0.42",
                "le",
                0.42,
            ),
            ("bytes/token plait", n.get("plait_bytes_per_token"), "<= 36", "le", 36.0),
            (
                "peak build RSS plait ÷ fast-plaid",
                ratio(n.get("plait_peak_gib"), n.get("peer_peak_gib")),
                "(report)",
                None,
                None,
            ),
            (
                "nDCG@10 plait PLAID ÷ exact",
                ratio(n.get("plait_ndcg10"), n.get("exact_ndcg10")),
                ">= 0.99",
                "ge",
                0.99,
            ),
            (
                "nDCG@10 fast-plaid ÷ exact",
                ratio(n.get("peer_ndcg10"), n.get("exact_ndcg10")),
                "(report)",
                None,
                None,
            ),
            (
                "encode documents/s plait ÷ PyLate",
                n.get("encode_documents_ratio"),
                ">= 1.0",
                "ge",
                1.0,
            ),
            ("encode queries/s plait ÷ PyLate", n.get("encode_queries_ratio"), ">= 1.0", "ge", 1.0),
            (
                "exact MaxSim kernel, % of float32 matmul rate",
                n.get("maxsim_pct_matmul"),
                ">= 50",
                "ge",
                50.0,
            ),
        ]
        for label, value, target, op, bound in checks:
            if value is None:
                continue
            met = (
                ""
                if op is None
                else ("yes" if (value <= bound if op == "le" else value >= bound) else "NO")
            )
            table.add(name, label, value, target, met)
    return table


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def append_report(
    command: str,
    facts: dict[str, str],
    versions: dict[str, Any],
    tables: list[Table],
    error: str | None,
) -> str:
    lines = report_head("Side-by-side benchmark", command, facts)
    for side, found in versions.items():
        text = found if isinstance(found, str) else ", ".join(f"{k} {v}" for k, v in found.items())
        lines.append(f"- {side}: {text}")
    lines.append("")
    if error:
        lines += [f"**Run incomplete:** {error}", ""]
    lines += [table.markdown() for table in tables]
    report = "\n".join(lines) + "\n"
    return report


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)  # `timeout` and kill: clean up the workers
    args = parse_args(argv)
    opts = make_options(args)
    command = shlex.join([".venv/bin/python", "benchmarks/run.py", *(argv or sys.argv[1:])])
    facts = machine_facts()
    print(f"{command}\n" + "\n".join(f"{k}: {v}" for k, v in facts.items()), flush=True)
    started = time.perf_counter()
    outcomes: list[tuple[str, Outcome]] = []
    versions: dict[str, Any] = {}
    error = None
    try:
        sets, versions, model_folder = prepare(args, opts)
        run_sections(args, opts, sets, model_folder, outcomes)
    except Exception as exc:  # keep what was measured: report it with the error
        last = (str(exc).strip().splitlines() or [""])[-1]
        error = f"{type(exc).__name__}: {last} (details printed on the console)"
        traceback.print_exc()
    tables = [t for _, o in outcomes for t in o.tables]
    tables.append(summary(outcomes))
    facts["wall time"] = f"{time.perf_counter() - started:.0f} s"
    report = append_report(command, facts, versions, tables, error)
    print("\n" + tables[-1].markdown())
    if not args.no_append:
        print(f"appended to {page.append_log(report)} (the dated history; see benchmarks/page.py)")
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
