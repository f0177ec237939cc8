"""``plait compare``: is late interaction worth it on this data? (report in HTML and Markdown)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from plait.cli._common import CliError, echo_json, quiet_libraries

if TYPE_CHECKING:
    from plait.compare import CompareResult

DEFAULT_OUT = Path("compare-report")


def _systems(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [name.strip() for name in value.split(",") if name.strip()]


def _log(started: float) -> Callable[[str], None]:
    def log(message: str) -> None:
        typer.echo(f"[{time.perf_counter() - started:6.0f}s] {message}", err=True)

    return log


def command(
    data: Annotated[
        Path,
        typer.Option(
            help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/<split>.tsv); without qrels only costs and agreement are reported."
        ),
    ],
    split: Annotated[str, typer.Option(help="Which qrels/<split>.tsv to score.")] = "test",
    model: Annotated[
        str | None, typer.Option(help="ColBERT model folder (default: the offline plait model).")
    ] = None,
    bi_encoder: Annotated[
        str | None,
        typer.Option(
            "--bi-encoder",
            help="sentence-transformers model folder (default: packaged all-MiniLM-L6-v2).",
        ),
    ] = None,
    cross_encoder: Annotated[
        str | None,
        typer.Option(
            "--cross-encoder",
            help="sentence-transformers CrossEncoder folder: re-ranks the bi-encoder's top 50.",
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for report.html, report.md, results.json and the plots.")
    ] = DEFAULT_OUT,
    systems: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated subset of: bm25, biencoder, colbert, plaid-1bit, plaid-2bit, plaid-4bit, pool-2, pool-3, bm25+colbert, biencoder+colbert, cross-encoder."
        ),
    ] = None,
    max_queries: Annotated[
        int | None, typer.Option(min=1, help="Use only the first N queries (a quick look).")
    ] = None,
    latency_queries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Queries timed one at a time per system (each round times each of them once).",
        ),
    ] = 30,
    rerank_latency_queries: Annotated[
        int,
        typer.Option(
            min=0,
            help="Queries timed for re-rank pipelines (they encode 100 candidates per query).",
        ),
    ] = 3,
    latency_budget: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds for latency timing: after a warm-up, all systems are timed in rounds, "
            "interleaved, until each median settles (3 to 15 rounds) or the system has used its "
            "share of this budget.",
        ),
    ] = 180.0,
    stat_test: Annotated[
        Literal["student", "fisher"],
        typer.Option(help="Paired test: Student's t-test or Fisher's randomisation test."),
    ] = "student",
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
    cache: Annotated[
        Path | None,
        typer.Option(
            help="Folder caching corpus encodings between runs (keyed by model and texts)."
        ),
    ] = None,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    negation_probes: Annotated[
        int,
        typer.Option(
            min=0,
            help="Negation probe: for up to N judged queries, a negated twin of a relevant "
            "document (one claim's polarity flipped) is added to a copy of the corpus, and the "
            "report says how often each system ranks it above the original. 0 = off.",
        ),
    ] = 200,
) -> None:
    """Compare BM25, a bi-encoder, ColBERT (exact, PLAID 1/2/4-bit, pooling) and re-rankers.

    Everything runs on the same data through the same evaluation code as `plait evaluate`; the
    corpus is encoded by ColBERT once. Writes OUT/report.html (self-contained), OUT/report.md,
    OUT/results.json and the plots, and prints the verdict. The verdict states a difference between
    two systems only where their paired test on nDCG@10 is significant (p < 0.05); the report
    records the machine, its load and the package versions.

    \b
    Example:
      plait compare --data ../shared/data/scifact --out compare-scifact
    """
    quiet_libraries()
    from plait.compare import (
        ALL_SYSTEMS,
        CompareSettings,
        load_compare_data,
        run_compare,
        verdict,
        write_report,
    )

    if stat_test not in ("student", "fisher"):
        raise CliError(f"unknown --stat-test {stat_test!r}: use student or fisher")
    for name, path in (
        ("--model", model),
        ("--bi-encoder", bi_encoder),
        ("--cross-encoder", cross_encoder),
    ):
        if path is not None and not Path(path).exists():
            raise CliError(f"{name}: folder not found: {path}")
    chosen = _systems(systems)
    settings = CompareSettings(
        model=model,
        bi_encoder=bi_encoder,
        cross_encoder=cross_encoder,
        systems=tuple(chosen) if chosen is not None else ALL_SYSTEMS,
        latency_queries=latency_queries,
        rerank_latency_queries=rerank_latency_queries,
        latency_budget_s=latency_budget,
        batch_size=batch_size,
        stat_test=stat_test,
        device=device,
        cache=str(cache) if cache is not None else None,
        negation_probes=negation_probes,
    )
    started = time.perf_counter()
    dataset = load_compare_data(data, split=split, max_queries=max_queries)
    log = _log(started)

    def keep_report_current(partial: CompareResult) -> None:  # a report exists at any time
        write_report(partial, out)
        log(f"report updated: {out / 'report.html'}")

    result = run_compare(dataset, settings, log=log, on_update=keep_report_current)
    files = write_report(result, out)
    if as_json:
        echo_json({"verdict": verdict(result), "report": str(files["html"]), **result.to_dict()})
        return
    typer.echo(
        f"{result.data_name}: {result.n_documents} documents, {result.n_queries} queries, {result.total_s:.0f} s"
    )
    for sentence in verdict(result):
        typer.echo(f"- {sentence}")
    typer.echo(f"report: {files['html']} (and {files['markdown'].name}, {files['json'].name})")
