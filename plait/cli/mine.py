"""``plait mine``: hard negatives for a BEIR folder's training queries, written as JSONL."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from plait.cli._common import CliError, progress_enabled, quiet_libraries


def command(
    data: Annotated[Path, typer.Option(help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/.")],
    output: Annotated[Path, typer.Option(help="JSONL file to write the training rows to.")],
    split: Annotated[str, typer.Option(help="Qrels split whose pairs are mined.")] = "train",
    retriever: Annotated[
        str,
        typer.Option(
            help="bm25, biencoder (packaged MiniLM), colbert (default model) or a model folder."
        ),
    ] = "bm25",
    num_negatives: Annotated[int, typer.Option(min=1, help="Negatives per pair.")] = 1,
    range_min: Annotated[int, typer.Option(min=0, help="First rank to take from.")] = 0,
    range_max: Annotated[int, typer.Option(min=1, help="Rank to stop before.")] = 50,
    absolute_margin: Annotated[
        float | None,
        typer.Option(help="Skip candidates scored above positive - margin (likely positives)."),
    ] = None,
    relative_margin: Annotated[
        float | None,
        typer.Option(help="Skip candidates scored above positive * (1 - margin)."),
    ] = None,
    sampling: Annotated[
        Literal["top", "random"],
        typer.Option(help="Take the best-ranked candidates, or sample among them."),
    ] = "top",
    output_format: Annotated[
        Literal["n-tuple", "triplet"],
        typer.Option(help="negative_1..n in one row per pair, or one row per negative."),
    ] = "n-tuple",
    seed: Annotated[
        int, typer.Option(help="Seed for --sampling random and for ties between twin changes.")
    ] = 0,
    negations: Annotated[
        int,
        typer.Option(
            min=0,
            help="Also up to N negated twins of each positive as negatives: the positive with "
            "one claim's polarity flipped where the query matches ('has' -> 'does not have', "
            "'allowed' -> 'forbidden'; plait.training.negation). With n-tuple rows, mined "
            "negatives fill in for missing twins.",
        ),
    ] = 0,
) -> None:
    """Mine hard negatives for training.

    For each judged (query, positive) pair, the negatives are documents the retriever ranks high
    that are not judged relevant. Known positives are never returned.

    Rows are {"query", "positive", "negative"} (or negative_1..n), ready for plait train.

    \b
    Example:
      plait mine --data ../shared/data/scifact --output triplets.jsonl --num-negatives 2
      plait mine --data ../shared/data/scifact --output triplets.jsonl --negations 1
    """
    from plait.training.mining import OUTPUT_FORMATS, mine_hard_negatives

    if sampling not in ("top", "random"):  # typer checks the choices; library callers too
        raise CliError(f"unknown sampling {sampling!r}: use top or random")
    if output_format not in OUTPUT_FORMATS:
        raise CliError(f"unknown output format {output_format!r}: use n-tuple or triplet")
    if split == "test":
        typer.echo(
            "warning: mining training rows from the test split: a model trained on them can no "
            "longer be evaluated on that split (use train or dev)",
            err=True,
        )
    if range_max <= range_min:
        raise CliError(f"--range-max ({range_max}) must be greater than --range-min ({range_min})")
    quiet_libraries()
    rows = mine_hard_negatives(
        data,
        split=split,
        retriever=retriever,
        num_negatives=num_negatives,
        range_min=range_min,
        range_max=range_max,
        absolute_margin=absolute_margin,
        relative_margin=relative_margin,
        sampling=sampling,  # type: ignore[arg-type]
        output_format=output_format,  # type: ignore[arg-type]
        seed=seed,
        negations=negations,
        output_path=output,
        show_progress_bar=progress_enabled(),
    )
    typer.echo(f"wrote {len(rows)} rows to {output}")
