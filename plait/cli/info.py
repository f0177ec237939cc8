"""``plait info``: what an index folder holds (format, counts, dimension, bytes on disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from plait.cli._common import echo_json, read_cli_meta

_ORDER = (
    "format",
    "version",
    "documents",
    "dim",
    "dtype",
    "nbits",
    "n_centroids",
    "tokens",
    "stored_tokens",
    "deleted_documents",
    "segments",
    "generation",
    "disk_bytes",
    "bytes_per_token",
    "model",
    "path",
)


def _human(value: Any, key: str) -> str:
    if key == "disk_bytes" and isinstance(value, int):
        for unit in ("B", "KiB", "MiB", "GiB"):
            if value < 1024 or unit == "GiB":
                return f"{value} B" if unit == "B" else f"{value:.1f} {unit}"
            value /= 1024  # type: ignore[assignment]
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def command(
    index_path: Annotated[
        Path,
        typer.Argument(
            metavar="index", help="Index folder (from `plait index`, or a bare library index)."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the statistics as one JSON object.")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify", help="Also check every file's size and CRC-32 (exit 1 if corrupted)."
        ),
    ] = False,
) -> None:
    """Show index statistics: format, documents, dimension, nbits, tokens, bytes on disk, bytes per token.

    Opening the index already checks that every file is present with its recorded size;
    --verify also reads every byte to check checksums. Exit codes: 0 ok, 1 corrupted, 2 bad path.

    \b
    Example:
      plait info ./scifact-index --json
    """
    from plait.cli.search import open_cli_index
    from plait.server.stats import index_stats

    index, built_with, _ = open_cli_index(index_path)
    stats = index_stats(index)
    meta = read_cli_meta(index_path)
    if meta is not None:
        stats["model"] = built_with or "default"
    columns = getattr(index, "metadata_schema", None)
    if columns:
        stats["metadata_columns"] = dict(sorted(columns.items()))
    if verify:
        index.verify()
        stats["verified"] = True
    if as_json:
        echo_json(stats)
        return
    keys = [k for k in _ORDER if stats.get(k) is not None]
    keys += sorted(k for k in stats if k not in _ORDER and stats[k] is not None)
    width = max(len(k) for k in keys)
    for key in keys:
        typer.echo(f"{key:<{width}}  {_human(stats[key], key)}")
