"""``plait migrate-index``: a fast-plaid or PyLate index folder into a plait PLAID index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from plait.cli._common import CliError, echo_json


def command(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="source",
            help="A fast-plaid index folder, or a PyLate PLAID index folder (fast-plaid backend).",
        ),
    ],
    target: Annotated[
        Path, typer.Argument(metavar="target", help="The plait index folder to write.")
    ],
    ids_file: Annotated[
        Path | None,
        typer.Option(
            "--ids-file",
            help="One id per line, in fast-plaid's document order (a bare fast-plaid folder "
            "numbers its documents; a PyLate folder keeps its own ids).",
        ),
    ] = None,
    override: Annotated[
        bool, typer.Option("--override", help="Replace a plait index already at TARGET.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Convert an index without re-encoding: same centroids, buckets and codes.

    The migrated index searches like the source (its tokens decode to the same vectors) and is a
    plait index from then on: add, remove, search, serve. Search it with the model that encoded
    the documents (plait search TARGET QUERY --model MODEL). The source folder is only read.

    \b
    Example:
      plait migrate-index ./indexes/scifact ./scifact-plait
      plait search ./scifact-plait "what causes scurvy" --model ./my-colbert
    """
    from plait.indexes.migrate import migrate_index

    if target.resolve() == source.resolve():
        raise CliError("TARGET must be another folder than SOURCE (the source is never written)")
    ids = None
    if ids_file is not None:
        if not ids_file.is_file():
            raise CliError(f"no such file: {ids_file}")
        ids = [line.strip() for line in ids_file.read_text(encoding="utf-8").splitlines()]
        ids = [i for i in ids if i]
    report = migrate_index(source, target.parent, target.name, ids=ids, override=override)
    if as_json:
        echo_json(report.to_dict())
        return
    typer.echo(
        f"migrated {report.kind} ({report.documents:,} documents, {report.tokens:,} tokens, "
        f"nbits={report.nbits}, {report.n_centroids:,} centroids) to {report.target} in "
        f"{report.seconds:.1f}s, without re-encoding"
    )
