"""``plait encode``: texts to token embeddings (.npz / .npy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from plait.cli._common import CliError, load_model, progress_enabled, read_collection, timer


def _write(output: Path, ids: list[str], embeddings: list[Any]) -> str:
    import numpy as np

    arrays = [np.asarray(e, dtype=np.float32) for e in embeddings]
    if output.suffix == ".npy":
        if len({a.shape for a in arrays}) != 1:
            raise CliError(
                "texts have different token counts, so they do not fit one .npy array; "
                "write .npz instead (embeddings + lengths)"
            )
        np.save(output, np.stack(arrays))
        return f"array {tuple(np.stack(arrays).shape)}"
    if output.suffix != ".npz":
        raise CliError(f"--output must end in .npz or .npy, got {output.name!r}")
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
    np.savez(
        output,
        embeddings=np.concatenate(arrays, axis=0),
        lengths=lengths,
        ids=np.array(ids, dtype=np.str_),
    )
    return f"{len(arrays)} texts, {int(lengths.sum())} token vectors"


def _encode_on_ray(
    input: Path | None,
    output: Path | None,
    texts: list[str] | None,
    model: str | None,
    query: bool,
    batch_size: int,
    pool_factor: int,
    replicas: int,
    gpus_per_replica: float,
    shard_size: int,
    address: str | None,
) -> None:
    if texts or input is None or output is None:
        raise CliError(
            "--ray encodes --input FILE into an --output FOLDER (not texts as arguments)"
        )
    if output.suffix in {".npz", ".npy"}:
        raise CliError(f"--ray writes a shard folder; give a folder as --output, not {output.name}")
    if model is not None and not Path(model).exists():
        raise CliError(f"model folder not found: {model} (with --ray it must be a local folder)")
    try:
        from plait.distributed.encode import encode_corpus
    except ImportError as error:
        raise CliError(str(error)) from None

    def report(entry: dict[str, Any]) -> None:
        typer.echo(f"wrote {entry['name']}: {entry['n_tokens']} token vectors", err=True)

    result = encode_corpus(
        input,
        output,
        model=model,
        is_query=query,
        batch_size=batch_size,
        pool_factor=pool_factor,
        shard_size=shard_size,
        replicas=replicas,
        num_gpus=gpus_per_replica,
        address=address,
        on_shard=report,
    )
    typer.echo(
        f"wrote {output}: {result.n_documents} texts in {result.n_shards} shards "
        f"({result.shards_written} written, {result.shards_skipped} already complete), "
        f"{result.n_tokens} token vectors, {result.seconds:.1f}s"
    )


def command(
    texts: Annotated[
        list[str] | None, typer.Argument(help="Texts to encode (or use --input).")
    ] = None,
    input: Annotated[
        Path | None,
        typer.Option(
            "--input", "-i", help="A .txt (one text per line), corpus .jsonl or BEIR folder."
        ),
    ] = None,
    query: Annotated[
        bool,
        typer.Option(
            "--query/--document",
            help="Encode as queries ([Q] marker; [MASK] padding when the model expands queries) or documents.",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write .npz (embeddings, lengths, ids) or .npy (equal lengths)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Model folder (default: offline MiniLM ColBERT)."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
    pool_factor: Annotated[
        int, typer.Option(min=1, help="Pool document tokens by this factor.")
    ] = 1,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray", help="Encode on Ray (plait[ray]) into a resumable shard folder (--output)."
        ),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join (implies --ray; default: local)."),
    ] = None,
    replicas: Annotated[int, typer.Option(min=1, help="Model replicas (with --ray).")] = 1,
    gpus_per_replica: Annotated[
        float, typer.Option(min=0, help="GPUs per replica (with --ray; > 0 encodes on CUDA).")
    ] = 0.0,
    shard_size: Annotated[
        int, typer.Option(min=1, help="Documents per output shard (with --ray).")
    ] = 1000,
) -> None:
    """Encode texts into ColBERT token embeddings: one (n_tokens, dim) matrix per text.

    Without --output, prints each text's shape. The .npz holds `embeddings` (all token vectors
    stacked, float32), `lengths` (tokens per text; split with numpy.split(embeddings,
    lengths.cumsum()[:-1])) and `ids`.

    With --ray (or --ray-address), --input is encoded by --replicas model replicas on Ray into the
    folder --output, one .npz per --shard-size documents plus manifest.json; run the same command
    again after a crash to finish it (complete shards are kept).

    \b
    Examples:
      plait encode "what causes overfitting" --query
      plait encode -i corpus.jsonl -o corpus.npz
      plait encode -i scifact/ -o scifact-shards/ --ray --replicas 2
    """
    if ray or ray_address is not None:
        _encode_on_ray(
            input,
            output,
            texts,
            model,
            query,
            batch_size,
            pool_factor,
            replicas,
            gpus_per_replica,
            shard_size,
            ray_address,
        )
        return
    if texts and input is not None:
        raise CliError("give texts as arguments or --input, not both")
    if input is not None:
        ids, items = read_collection(input)
    elif texts:
        ids, items = [str(n) for n in range(len(texts))], list(texts)
    else:
        raise CliError("nothing to encode: give texts as arguments or --input FILE")
    if pool_factor > 1 and query:
        raise CliError("--pool-factor applies to documents only")
    timings: dict[str, float] = {}
    with timer(timings, "load model"):
        colbert = load_model(model, device)
    with timer(timings, "encode"):
        embeddings = colbert.encode(
            items,
            is_query=query,
            batch_size=batch_size,
            pool_factor=pool_factor,
            show_progress_bar=progress_enabled(),
        )
    if output is not None:
        summary = _write(output, ids, embeddings)
        typer.echo(f"wrote {output}: {summary}")
    else:
        for item_id, embedding in zip(ids, embeddings, strict=True):
            typer.echo(f"{item_id}\t{tuple(embedding.shape)}")
    rate = len(items) / max(timings["encode"], 1e-9)
    typer.echo(
        f"encoded {len(items)} texts in {timings['encode']:.2f}s ({rate:.1f} texts/s)", err=True
    )
