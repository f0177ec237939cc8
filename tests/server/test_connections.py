"""Slow, idle and greedy clients against real uvicorn with GuardedH11Protocol: every one is closed
in time, and /health keeps answering. Timeouts here are 1-1.5 s; "in time" means within 2 s more."""

from __future__ import annotations

import json
import logging
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import live_server, random_documents, read_until_closed

from plait.indexes import Exact
from plait.server import connections as conn
from plait.server import create_app
from plait.server.connections import ConnectionLimits, RepeatFilter

LIMITS = ConnectionLimits(
    header_timeout=1.0,
    body_timeout=1.5,
    keep_alive_timeout=1.0,
    send_timeout=1.0,
    max_connections=8,
)
SLACK = 2.0
KEY = {"X-API-Key": "k"}


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    index = Exact(index_folder=tmp_path, index_name="served")
    index.add_documents(*random_documents(5))
    with live_server(create_app(index, api_key="k", max_requests=2), LIMITS) as p:
        yield p


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def drip(sock: socket.socket, seconds: float, byte: bytes = b"a") -> float:
    """Send one byte every 0.2 s until the server answers or closes, or ``seconds`` pass; returns
    the seconds waited. A client this slow never finishes its request."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        readable, _, _ = select.select([sock], [], [], 0.2)
        if readable:
            break
        try:
            sock.sendall(byte)
        except OSError:
            break
    return time.monotonic() - start


def health(port: int) -> int:
    return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code


def test_idle_connection_is_closed_after_the_header_timeout(port: int) -> None:
    with connect(port) as sock:
        data, waited, closed = read_until_closed(sock, LIMITS.header_timeout + SLACK)
    assert closed and data == b""  # nothing was asked, so nothing is answered
    assert waited >= LIMITS.header_timeout - 0.2


def assert_dripping_client_gets_408(
    port: int, start: bytes, byte: bytes, timeout: float, message: bytes
) -> None:
    """Send ``start``, then one ``byte`` every 0.2 s: within ``timeout`` (+ slack) the server
    answers 408 with ``message`` and closes, and /health still answers."""
    with connect(port) as sock:
        sock.sendall(start)
        waited = drip(sock, timeout + SLACK, byte)
        data, more, closed = read_until_closed(sock, SLACK)
    assert closed and waited + more < timeout + SLACK
    assert data.startswith(b"HTTP/1.1 408 ") and message in data
    assert health(port) == 200


def test_headers_sent_a_byte_at_a_time_get_408_and_the_connection_closed(port: int) -> None:
    assert_dripping_client_gets_408(
        port,
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        b"a",
        LIMITS.header_timeout,
        b"request headers not received within 1 s",
    )


@pytest.mark.slow  # the same dripping-client check as the headers' test above
def test_body_sent_a_byte_at_a_time_gets_408_and_the_connection_closed(port: int) -> None:
    head = b"POST /search HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\ncontent-type: application/json\r\n"
    assert_dripping_client_gets_408(
        port,
        head + b"content-length: 100000\r\n\r\n{",
        b" ",
        LIMITS.body_timeout,
        b"request body not received within 1.5 s",
    )


def test_slow_body_after_an_early_401_is_closed_too(port: int) -> None:
    """The 401 comes before the body; a client that keeps trickling the body is still cut off."""
    with connect(port) as sock:
        sock.sendall(b"POST /search HTTP/1.1\r\nHost: x\r\ncontent-length: 100000\r\n\r\n{")
        readable, _, _ = select.select([sock], [], [], SLACK)
        assert readable
        assert sock.recv(65536).startswith(b"HTTP/1.1 401 ")
        start = time.monotonic()
        while time.monotonic() - start < LIMITS.body_timeout + SLACK:
            try:
                sock.sendall(b" ")
            except OSError:
                break
            time.sleep(0.1)  # faster than the keep-alive timeout: only the body timeout can stop it
            if select.select([sock], [], [], 0)[0] and sock.recv(1) == b"":
                break
        assert time.monotonic() - start < LIMITS.body_timeout + SLACK


def test_answer_without_a_key_comes_before_the_body_is_sent(port: int) -> None:
    """A 52 MiB upload without the key is refused from its headers alone (D8)."""
    with connect(port) as sock:
        sock.sendall(
            b"POST /documents HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 54525952\r\n\r\n"
        )
        readable, _, _ = select.select([sock], [], [], SLACK)
        assert readable, "no answer before the body was sent"
        answer = read_until_closed(sock, 0.5)[0]
    assert answer.startswith(b"HTTP/1.1 401 ") and b"missing or wrong API key" in answer


@pytest.mark.slow  # waits for the keep-alive timeout
def test_keep_alive_connection_is_closed_when_idle(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data, waited, closed = read_until_closed(sock, LIMITS.keep_alive_timeout + SLACK)
    assert closed and data.startswith(b"HTTP/1.1 200 ")


def test_connections_above_the_limit_get_503_and_health_answers_below_it(port: int) -> None:
    idle = [connect(port) for _ in range(LIMITS.max_connections - 1)]
    try:
        time.sleep(0.2)
        assert health(port) == 200  # the last free connection still answers
        idle.append(connect(port))
        with connect(port) as extra:
            data, _, closed = read_until_closed(extra, SLACK)
        assert (
            closed
            and data.startswith(b"HTTP/1.1 503 ")
            and b"too many open connections (limit 8)" in data
        )
        # the idle ones are closed by the header timeout, and the server is reachable again
        for sock in idle:
            assert read_until_closed(sock, LIMITS.header_timeout + SLACK)[2]
        assert health(port) == 200
    finally:
        for sock in idle:
            sock.close()


def test_requests_in_progress_are_limited_and_health_passes(port: int) -> None:
    """Two slow uploads fill max_requests=2: a third request gets 503, /health still answers."""
    slow = [connect(port) for _ in range(2)]
    try:
        for sock in slow:
            sock.sendall(
                b"POST /search HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\ncontent-length: 1000\r\n\r\n{"
            )
        time.sleep(0.3)
        busy = httpx.post(
            f"http://127.0.0.1:{port}/search",
            json={"embeddings": [[[1.0] * 8]]},
            headers=KEY,
            timeout=5,
        )
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "server busy: 2 requests in progress (limit 2)" in busy.json()["detail"]
        assert health(port) == 200
        for sock in slow:  # the body timeout frees them
            assert read_until_closed(sock, LIMITS.body_timeout + SLACK)[0].startswith(
                b"HTTP/1.1 408 "
            )
        ok = httpx.post(
            f"http://127.0.0.1:{port}/search",
            json={"embeddings": [[[1.0] * 8]]},
            headers=KEY,
            timeout=5,
        )
        assert ok.status_code == 200
    finally:
        for sock in slow:
            sock.close()


BIG = 32 * 1024 * 1024


async def big_answer(scope, receive, send) -> None:
    """A toy ASGI app: 32 MiB to anyone who asks."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": f"{message['type']}.complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(BIG).encode())],
        }
    )
    await send({"type": "http.response.body", "body": b"x" * BIG})


@pytest.mark.slow  # waits for the send timeout
def test_client_that_never_reads_its_answer_is_dropped() -> None:
    with live_server(big_answer, LIMITS) as port, connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(LIMITS.send_timeout + SLACK)  # read nothing meanwhile
        data, _, closed = read_until_closed(sock, SLACK)
    assert closed and len(data) < BIG


def test_repeat_filter_lets_a_few_identical_warnings_through_then_counts_the_rest() -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    log = logging.getLogger("plait.test.repeat")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(Keep())
    log.addFilter(RepeatFilter(burst=3, window=0.5))
    for i in range(1000):
        log.warning("accept failed on fd %d", i)
        log.info("access line %d", i)  # below WARNING: never limited
    log.error("another message")
    time.sleep(0.6)
    log.warning("accept failed on fd %d", 1000)
    warnings = [r for r in records if r.startswith("accept failed")]
    assert warnings[:3] == [
        "accept failed on fd 0",
        "accept failed on fd 1",
        "accept failed on fd 2",
    ]
    assert warnings[3:] == [
        "accept failed on fd 1000 [997 similar messages suppressed in the last 0.5 s]"
    ]
    assert (
        sum(r.startswith("access line") for r in records) == 1000 and "another message" in records
    )


def test_descriptor_limit_is_raised_or_connections_fitted(monkeypatch, caplog) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(conn.resource, "getrlimit", lambda _: (256, 4096))
    monkeypatch.setattr(conn.resource, "setrlimit", lambda _, limits: calls.append(limits))
    assert conn.fit_descriptor_limit(1000) == 1000 and calls == [(1000 + conn.FD_RESERVE, 4096)]
    monkeypatch.setattr(conn.resource, "getrlimit", lambda _: (256, 256))
    with caplog.at_level(logging.WARNING, "plait.server"):
        assert conn.fit_descriptor_limit(1000) == 256 - conn.FD_RESERVE
    assert "serving at most 128 connections instead of 1000" in caplog.text


@pytest.mark.parametrize(
    "field",
    ["header_timeout", "body_timeout", "send_timeout", "keep_alive_timeout", "max_connections"],
)
def test_connection_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=f"ConnectionLimits.{field} must be a positive number"):
        ConnectionLimits(**{field: 0})
    with pytest.raises(ValueError, match="max_connections must be an integer"):
        ConnectionLimits(max_connections=2.5)  # type: ignore[arg-type]


def test_raw_answers_are_json() -> None:
    head, body = conn._raw_answer(408, "Request Timeout", "too slow").split(b"\r\n\r\n")
    assert json.loads(body) == {"detail": "too slow"} and b"connection: close" in head


def test_headers_over_16_kib_get_400_and_the_connection_closed(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000
        )  # and no end in sight
        data, _, closed = read_until_closed(sock, SLACK)
    assert closed and data.startswith(b"HTTP/1.1 400 ")
