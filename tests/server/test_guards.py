"""The guards in front of the routes: the API key before any body is read, then the load limit,
then the body size; per-client rate limits; /health passes them all."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_helpers import DIM

from plait.indexes import Exact
from plait.server import Limits, create_app
from plait.server.guards import InFlightLimit, TokenBuckets

ROW = [1.0] + [0.0] * (DIM - 1)
KEY = {"X-API-Key": "s3cret"}


def scope(path: str, headers: dict[str, str], method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("10.0.0.1", 1234),
        "server": ("127.0.0.1", 8000),
    }


async def call(app: Any, request_scope: dict[str, Any], body: bytes) -> tuple[int, int, bytes]:
    """Run one request through the ASGI app: ``(status, receive() calls, answer body)``."""
    reads = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(request_scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return (
        status,
        reads,
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
    )


def test_api_key_is_checked_before_the_body_is_read(disk_index: Exact) -> None:
    """A request without the key must cost no body reading or JSON parsing (D8)."""
    app = create_app(disk_index, api_key="s3cret", hold_writer_lock=False)
    big = b'{"ids": ["x"], "embeddings": [[' + b",".join([b"[1,0,0,0,0,0,0,0]"] * 2000) + b"]]}"
    headers = {"content-type": "application/json", "content-length": str(len(big))}
    for key in (None, "wrong", "s3cre", "s3cret-and-more"):
        sent = dict(headers, **({"x-api-key": key} if key else {}))
        status, reads, answer = asyncio.run(call(app, scope("/documents", sent), big))
        assert (status, reads) == (401, 0) and b"missing or wrong API key" in answer
    status, reads, _ = asyncio.run(
        call(
            app,
            scope("/search", {**headers, "x-api-key": "s3cret"}),
            b'{"embeddings": [[[1,0,0,0,0,0,0,0]]]}',
        )
    )
    assert status == 200 and reads >= 1


def test_key_comes_before_the_size_limit(disk_index: Exact) -> None:
    app = create_app(
        disk_index, api_key="s3cret", limits=Limits(max_body_bytes=100), hold_writer_lock=False
    )
    headers = {"content-type": "application/json", "content-length": "100000"}
    assert asyncio.run(call(app, scope("/search", headers), b"{}"))[:2] == (401, 0)
    status, reads, answer = asyncio.run(
        call(app, scope("/search", {**headers, "x-api-key": "s3cret"}), b"{}")
    )
    assert (status, reads) == (413, 0) and b"exceeds the limit of 100 bytes" in answer


@pytest.mark.parametrize(
    "path", ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect", "/stats", "/nowhere"]
)
def test_docs_and_every_other_path_need_the_key(disk_index: Exact, path: str) -> None:
    with TestClient(create_app(disk_index, api_key="s3cret")) as client:
        answer = client.get(path)
        assert answer.status_code == 401 and "missing or wrong API key" in answer.json()["detail"]
        assert client.get(path, headers=KEY).status_code == (404 if path == "/nowhere" else 200)
        assert client.get("/health").status_code == 200


def test_stats_do_not_reveal_the_server_path(client: TestClient, disk_index: Exact) -> None:
    answer = client.get("/stats")
    assert answer.status_code == 200 and "path" not in answer.json()
    assert str(disk_index.path.parent) not in answer.text


def test_rate_limit_answers_429_per_client_and_spares_health(disk_index: Exact) -> None:
    with TestClient(create_app(disk_index, rate_limit=0.5)) as client:  # burst 1, one more per 2 s
        assert client.post("/search", json={"embeddings": [[ROW]]}).status_code == 200
        limited = client.post("/search", json={"embeddings": [[ROW]]})
        assert limited.status_code == 429 and limited.headers["retry-after"] in {"1", "2"}
        assert "at most 0.5 per second per client" in limited.json()["detail"]
        assert client.get("/stats").status_code == 429
        assert all(client.get("/health").status_code == 200 for _ in range(5))


def test_token_buckets_refill_and_keep_clients_apart() -> None:
    buckets = TokenBuckets(rate=2, burst=3, max_clients=2)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", now=0.0) == pytest.approx(0.5)  # empty: a token every 0.5 s
    assert buckets.take("b", now=0.0) == 0.0  # another client has its own bucket
    assert buckets.take("a", now=0.5) == 0.0 and buckets.take("a", now=0.5) > 0
    buckets.take("c", now=0.5)  # a third client: the least recently seen one ("b") is forgotten
    assert set(buckets._buckets) == {"a", "c"}
    with pytest.raises(ValueError, match="rate must be > 0"):
        TokenBuckets(rate=0, burst=1)


def test_in_flight_limit_answers_503_and_spares_health() -> None:
    release = asyncio.Event()

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] != "/health":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    limited = InFlightLimit(slow_app, max_requests=2)

    async def scenario() -> list[int]:
        held = [asyncio.create_task(call(limited, scope("/search", {}), b"")) for _ in range(2)]
        await asyncio.sleep(0.05)
        busy = await call(limited, scope("/search", {}), b"")
        probe = await call(limited, scope("/health", {}, "GET"), b"")
        release.set()
        done = [(await task)[0] for task in held]
        again = await call(limited, scope("/search", {}), b"")
        assert limited.in_flight == 0
        return [busy[0], probe[0], *done, again[0]]

    assert asyncio.run(scenario()) == [503, 200, 200, 200, 200]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"api_key": ""}, "non-empty"),
        ({"max_requests": 0}, "max_requests must be a positive integer"),
        ({"rate_limit": 0}, "rate_limit must be a positive number"),
        ({"refresh_interval": -1}, "refresh_interval must be a finite number of seconds >= 0"),
    ],
)
def test_bad_settings_are_refused_when_the_app_is_made(
    disk_index: Exact, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(disk_index, **settings)
