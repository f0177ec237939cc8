"""The HTTP server around the app: timeouts and a connection limit that slow clients cannot outlast.

uvicorn bounds only the idle time between two requests on a connection (``timeout_keep_alive``).
A client that connects and sends nothing, or sends its headers or body a byte at a time, or never
reads its answer, holds a connection (and a file descriptor) for ever; enough of them exhaust the
descriptor limit, after which nobody, ``/health`` included, gets an answer. :class:`GuardedH11Protocol`
(uvicorn's h11 protocol with timers) closes such connections:

- **headers**: the request line and headers must arrive within ``header_timeout`` seconds of the
  connection opening (or, on a kept-alive connection, of the next request's first byte);
- **body**: the whole body within ``body_timeout`` seconds of the headers;
- **send**: a client that reads nothing of a pending answer for ``send_timeout`` seconds;
- **keep-alive**: an idle connection between requests after ``keep_alive_timeout`` seconds;
- **connections**: above ``max_connections`` open connections a new one is answered 503 at once.

A timed-out request that has no answer yet gets ``408``; then the connection is closed. The file
descriptor limit is raised to fit ``max_connections`` (or the limit is lowered to fit it), so the
server never runs out of descriptors. :class:`RepeatFilter` keeps a flood of identical warnings
from filling the log. :func:`serve` runs an app with all of this.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import threading
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger("plait.server")

FD_RESERVE = 128
"""File descriptors kept free beyond ``max_connections``: index files, logs, the event loop, and
connections accepted in one burst (at most :data:`BACKLOG`) before the limit closes them."""

BACKLOG = 64
"""Listen backlog: pending connections the kernel queues (uvicorn's default is 2048)."""


@dataclass(frozen=True)
class ConnectionLimits:
    """Timeouts (seconds) and the connection limit of the HTTP server (see the module docstring)."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    send_timeout: float = 60.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 1000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 < value < float("inf")
            ):
                raise ValueError(
                    f"ConnectionLimits.{field.name} must be a positive number, got {value!r}"
                )
        if not isinstance(self.max_connections, int):
            raise ValueError(
                f"ConnectionLimits.max_connections must be an integer, got {self.max_connections!r}"
            )


def _raw_answer(status: int, reason: str, detail: str) -> bytes:
    body = json.dumps({"detail": detail}).encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header, body and send timeouts and a connection limit.

    Subclass it with ``limits`` set (:func:`protocol_class`); uvicorn creates one per connection.
    """

    limits: ConnectionLimits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.limits.keep_alive_timeout  # type: ignore[assignment]
        self._timer: asyncio.TimerHandle | None = None
        self._waiting_for: str | None = None  # "headers" or "body" while its timer runs
        self._started_request = False  # a byte of the current request has arrived
        self._send_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ uvicorn's hooks
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Refuse the connection (503) beyond ``max_connections``, else start the header timer."""
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            limit = self.limits.max_connections
            logger.warning(
                "refused a connection: %d connections are open (limit %d)",
                len(self.connections) - 1,
                limit,
            )
            transport.write(
                _raw_answer(
                    503,
                    "Service Unavailable",
                    f"too many open connections (limit {limit}); retry later",
                )
            )
            transport.close()
            return
        self._wait_for("headers")

    def data_received(self, data: bytes) -> None:
        """Feed ``data`` to uvicorn, then move the timers along with the request's state."""
        if self.conn.their_state is h11.IDLE and self._waiting_for is None:
            self._wait_for("headers")  # a new request on a kept-alive connection
        self._started_request = True
        super().data_received(data)
        self._follow_request()

    def on_response_complete(self) -> None:
        """Stop this request's timers once the response is sent (keep-alive waits from here)."""
        super().on_response_complete()  # arms the keep-alive timer, may start a pipelined request
        if self.conn.their_state is h11.IDLE:
            self._cancel()
            self._started_request = False
        self._follow_request()

    def connection_lost(self, exc: Exception | None) -> None:
        """Cancel every timer of the connection, then let uvicorn clean up."""
        self._cancel()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        """Start the send timer: a client that reads nothing for ``send_timeout`` is dropped."""
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.limits.send_timeout, self._send_expired)

    def resume_writing(self) -> None:
        """Stop the send timer (the client reads again)."""
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    # ------------------------------------------------------------------ timers
    def _follow_request(self) -> None:
        """Headers done: the body's timer runs; body done: no timer (the app's time is its own)."""
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._waiting_for != "body":
                self._wait_for("body")
        elif state is not h11.IDLE:
            self._cancel()

    def _wait_for(self, part: str) -> None:
        self._cancel()
        seconds = self.limits.header_timeout if part == "headers" else self.limits.body_timeout
        self._waiting_for = part
        self._timer = self.loop.call_later(seconds, self._expired, part, seconds)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._waiting_for = None, None

    def _expired(self, part: str, seconds: float) -> None:
        self._timer, self._waiting_for = None, None
        if self.transport.is_closing():
            return
        client = self._peer()
        cycle = self.cycle if part == "body" else None
        if part == "headers" and not self._started_request:
            logger.info("closed an idle connection from %s after %g s", client, seconds)
        else:
            logger.warning(
                "closed the connection from %s: request %s not received within %g s",
                client,
                part,
                seconds,
            )
            if cycle is None or not cycle.response_started:
                detail = f"request {part} not received within {seconds:g} s"
                self.transport.write(_raw_answer(408, "Request Timeout", detail))
        if cycle is not None:  # the app, waiting for the rest of the body, sees a disconnect
            cycle.response_started = cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    def _peer(self) -> str:
        return f"{self.client[0]}:{self.client[1]}" if self.client else "a client"

    def _send_expired(self) -> None:
        self._send_timer = None
        logger.warning(
            "closed the connection from %s: it read nothing of its answer for %g s",
            self._peer(),
            self.limits.send_timeout,
        )
        self.transport.abort()


def protocol_class(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """Return a :class:`GuardedH11Protocol` subclass bound to ``limits`` (uvicorn's ``http=``)."""
    return type("PlaitH11Protocol", (GuardedH11Protocol,), {"limits": limits})


def fit_descriptor_limit(max_connections: int) -> int:
    """Raise the soft file descriptor limit to fit ``max_connections`` plus :data:`FD_RESERVE`.

    Returns the number of connections that fit: ``max_connections``, or fewer (with a warning)
    when the hard limit is too low to raise the soft one that far.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections
    fitted = max(1, soft - FD_RESERVE, soft // 2)
    logger.warning(
        "the file descriptor limit is %d (hard limit %d): serving at most %d connections instead of %d",
        soft,
        hard,
        fitted,
        max_connections,
    )
    return fitted


class RepeatFilter(logging.Filter):
    """Let through at most ``burst`` similar records per ``window`` seconds.

    Records are similar when they have the same logger, level and message template; the first
    record after a quiet spell says how many were dropped.

    Only warnings and errors are limited (access and info lines pass). Thread-safe.
    """

    def __init__(self, burst: int = 5, window: float = 60.0, max_keys: int = 1000) -> None:
        super().__init__()
        self.burst, self.window, self.max_keys = burst, window, max_keys
        self._seen: dict[
            tuple[str, int, str], list[float | int]
        ] = {}  # key -> [window start, count, dropped]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether ``record`` is logged (warnings and errors beyond ``burst`` are not)."""
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = time.monotonic()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.window:
                dropped = int(entry[2]) if entry is not None else 0
                if len(self._seen) >= self.max_keys and entry is None:
                    self._seen.clear()
                self._seen[key] = [now, 1, 0]
                if dropped:
                    record.msg = f"{record.msg} [{dropped} similar messages suppressed in the last {self.window:g} s]"
                return True
            entry[1] = int(entry[1]) + 1
            if entry[1] <= self.burst:
                return True
            entry[2] = int(entry[2]) + 1
            return False


LIMITED_LOGGERS = ("uvicorn.error", "asyncio", "plait.server")
"""Loggers whose repeated warnings and errors :func:`serve` rate-limits."""


def install_repeat_filter(filter_: RepeatFilter | None = None) -> RepeatFilter:
    """Attach one :class:`RepeatFilter` to :data:`LIMITED_LOGGERS` (once; returns the one in use)."""
    for name in LIMITED_LOGGERS:
        for existing in logging.getLogger(name).filters:
            if isinstance(existing, RepeatFilter):
                return existing
    filter_ = filter_ or RepeatFilter()
    for name in LIMITED_LOGGERS:
        logging.getLogger(name).addFilter(filter_)
    return filter_


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    limits: ConnectionLimits = ConnectionLimits(),
    log_level: str = "info",
) -> bool:
    """Run ``app`` with uvicorn behind :class:`GuardedH11Protocol` until Ctrl-C or SIGTERM.

    Returns whether it started (uvicorn logs why not, e.g. the port is in use).
    """
    import uvicorn

    fitted = replace(limits, max_connections=fit_descriptor_limit(limits.max_connections))
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=protocol_class(fitted),
        ws="none",
        backlog=BACKLOG,
    )
    install_repeat_filter()  # after uvicorn.Config, which (re)configures its loggers
    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn re-raises the signal it caught once it has shut down
        pass
    return bool(server.started)
