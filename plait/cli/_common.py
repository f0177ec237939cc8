"""Helpers shared by CLI commands: errors, inputs, model and index opening, timing.

Only light imports at module level: every command module imports this one, and ``plait --help``
must not pay for torch. Heavy imports happen inside the functions.

Index folders written by ``plait index`` (``cli.json`` naming ``index-<hex>/``) are described, built
and opened by :mod:`plait.cli.folder`. ``plait search`` also opens a bare index folder (one holding
``manifest.json``) made by the library.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

CLI_META = "cli.json"
CLI_TEXTS = "documents.jsonl"  # layout 1 folders only: texts beside the index


class CliError(Exception):
    """An error shown as one line ``error: ...`` on stderr; ``exit_code`` 2 = bad input, 1 = failure."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(" ".join(str(message).split()))
        self.exit_code = exit_code


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input (exit 2); anything else is a runtime failure (exit 1)."""
    from plait.evaluation.beir import BeirFormatError

    return (BeirFormatError, ValueError, TypeError, FileNotFoundError, NotADirectoryError, KeyError)


def to_cli_error(error: Exception) -> CliError:
    """Translate a library exception into a :class:`CliError` (message kept, one line)."""
    if isinstance(error, CliError):
        return error
    from plait.extras import MissingExtraError

    if isinstance(error, MissingExtraError):
        return CliError(str(error), exit_code=1)
    message = str(error) or type(error).__name__
    if isinstance(error, KeyError) and error.args:
        message = str(error.args[0])
    if isinstance(error, user_error_types()):
        return CliError(message, exit_code=2)
    return CliError(f"{type(error).__name__}: {message}", exit_code=1)


@contextmanager
def timer(timings: dict[str, float], name: str) -> Iterator[None]:
    """Add the wall-clock seconds of the block to ``timings[name]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = timings.get(name, 0.0) + time.perf_counter() - start


def progress_enabled() -> bool:
    """Progress bars only when stderr is a terminal (kept out of logs and test output)."""
    return sys.stderr.isatty()


def quiet_libraries() -> None:
    """Keep transformers / sentence-transformers chatter off the terminal.

    Their progress bars (e.g. transformers' "Writing model shards") stay out of logs when stderr is
    not a terminal.
    """
    import logging

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("transformers", "sentence_transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if not progress_enabled():
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()
        except ImportError:  # pragma: no cover - transformers is a core dependency
            pass


def load_model(path: str | None, device: str | None = None) -> Any:
    """Load a ColBERT model (``None`` = the offline default) with one-line errors."""
    quiet_libraries()
    from plait.models import ColBERT

    if path is not None and not Path(path).exists() and ("/" in path or path.startswith(".")):
        raise CliError(f"model folder not found: {path}")
    return ColBERT(path, device=device) if path is not None else ColBERT(device=device)


def read_collection(source: Path) -> tuple[list[str], list[str]]:
    """``(ids, texts)`` from a BEIR folder, a corpus ``.jsonl[.gz]`` or a ``.txt`` (one per line).

    ``.txt`` lines get ids ``"1"``, ``"2"``, ... (line numbers); blank lines are skipped.
    """
    from plait.evaluation.beir import load_corpus

    if not source.exists():
        raise CliError(f"no such file or folder: {source}")
    if source.is_dir() or source.name.endswith((".jsonl", ".jsonl.gz")):
        documents = load_corpus(source)
        return [d["id"] for d in documents], [d["text"] for d in documents]
    try:
        lines = source.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise CliError(f"{source}: not UTF-8 text (give a .txt, .jsonl or BEIR folder)") from None
    pairs = [(str(n), line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    if not pairs:
        raise CliError(f"{source}: no text found")
    return [p[0] for p in pairs], [p[1] for p in pairs]


def read_metadata(source: Path, fields: str | None) -> list[dict[str, Any]] | None:
    """Return the metadata rows of a collection's records for ``--metadata-fields a,b``.

    ``None`` without the option. Only BEIR folders and ``.jsonl`` corpora have fields.
    """
    if fields is None:
        return None
    names = [f.strip() for f in fields.split(",") if f.strip()]
    if not names:
        raise CliError(
            "--metadata-fields is empty: name the record fields to keep, e.g. year,source"
        )
    if not (source.is_dir() or source.name.endswith((".jsonl", ".jsonl.gz"))):
        raise CliError(
            f"{source}: --metadata-fields needs a BEIR folder or a .jsonl corpus (a .txt has no fields)"
        )
    for name in names:
        if name in ("_id", "id", "text", "title"):
            raise CliError(f"--metadata-fields: {name!r} is the record's id or text, not metadata")
    from plait.evaluation.beir import load_corpus_metadata

    return load_corpus_metadata(source, names)


def parse_params(values: list[str] | None) -> list[Any]:
    """Return the ``--param`` values, each parsed as JSON when it is a JSON scalar.

    Scalars are ``2020``, ``1.5``, ``true``, ``null``, ``"quoted"``; anything else stays the string
    as given.
    """
    out: list[Any] = []
    for value in values or []:
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        out.append(
            parsed if isinstance(parsed, (str, int, float, bool)) or parsed is None else value
        )
    return out


def open_index(
    kind: str,
    folder: Path,
    name: str,
    override: bool,
    nbits: int = 2,
    *,
    shards: int = 4,
    ray: bool = False,
    ray_address: str | None = None,
) -> Any:
    """Open (or create) an Exact, PLAID or sharded PLAID index at ``folder/name``.

    A sharded index (``kind="sharded"``, ``shards`` for a new one) runs its shards in this process,
    or with ``ray`` on a Ray cluster (``ray_address`` joins one; without it a local one is started).
    """
    if kind == "sharded":
        from plait.distributed.sharded import ShardedPLAID

        backend = "ray" if ray else "local"
        return ShardedPLAID(
            folder,
            name,
            override,
            n_shards=shards,
            nbits=nbits,
            backend=backend,
            ray_address=ray_address,
        )
    if kind == "exact":
        from plait.indexes import Exact

        return Exact(index_folder=folder, index_name=name, override=override)
    if kind == "plaid":
        try:
            from plait.indexes import PLAID  # type: ignore[attr-defined]
        except ImportError:
            try:
                from plait.indexes.plaid import PLAID
            except ImportError:
                raise CliError(
                    "the PLAID index is not available in this build; use --exact"
                ) from None
        return PLAID(index_folder=folder, index_name=name, override=override, nbits=nbits)
    raise CliError(f"unknown index kind {kind!r}: use 'exact', 'plaid' or 'sharded'")


def read_cli_meta(path: Path) -> dict[str, Any] | None:
    """``INDEX/cli.json`` written by ``plait index``, or ``None`` for a bare library index."""
    meta = path / CLI_META
    if not meta.is_file():
        return None
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise CliError(f"{meta}: unreadable ({error})", exit_code=1) from None
    return data if isinstance(data, dict) else None


def handle_errors(function: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command: any exception becomes ``error: <one line>`` on stderr and exit code 2 or 1.

    ``PLAIT_DEBUG=1`` lets the traceback through. The signature is kept for typer.
    """

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            function(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            typer.echo("error: interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as error:
            if os.environ.get("PLAIT_DEBUG"):
                raise
            failure = to_cli_error(error)
            typer.echo(f"error: {failure}", err=True)
            raise typer.Exit(failure.exit_code) from None

    return wrapper


def echo_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def snippet(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
