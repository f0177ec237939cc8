"""``plait search``: query an index folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from plait.cli._common import CliError, echo_json, load_model, parse_params, snippet, timer
from plait.cli.folder import open_cli_index

__all__ = ["command", "open_cli_index", "search_texts"]


def search_texts(
    colbert: Any,
    index: Any,
    queries: list[str],
    k: int,
    batch_size: int = 32,
    subset: list[str] | None = None,
) -> list[Any]:
    """Encode ``queries`` and search ``index``: one :class:`SearchResult` per query."""
    embeddings = colbert.encode(
        queries, is_query=True, batch_size=batch_size, show_progress_bar=False
    )
    return list(index.search(embeddings, k=k, subset=subset))


def command(
    index_path: Annotated[
        Path, typer.Argument(metavar="index", help="Folder made by `plait index`.")
    ],
    queries: Annotated[list[str], typer.Argument(help="One or more query texts.")],
    k: Annotated[int, typer.Option("--k", "-k", min=1, help="Results per query.")] = 10,
    model: Annotated[
        str | None,
        typer.Option(help="Model folder (default: the one the index was built with)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: [{query, results: [{id, score, text}]}].")
    ] = False,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Sharded index: Ray cluster to join (e.g. auto); a local one is started without it.",
        ),
    ] = None,
    where: Annotated[
        str | None,
        typer.Option(
            help='Only documents whose metadata satisfy this SQL condition, e.g. "year >= ? AND '
            'source = ?" (plait index --metadata-fields; needs plait[metadata]).'
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="A value for the next ? of --where (repeat it); JSON scalars (2020, 1.5, true) are "
            "typed, anything else is a string.",
        ),
    ] = None,
) -> None:
    """Search an index with query texts; prints the top-k documents with MaxSim scores.

    A sharded index (plait index --shards N) is searched with one Ray actor per shard.

    \b
    Example:
      plait search ./scifact-index "vitamin D lowers fracture risk" -k 5
    """
    timings: dict[str, float] = {}
    params = parse_params(param)
    if where is None and params:
        raise CliError("--param needs --where (the condition its values fill in)")
    index, built_with, texts = open_cli_index(index_path, ray=True, ray_address=ray_address)
    if len(index) == 0:
        raise CliError(f"{index_path}: the index is empty")
    # evaluated once, before the model loads (a bad condition is refused at once); the matching
    # ids are the search's subset, as search(filter=...) would make them
    matching = None if where is None else index.filter_ids(where, params)
    with timer(timings, "load model"):
        colbert = load_model(model if model is not None else built_with, device)
    with timer(timings, "search"):
        results = search_texts(colbert, index, list(queries), k, subset=matching)
    if as_json:
        echo_json(
            [
                {
                    "query": query,
                    "results": [
                        {
                            "id": hit["id"],
                            "score": hit["score"],
                            **({"text": texts[hit["id"]]} if hit["id"] in texts else {}),
                        }
                        for hit in result.to_dicts()
                    ],
                }
                for query, result in zip(queries, results, strict=True)
            ]
        )
        return
    for query, result in zip(queries, results, strict=True):
        typer.echo(f"query: {query}")
        hits = result.to_dicts()
        width = max([len("id")] + [len(str(hit["id"])) for hit in hits])
        shown = any(hit["id"] in texts for hit in hits)
        typer.echo(f"  {'rank':>4}  {'id':<{width}}  {'MaxSim':>7}" + ("  text" if shown else ""))
        for rank, hit in enumerate(hits, start=1):
            text = f"  {snippet(texts[hit['id']])}" if hit["id"] in texts else ""
            typer.echo(f"  {rank:>4}  {hit['id']:<{width}}  {hit['score']:>7.3f}{text}")
    typer.echo(f"searched {len(index)} documents in {timings['search'] * 1000:.0f} ms", err=True)
