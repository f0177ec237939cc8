"""``plait train``: fine-tune a ColBERT model on triplets or a BEIR folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plait.cli._common import CliError, echo_json, progress_enabled, quiet_libraries


def command(
    data: Annotated[
        Path,
        typer.Option(
            help="JSONL rows ({query, positive, negative[_n]}; distillation: {query, documents, "
            "scores}) or a BEIR folder (hard negatives mined on its train split)."
        ),
    ],
    output: Annotated[Path, typer.Option(help="Folder to save the trained model to.")],
    model: Annotated[
        str | None,
        typer.Option(
            help="Base model folder (ColBERT or any HF encoder). Default: the packaged "
            "all-MiniLM-L6-v2 with a fresh projection."
        ),
    ] = None,
    loss: Annotated[
        str, typer.Option(help="contrastive, cached-contrastive or distillation.")
    ] = "contrastive",
    batch_size: Annotated[int, typer.Option(min=1, help="Queries per step.")] = 32,
    epochs: Annotated[float, typer.Option(min=0, help="Passes over the data.")] = 1.0,
    lr: Annotated[float, typer.Option(min=0, help="Peak learning rate (linear decay).")] = 5e-5,
    warmup_ratio: Annotated[
        float, typer.Option(min=0, max=0.99, help="Warm-up share of steps.")
    ] = 0.0,
    temperature: Annotated[float, typer.Option(help="Contrastive softmax temperature.")] = 1.0,
    mini_batch_size: Annotated[
        int, typer.Option(min=1, help="Texts per forward pass (cached-contrastive).")
    ] = 8,
    embedding_size: Annotated[
        int | None, typer.Option(min=1, help="Size of a fresh projection (default 128).")
    ] = None,
    num_negatives: Annotated[
        int, typer.Option(min=1, help="Mined negatives per pair (BEIR folder data).")
    ] = 2,
    mining_format: Annotated[
        str,
        typer.Option(
            help="Mined rows (BEIR folder data): triplet (one row per negative, as "
            "sentence-transformers' miner writes by default) or n-tuple (negative_1..n per row)."
        ),
    ] = "triplet",
    retriever: Annotated[
        str, typer.Option(help="Miner for BEIR folder data: bm25, biencoder, colbert or a folder.")
    ] = "bm25",
    eval_data: Annotated[
        Path | None, typer.Option(help="BEIR folder to evaluate on (nDCG@10, exact search).")
    ] = None,
    eval_split: Annotated[str, typer.Option(help="Qrels split of --eval-data.")] = "test",
    eval_steps: Annotated[
        int | None, typer.Option(min=1, help="Evaluate every N steps (and always at the end).")
    ] = None,
    eval_max_queries: Annotated[
        int | None, typer.Option(min=1, help="Evaluate periodically on the first N queries only.")
    ] = None,
    trainable_layers: Annotated[
        int | None,
        typer.Option(min=0, help="Train only the top N encoder layers (+ projection, markers)."),
    ] = None,
    query_length: Annotated[
        int | None, typer.Option(min=3, help="Query length in tokens (default: the model's).")
    ] = None,
    document_length: Annotated[
        int | None, typer.Option(min=3, help="Document length in tokens (default: the model's).")
    ] = None,
    query_expansion: Annotated[
        bool | None,
        typer.Option(
            "--query-expansion/--no-query-expansion",
            help="Pad queries with [MASK] to --query-length (default: the model's setting).",
        ),
    ] = None,
    teacher: Annotated[
        str | None,
        typer.Option(
            help="Also distil a single-vector teacher's in-batch scores (contrastive loss): "
            "'biencoder' (the packaged all-MiniLM-L6-v2) or a sentence-transformers folder. "
            "Keeps the model closer to the teacher outside the training domain."
        ),
    ] = None,
    teacher_weight: Annotated[
        float, typer.Option(min=0, help="Weight of the teacher's KL term (with --teacher).")
    ] = 1.0,
    teacher_lexical_weight: Annotated[
        float,
        typer.Option(
            min=0,
            max=1,
            help="Share of BM25 in the teacher's scores (with --teacher): each query's BM25 "
            "scores over the batch are scaled to the teacher's range and mixed in, so the "
            "student also learns the lexical view. 0 = the dense teacher only.",
        ),
    ] = 0.0,
    pseudo_queries: Annotated[
        str | None,
        typer.Option(
            help="Add unlabelled rows from the --data folder's corpus: 'title' makes each "
            "document's title a query for its body (title removed), with negatives mined like "
            "the labelled rows. Mostly useful with --teacher (more distillation data).",
        ),
    ] = None,
    pseudo_query_negatives: Annotated[
        int, typer.Option(min=1, help="Hard negatives per pseudo-query (--pseudo-queries).")
    ] = 1,
    pseudo_query_limit: Annotated[
        int | None,
        typer.Option(min=1, help="Use at most N pseudo-queries (a seeded random sample)."),
    ] = None,
    negation_negatives: Annotated[
        int,
        typer.Option(
            min=0,
            help="Also up to N negated twins of each positive as negatives (the positive with "
            "one claim's polarity flipped: 'has' -> 'does not have', 'allowed' -> 'forbidden'; "
            "plait.training.negation). 0 = none.",
        ),
    ] = 0,
    max_steps: Annotated[int, typer.Option(help="Stop after N steps (overrides epochs).")] = -1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Fine-tune a ColBERT model with the sentence-transformers trainer.

    The model is saved to --output (plait.models.ColBERT(OUTPUT) loads it); with --eval-data the
    command reports nDCG@10.

    \b
    Example:
      plait train --data ../shared/data/scifact --output scifact-colbert --epochs 5 --eval-data ../shared/data/scifact
    """
    from dataclasses import asdict

    from plait.extras import require_extra

    require_extra("train", "plait train")  # before any argument check or data loading
    from plait.training.mining import OUTPUT_FORMATS
    from plait.training.train import LOSSES, TrainConfig, train

    if mining_format not in OUTPUT_FORMATS:
        raise CliError(f"unknown mining format {mining_format!r}: use triplet or n-tuple")
    if loss not in LOSSES:
        raise CliError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")
    if model is not None and not Path(model).exists():
        raise CliError(f"model folder not found: {model}")
    quiet_libraries()
    config = TrainConfig(
        data=str(data),
        output=str(output),
        model=model,
        loss=loss,  # type: ignore[arg-type]
        batch_size=batch_size,
        epochs=epochs,
        learning_rate=lr,
        warmup_ratio=warmup_ratio,
        temperature=temperature,
        mini_batch_size=mini_batch_size,
        embedding_size=embedding_size,
        num_negatives=num_negatives,
        mining_format=mining_format,  # type: ignore[arg-type]
        retriever=retriever,
        eval_data=str(eval_data) if eval_data else None,
        eval_split=eval_split,
        eval_steps=eval_steps,
        eval_max_queries=eval_max_queries,
        trainable_layers=trainable_layers,
        query_length=query_length,
        document_length=document_length,
        query_expansion=query_expansion,
        teacher=teacher,
        teacher_weight=teacher_weight,
        teacher_lexical_weight=teacher_lexical_weight,
        pseudo_queries=pseudo_queries,
        pseudo_query_negatives=pseudo_query_negatives,
        pseudo_query_limit=pseudo_query_limit,
        negation_negatives=negation_negatives,
        max_steps=max_steps,
        seed=seed,
        show_progress_bar=progress_enabled() and not as_json,  # no bars in logs or pipes
    )
    result = train(config)
    if as_json:
        echo_json(asdict(result))
        return
    typer.echo(
        f"saved {output} ({result.train_rows} rows, {result.steps} steps, "
        f"{result.train_seconds:.0f}s, {result.samples_per_second:.1f} samples/s)"
    )
    for name, value in result.metrics.items():
        typer.echo(f"  {name:<24} {value:.4f}")
