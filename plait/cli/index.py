"""``plait index``: build an index folder from a collection."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from plait.cli._common import (
    CliError,
    load_model,
    open_index,
    progress_enabled,
    read_collection,
    read_metadata,
    timer,
)
from plait.cli.folder import check_target, replace_index


def plaid_available() -> bool:
    """Return whether the PLAID index can be imported in this build."""
    try:
        from plait.indexes.plaid import PLAID  # noqa: F401
    except ImportError:
        return False
    return True


def build_index(
    ids: list[str],
    texts: list[str],
    path: Path,
    *,
    kind: str,
    model_path: str | None,
    colbert: Any,
    batch_size: int,
    override: bool,
    nbits: int = 2,
    keep_texts: bool = True,
    shards: int = 4,
    metadata: list[dict[str, Any]] | None = None,
) -> tuple[Any, dict[str, float]]:
    """Encode ``texts`` and write ``path`` in the CLI layout; return the index and timings.

    The layout is :mod:`plait.cli.folder`'s. An existing index stays readable until the new one is
    committed.
    """
    old = check_target(path, override)
    if len(set(ids)) != len(ids):
        raise CliError("the collection has duplicate document ids")
    timings: dict[str, float] = {}
    with timer(timings, "encode"):
        embeddings = colbert.encode(
            texts, is_query=False, batch_size=batch_size, show_progress_bar=progress_enabled()
        )
    meta = {
        "kind": kind,
        "model": None if model_path is None else str(Path(model_path).resolve()),
        "nbits": nbits if kind in ("plaid", "sharded") else None,
        **({"shards": shards} if kind == "sharded" else {}),
        "texts": keep_texts,
    }

    def fill(name: str) -> Any:
        index = open_index(kind, path, name, override=False, nbits=nbits, shards=shards)
        index.add_documents(ids, embeddings, texts=texts if keep_texts else None, metadata=metadata)
        return index

    with timer(timings, "index"):
        index = replace_index(path, meta, old, fill)
    return index, timings


def command(
    source: Annotated[
        Path,
        typer.Argument(
            help="Collection: BEIR folder, corpus .jsonl[.gz] ({_id|id, title?, text}) or .txt."
        ),
    ],
    index_path: Annotated[
        Path, typer.Argument(metavar="index", help="Folder to create for the index.")
    ],
    exact: Annotated[
        bool, typer.Option("--exact", help="Exhaustive exact index instead of PLAID.")
    ] = False,
    nbits: Annotated[
        Literal[1, 2, 4, 8], typer.Option(help="PLAID residual bits per dimension.")
    ] = 2,
    model: Annotated[
        str | None,
        typer.Option(help="Model folder (default: offline MiniLM ColBERT)."),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Documents per forward pass.")] = 32,
    override: Annotated[
        bool, typer.Option("--override", help="Replace an existing index at INDEX.")
    ] = False,
    no_texts: Annotated[
        bool,
        typer.Option(
            "--no-texts", help="Do not store document texts (search then shows ids only)."
        ),
    ] = False,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    shards: Annotated[
        int | None,
        typer.Option(
            min=1, help="Build a sharded PLAID index with this many shards (search it on Ray)."
        ),
    ] = None,
    metadata_fields: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated record fields to store as metadata (top level or under "
            "'metadata'), for plait search --where; needs plait[metadata]."
        ),
    ] = None,
) -> None:
    """Build an index over a collection, ready for `plait search`.

    PLAID (compressed, approximate) by default when available, --exact for exhaustive MaxSim.
    INDEX gets cli.json (model and settings) and index-<hex>/ (the index, texts included).
    With --override the old index stays searchable until the new one is complete.

    \b
    Example:
      plait index ../shared/data/scifact ./scifact-index --exact
    """
    kind = "exact" if exact else "plaid"
    if shards is not None:
        if exact:
            raise CliError(
                "--shards builds a sharded PLAID index; it cannot be combined with --exact"
            )
        kind = "sharded"
    if kind == "plaid" and not plaid_available():
        typer.echo("note: PLAID is not available in this build; building an exact index", err=True)
        kind = "exact"
    ids, texts = read_collection(source)
    metadata = read_metadata(source, metadata_fields)
    if metadata is not None:
        from plait.extras import require_extra

        require_extra("metadata", "plait index --metadata-fields")
    check_target(index_path, override)  # before the model loads: refusals come at once
    timings: dict[str, float] = {}
    with timer(timings, "load model"):
        colbert = load_model(model, device)
    _, build_timings = build_index(
        ids,
        texts,
        index_path,
        kind=kind,
        model_path=model,
        colbert=colbert,
        batch_size=batch_size,
        override=override,
        nbits=nbits,
        keep_texts=not no_texts,
        shards=shards or 4,
        metadata=metadata,
    )
    timings.update(build_timings)
    typer.echo(
        f"indexed {len(ids)} documents into {index_path} ({kind}): "
        + ", ".join(f"{name} {seconds:.2f}s" for name, seconds in timings.items())
    )
