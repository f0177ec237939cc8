"""``plait serve``: an HTTP API over one index (FastAPI + uvicorn, ``pip install "plait[server]"``)."""

from __future__ import annotations

import ipaddress
import math
import socket
from pathlib import Path
from typing import Annotated, Literal

import typer

from plait.cli._common import CliError, load_model, read_cli_meta


def is_loopback(host: str) -> bool:
    """Return whether only this machine can reach ``host`` (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
        except (OSError, ValueError):
            return False


def command(
    index: Annotated[
        Path | None,
        typer.Argument(
            metavar="index",
            show_default=False,
            help="Index folder to serve (from `plait index`, or a bare library index).",
        ),
    ] = None,
    index_option: Annotated[
        Path | None,
        typer.Option(
            "--index", hidden=True, help="The index folder (older spelling of the argument)."
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model folder for text endpoints (default: the one the index was built with)."
        ),
    ] = None,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Load no model: search and add take embeddings only.")
    ] = False,
    host: Annotated[
        str,
        typer.Option(
            help="Address to bind; anything but loopback exposes the index to the network."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar="PLAIT_API_KEY",
            help="Require this key in the X-API-Key header (or set PLAIT_API_KEY).",
        ),
    ] = None,
    read_only: Annotated[
        bool,
        typer.Option(
            "--read-only",
            help="Refuse writes, take no writer lock, and pick up other writers' commits.",
        ),
    ] = False,
    max_k: Annotated[int, typer.Option(min=1, help="Largest k a search may ask for.")] = 1000,
    max_texts: Annotated[
        int, typer.Option(min=1, help="Most texts (or embedding matrices) per request.")
    ] = 256,
    max_chars: Annotated[int, typer.Option(min=1, help="Most characters per text.")] = 20_000,
    max_filter_chars: Annotated[
        int,
        typer.Option(
            min=1, help="Most characters of a search filter (a SQL condition on metadata)."
        ),
    ] = 4_000,
    max_filter_params: Annotated[
        int, typer.Option(min=1, help="Most values in a search's filter_params.")
    ] = 100,
    header_timeout: Annotated[
        float,
        typer.Option(
            min=0.001,
            help="Seconds a client has to send a request's line and headers (408, closed).",
        ),
    ] = 10.0,
    body_timeout: Annotated[
        float,
        typer.Option(
            min=0.001, help="Seconds a client has to send a request's body (408, closed)."
        ),
    ] = 60.0,
    send_timeout: Annotated[
        float,
        typer.Option(
            min=0.001, help="Seconds a client may read nothing of its answer before it is closed."
        ),
    ] = 60.0,
    keep_alive_timeout: Annotated[
        float,
        typer.Option(min=0.001, help="Seconds an idle connection stays open between requests."),
    ] = 5.0,
    max_connections: Annotated[
        int, typer.Option(min=1, help="Open connections; more get 503 and are closed.")
    ] = 1000,
    max_requests: Annotated[
        int, typer.Option(min=1, help="Requests handled at once (/health aside); more get 503.")
    ] = 64,
    rate_limit: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Requests per second per client address (429 beyond it; off by default).",
        ),
    ] = None,
    refresh_interval: Annotated[
        float,
        typer.Option(
            min=0.0, help="--read-only: seconds between checks for other writers' commits."
        ),
    ] = 1.0,
    device: Annotated[str | None, typer.Option(help="torch device, e.g. cpu or cuda.")] = None,
    log_level: Annotated[
        Literal["critical", "error", "warning", "info", "debug"],
        typer.Option(help="uvicorn log level."),
    ] = "info",
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Sharded index: Ray cluster to join (e.g. auto); a local one is started without it."
        ),
    ] = None,
) -> None:
    """Serve an index over HTTP: search, add/upsert/delete documents, encode, health, stats.

    Binds 127.0.0.1 unless --host says otherwise. While it runs, the server holds the index's
    writer lock: a second server or `plait add` on the same index is refused (use the API, or
    --read-only servers, which pick up other writers' commits). OpenAPI docs at
    http://HOST:PORT/docs (they need the API key too, when one is set). Slow or idle clients are
    closed by the timeouts; docs/serving.md lists every limit.

    \b
    Example:
      plait serve ./scifact-index --port 8000
    """
    if index is not None and index_option is not None and index != index_option:
        raise CliError(f"two index folders given ({index} and --index {index_option}): give one")
    index = index if index is not None else index_option
    if index is None:
        raise CliError("give the index folder to serve: plait serve INDEX")
    from plait.extras import require_extra

    require_extra("server", "plait serve")
    from plait.cli.folder import follower, open_cli_index
    from plait.indexes.storage import IndexFolder
    from plait.server import Limits, create_app
    from plait.server.connections import ConnectionLimits, serve
    from plait.server.stats import index_path

    if rate_limit is not None and not 0 < rate_limit < math.inf:
        raise CliError(
            f"--rate-limit: rate_limit must be a positive number of requests per second, got {rate_limit}"
        )
    if not 0 <= refresh_interval < math.inf:
        raise CliError(
            f"--refresh-interval: must be a finite number of seconds >= 0, got {refresh_interval}"
        )
    connections = ConnectionLimits(  # checked before anything is opened or loaded
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        send_timeout=send_timeout,
        keep_alive_timeout=keep_alive_timeout,
        max_connections=max_connections,
    )
    served, built_with, _ = open_cli_index(index, ray=True, ray_address=ray_address)
    meta = read_cli_meta(index)
    folder = index_path(served)
    if not read_only and folder is not None:
        IndexFolder(
            folder
        ).hold_writer_lock()  # refuse now, before loading a model, if another writer runs
    colbert = None if no_model else load_model(model if model is not None else built_with, device)
    if not is_loopback(host) and api_key is None:
        what = "search the index" if read_only else "read and change the index"
        typer.echo(
            f"warning: serving on {host} without --api-key: anyone who can reach it can {what}",
            err=True,
        )
    app = create_app(
        served,
        colbert,
        api_key=api_key,
        limits=Limits(
            max_k=max_k,
            max_texts=max_texts,
            max_chars=max_chars,
            max_filter_chars=max_filter_chars,
            max_filter_params=max_filter_params,
        ),
        writable=not read_only,
        hold_writer_lock=False,  # held above for the whole process
        store_texts=bool((meta or {}).get("texts", True)),
        reopen=follower(index, ray=True, ray_address=ray_address) if read_only and meta else None,
        max_requests=max_requests,
        rate_limit=rate_limit,
        refresh_interval=refresh_interval,
    )
    typer.echo(
        f"serving {index} ({len(served)} documents) on http://{host}:{port}  (docs: /docs)",
        err=True,
    )
    if not serve(app, host=host, port=port, limits=connections, log_level=log_level):
        raise CliError(
            f"the server did not start on {host}:{port} (see the log above)", exit_code=1
        )
