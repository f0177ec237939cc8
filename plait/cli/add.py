"""``plait add``: add or upsert documents from a collection file into an existing index."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from plait.cli._common import (
    CliError,
    echo_json,
    load_model,
    progress_enabled,
    read_cli_meta,
    read_collection,
    read_metadata,
    timer,
)
from plait.cli.folder import holding_index_lock


@contextmanager
def holding_writer_lock(index: Any) -> Iterator[None]:
    """Take an on-disk index's writer lock for the whole command, released at the end.

    A running server (or another writer) is then reported before any encoding work.
    """
    from plait.server.stats import index_path

    with holding_index_lock(index_path(index)):
        yield


def command(
    index_path: Annotated[
        Path,
        typer.Argument(
            metavar="index", help="Index folder (from `plait index`, or a bare library index)."
        ),
    ],
    source: Annotated[
        Path,
        typer.Argument(
            help="Documents: BEIR folder, corpus .jsonl[.gz] ({_id|id, title?, text}) or .txt (one per line)."
        ),
    ],
    upsert: Annotated[
        bool,
        typer.Option(
            "--upsert",
            help="Replace documents whose ids are already in the index (default: refuse).",
        ),
    ] = False,
    model: Annotated[
        str | None, typer.Option(help="Model folder (default: the one the index was built with).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Documents per forward pass.")] = 32,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {added, replaced, documents, seconds} as JSON.")
    ] = False,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    metadata_fields: Annotated[
        str | None,
        typer.Option(help="Comma-separated record fields to store as metadata (see plait index)."),
    ] = None,
) -> None:
    """Add documents to an index; each run is one atomic commit (all documents or none).

    Ids already in the index are refused (exit 2) unless --upsert. A server holding the index
    (plait serve) keeps other writers out: add through its HTTP API instead.

    \b
    Example:
      plait add ./scifact-index new-docs.jsonl --upsert
    """
    from plait.cli.search import open_cli_index

    index, built_with, _ = open_cli_index(index_path)
    with holding_writer_lock(index):
        _add(
            index,
            index_path,
            source,
            built_with,
            upsert,
            model,
            batch_size,
            as_json,
            device,
            metadata_fields,
        )


def _add(
    index: Any,
    index_path: Path,
    source: Path,
    built_with: str | None,
    upsert: bool,
    model: str | None,
    batch_size: int,
    as_json: bool,
    device: str | None,
    metadata_fields: str | None,
) -> None:
    ids, texts = read_collection(source)
    metadata = read_metadata(source, metadata_fields)
    if len(set(ids)) != len(ids):
        raise CliError(f"{source} has duplicate document ids")
    existing = [doc_id for doc_id in ids if doc_id in index]
    if existing and not upsert:
        raise CliError(
            f"{len(existing)} id(s) already in the index: {existing[:10]}; pass --upsert to replace them"
        )
    timings: dict[str, float] = {}
    with timer(timings, "load model"):
        colbert = load_model(model if model is not None else built_with, device)
    with timer(timings, "encode"):
        embeddings = colbert.encode(
            texts, is_query=False, batch_size=batch_size, show_progress_bar=progress_enabled()
        )
    keep_texts = (read_cli_meta(index_path) or {}).get("texts", True)
    with timer(timings, "index"):  # texts are committed with the vectors: one atomic write
        index.add_documents(
            ids, embeddings, replace=upsert, texts=texts if keep_texts else None, metadata=metadata
        )
    report: dict[str, Any] = {
        "added": len(ids) - len(existing),
        "replaced": len(existing),
        "documents": len(index),
    }
    codebook = getattr(index, "last_add", None)  # PLAID: what the add did to its codebook
    if codebook is not None:
        report["codebook"] = codebook.to_dict()
    if as_json:
        echo_json({**report, "seconds": {k: round(v, 3) for k, v in timings.items()}})
        return
    typer.echo(
        f"added {report['added']}, replaced {report['replaced']} documents in {index_path} "
        f"(now {report['documents']}): " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items())
    )
    if codebook is not None and (codebook.new_centroids or not codebook.codec_fits):
        typer.echo(f"codebook: {codebook.summary()}")
