"""``plait evaluate``: retrieval quality on a BEIR folder (ColBERT, BM25 or bi-encoder)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from plait.cli._common import CliError, echo_json, load_model, progress_enabled, quiet_libraries

RETRIEVERS = ("colbert", "bm25", "biencoder")


def make_retriever(
    name: str, model: str | None, index_kind: str, workdir: str, device: str | None
) -> Any:
    """Return a retriever with the seed's API, so every kind runs through one evaluation path."""
    if name == "bm25":
        from plait.baselines import BM25

        return BM25(show_progress_bar=progress_enabled())
    if name == "biencoder":
        quiet_libraries()
        from plait.baselines import BiEncoder

        return BiEncoder(model, device=device, show_progress_bar=progress_enabled())
    if name != "colbert":
        raise CliError(f"unknown retriever {name!r}: use one of {', '.join(RETRIEVERS)}")
    from plait import retrieve
    from plait.cli._common import open_index

    colbert = load_model(model, device)
    index = open_index(index_kind, Path(workdir), "index", override=True)
    return retrieve.ColBERT(index=index, model=colbert)


def command(
    data: Annotated[
        Path | None,
        typer.Option(
            help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv. With --negation: "
            "a negation set as JSON lines (default: plait's packaged dev set)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model folder: ColBERT (default offline MiniLM ColBERT) or, with --retriever biencoder, a sentence-transformers model."
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="Which qrels/<split>.tsv to score.")] = "test",
    retriever: Annotated[
        Literal["colbert", "bm25", "biencoder"],
        typer.Option(help="ColBERT, BM25 or the bi-encoder (packaged all-MiniLM-L6-v2)."),
    ] = "colbert",
    index: Annotated[
        Literal["exact", "plaid"], typer.Option(help="Index for ColBERT: exhaustive or PLAID.")
    ] = "exact",
    metrics: Annotated[
        str, typer.Option(help="Comma-separated metrics, e.g. ndcg@10,mrr@10,recall@100,map@100.")
    ] = "ndcg@10,mrr@10,recall@100",
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
    max_queries: Annotated[
        int | None,
        typer.Option(min=1, help="Score only the first N judged queries (a quick look)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    negation: Annotated[
        bool,
        typer.Option(
            "--negation",
            help="Measure negation instead: on (query, document, negated twin) triples, how often "
            "the document scores above its twin (pair accuracy) and its mean rank among all the "
            "set's documents. Default set: plait/data/negation_dev.jsonl.",
        ),
    ] = False,
    examples: Annotated[
        int,
        typer.Option(min=0, help="With --negation: show this many triples the model got wrong."),
    ] = 3,
) -> None:
    """Index a BEIR collection, run its judged queries and print nDCG@10, MRR@10, Recall@100.

    BM25, the bi-encoder and ColBERT go through one code path (same texts, same top-k, same metrics),
    so their numbers compare. Timings: load, index (encode + build), search.

    With --negation, scores plait's negation dev set (or --data FILE.jsonl) instead: pair accuracy
    (the document above its negated twin, ties count one half) and the mean rank of the document
    among all the set's documents, overall, per side (document / query negation) and per domain.

    \b
    Example:
      plait evaluate --data ../shared/data/scifact --retriever bm25
      plait evaluate --negation --retriever biencoder
    """
    from plait.evaluation import evaluate_retriever, load_beir
    from plait.evaluation.metrics import max_cutoff

    if retriever not in RETRIEVERS:
        raise CliError(f"unknown retriever {retriever!r}: use one of {', '.join(RETRIEVERS)}")
    if index not in ("exact", "plaid"):
        raise CliError(f"unknown index {index!r}: use exact or plaid")
    if retriever == "bm25":
        from plait.extras import require_extra

        require_extra("bm25", "plait evaluate --retriever bm25")
    if negation:
        _negation(data, retriever, model, index, batch_size, as_json, device, examples)
        return
    if data is None:
        raise CliError("--data is required: a BEIR folder (or use --negation)")
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    max_cutoff(names)  # an unknown metric name is refused before any data is read
    documents, queries, qrels = load_beir(data, split=split)
    if max_queries is not None:
        queries = queries[:max_queries]
        qrels = {q["id"]: qrels[q["id"]] for q in queries}
    with tempfile.TemporaryDirectory(prefix="plait-evaluate-") as workdir:
        system = make_retriever(retriever, model, index, workdir, device)
        result = evaluate_retriever(
            system,
            documents,
            queries,
            qrels,
            metrics=names,
            batch_size=batch_size,
            show_progress_bar=progress_enabled(),
        )
    label = retriever if retriever != "colbert" else f"colbert ({index})"
    if as_json:
        echo_json({"data": str(data), "split": split, "retriever": label, **result.to_dict()})
        return
    typer.echo(
        f"{data} [{split}] {result.n_documents} documents, {result.n_queries} queries, {label}"
    )
    for name, value in result.metrics.items():
        typer.echo(f"  {name:<12} {value:.4f}")
    typer.echo(
        f"  index {result.timings['index_s']:.1f}s, search {result.timings['search_s']:.1f}s "
        f"({result.timings['ms_per_query']:.1f} ms/query)"
    )


def _negation(
    data: Path | None,
    retriever: str,
    model: str | None,
    index: str,
    batch_size: int,
    as_json: bool,
    device: str | None,
    examples: int,
) -> None:
    """``plait evaluate --negation``: the negation set through the same retrievers."""
    from plait.data import negation_dev_path
    from plait.evaluation import evaluate_negation, load_negation_triples

    path = data if data is not None else negation_dev_path()
    if not path.is_file():
        raise CliError(f"--data with --negation: not a file: {path}")
    try:
        triples = load_negation_triples(path)
    except ValueError as error:
        raise CliError(str(error)) from None
    if not triples:
        raise CliError(f"{path}: no triples")
    with tempfile.TemporaryDirectory(prefix="plait-evaluate-") as workdir:
        if retriever == "colbert" and index == "exact":  # exact MaxSim, no index needed
            system = load_model(model, device)
        else:
            system = make_retriever(retriever, model, index, workdir, device)
        result = evaluate_negation(system, triples, batch_size=batch_size)
    label = retriever if retriever != "colbert" else f"colbert ({index})"
    if as_json:
        echo_json({"data": str(path), "retriever": label, **result.to_dict()})
        return
    sides = {name[5:]: int(g["n"]) for name, g in result.groups.items() if name.startswith("side:")}
    shown = ", ".join(f"{n} {side}-side" for side, n in sides.items())
    typer.echo(
        f"{path}: {result.n_triples} triples ({shown}), {result.n_documents} documents, {label}"
    )
    typer.echo(
        f"  pair accuracy  {result.pair_accuracy:.3f}  (document above its negated twin; "
        f"{result.ties} ties, counted 1/2)"
    )
    typer.echo(
        f"  mean rank      {result.mean_rank:.2f}   of the document among all "
        f"{result.n_documents} (first in {100 * result.top1:.0f}%)"
    )
    for name, group in result.groups.items():
        typer.echo(
            f"  {name:<17}{group['pair_accuracy']:.3f}  rank {group['mean_rank']:.2f}  "
            f"({int(group['n'])} triples)"
        )
    failures = result.failures()[:examples]
    if failures:
        typer.echo("  the twin scored at least as high:")
    for failure in failures:
        typer.echo(f"    [{failure['id']}] {failure['query']}")
        typer.echo(f"      + {failure['positive_score']:.3f}  {failure['positive']}")
        typer.echo(f"      - {failure['negative_score']:.3f}  {failure['negative']}")
