"""``plait remove``: remove documents by id from an index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from plait.cli._common import CliError, echo_json


def _read_ids(ids: list[str], ids_file: Path | None) -> list[str]:
    wanted = list(ids)
    if ids_file is not None:
        if not ids_file.is_file():
            raise CliError(f"no such file: {ids_file}")
        wanted += [
            line.strip()
            for line in ids_file.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    if not wanted:
        raise CliError("no ids to remove: give them as arguments or with --ids-file")
    return list(dict.fromkeys(wanted))


def command(
    index_path: Annotated[
        Path,
        typer.Argument(
            metavar="index", help="Index folder (from `plait index`, or a bare library index)."
        ),
    ],
    ids: Annotated[list[str] | None, typer.Argument(help="Document ids to remove.")] = None,
    ids_file: Annotated[
        Path | None, typer.Option("--ids-file", help="A file with one id per line.")
    ] = None,
    missing_ok: Annotated[
        bool,
        typer.Option(
            "--missing-ok",
            help="Skip ids the index does not hold (default: refuse, remove nothing).",
        ),
    ] = False,
    compact: Annotated[
        bool, typer.Option("--compact", help="Also rewrite the index without removed documents.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {removed, missing, documents} as JSON.")
    ] = False,
) -> None:
    """Remove documents from an index in one atomic commit (all of them or none).

    An unknown id fails the command (exit 2) and nothing is removed, unless --missing-ok.
    Removed documents stop matching at once; --compact also reclaims their disk space.

    \b
    Example:
      plait remove ./scifact-index 4983 5836 --compact
    """
    from plait.cli.add import holding_writer_lock
    from plait.cli.search import open_cli_index

    wanted = _read_ids(ids or [], ids_file)
    index, _, _ = open_cli_index(index_path)
    with holding_writer_lock(index):
        _remove(index, index_path, wanted, missing_ok, compact, as_json)


def _remove(
    index: Any, index_path: Path, wanted: list[str], missing_ok: bool, compact: bool, as_json: bool
) -> None:
    missing = [doc_id for doc_id in wanted if doc_id not in index]
    if missing and not missing_ok:
        raise CliError(
            f"{len(missing)} id(s) not in the index: {missing[:10]}; nothing removed (--missing-ok skips them)"
        )
    present = [doc_id for doc_id in wanted if doc_id in index]
    if present:
        index.remove_documents(present)
    if compact and hasattr(index, "compact"):
        index.compact()
    if as_json:
        echo_json({"removed": len(present), "missing": missing, "documents": len(index)})
        return
    skipped = f", skipped {len(missing)} unknown" if missing else ""
    typer.echo(f"removed {len(present)} documents from {index_path}{skipped} (now {len(index)})")
