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
            "--query/--document", help="Encode as queries ([Q], [MASK]-expanded) or documents."
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
        typer.Option(metavar="PATH", help="Model folder (default: offline MiniLM ColBERT)."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Texts per forward pass.")] = 32,
    pool_factor: Annotated[
        int, typer.Option(min=1, help="Pool document tokens by this factor.")
    ] = 1,
    device: Annotated[
        str | None, typer.Option(metavar="DEVICE", help="torch device, e.g. cpu or cuda.")
    ] = None,
) -> None:
    """Encode texts into ColBERT token embeddings: one (n_tokens, dim) matrix per text.

    Without --output, prints each text's shape. The .npz holds `embeddings` (all token vectors
    stacked, float32), `lengths` (tokens per text; split with numpy.split(embeddings,
    lengths.cumsum()[:-1])) and `ids`.

    Examples:  plait encode "what causes overfitting" --query
               plait encode -i corpus.jsonl -o corpus.npz
    """
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
