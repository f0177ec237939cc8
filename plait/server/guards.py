"""ASGI middleware that answers before any request body is read: API key, load and rate limits.

The app stacks them outermost first: :class:`RateLimit` (429), :class:`ApiKeyGuard` (401),
:class:`InFlightLimit` (503), then :class:`~plait.server.limits.BodySizeLimit` (413), then the
routes, which parse the body. A client without the key therefore costs the server no body reading
and no JSON parsing, whatever it sends. ``GET /health`` passes every guard: probes need no key and
must keep answering while the server is busy.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import OrderedDict
from typing import Any

from plait.server.limits import send_json

Scope = dict[str, Any]

OPEN_PATHS = frozenset({"/health"})
"""Paths every guard lets through (liveness probes)."""

API_KEY_HEADER = "X-API-Key"


def route_path(scope: Scope) -> str:
    """Return the request path inside the app (without the ``root_path`` it is mounted under)."""
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def header(scope: Scope, name: bytes) -> bytes | None:
    """First value of a header (``name`` in lower case), or ``None``."""
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


class ApiKeyGuard:
    """401 unless the ``X-API-Key`` header equals ``api_key`` (compared in constant time).

    Every path but ``open_paths`` needs the key, ``/docs``, ``/redoc`` and ``/openapi.json``
    included; ``create_app`` passes :data:`OPEN_PATHS` plus the docs' four static files, which hold
    no data (:mod:`plait.server.docs`). The answer is sent before the body is read.
    """

    def __init__(self, app: Any, api_key: str, open_paths: frozenset[str] = OPEN_PATHS) -> None:
        if not isinstance(api_key, str) or not api_key:
            raise ValueError("api_key must be a non-empty string (or None for no key)")
        self.app = app
        self.expected = api_key.encode("utf-8")
        self.open_paths = open_paths
        self.header = API_KEY_HEADER.lower().encode("ascii")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Answer 401 to an HTTP request without the key, else pass it on to the app."""
        if scope["type"] == "http" and route_path(scope) not in self.open_paths:
            given = header(scope, self.header)
            if given is None or not secrets.compare_digest(given, self.expected):
                detail = f"missing or wrong API key: send it in the {API_KEY_HEADER} header"
                await send_json(send, 401, detail)
                return
        await self.app(scope, receive, send)


class InFlightLimit:
    """503 (with ``Retry-After``) while ``max_requests`` requests are already being handled.

    Bounds the memory and threads that concurrent requests take (each body may be up to
    ``Limits.max_body_bytes`` and is parsed whole). :data:`OPEN_PATHS` are not counted.
    """

    def __init__(
        self, app: Any, max_requests: int, open_paths: frozenset[str] = OPEN_PATHS
    ) -> None:
        if isinstance(max_requests, bool) or not isinstance(max_requests, int) or max_requests < 1:
            raise ValueError(f"max_requests must be a positive integer, got {max_requests!r}")
        self.app = app
        self.max_requests = max_requests
        self.open_paths = open_paths
        self.in_flight = 0  # only touched on the event loop: no lock needed

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Answer 503 when the limit is reached, else count the request while the app handles it."""
        if scope["type"] != "http" or route_path(scope) in self.open_paths:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_requests:
            detail = f"server busy: {self.in_flight} requests in progress (limit {self.max_requests}); retry later"
            await send_json(send, 503, detail, headers=[(b"retry-after", b"1")])
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


class TokenBuckets:
    """Per-client token buckets: ``rate`` requests per second, bursts of up to ``burst``.

    At most ``max_clients`` buckets are kept; the least recently seen client is forgotten first
    (it starts again with a full bucket).
    """

    def __init__(self, rate: float, burst: float, max_clients: int = 10_000) -> None:
        if not (0 < rate < math.inf) or not (1 <= burst < math.inf):
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate!r}, burst={burst!r}")
        self.rate, self.burst, self.max_clients = float(rate), float(burst), max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str, now: float | None = None) -> float:
        """Spend one token of ``client``'s bucket: 0.0 if allowed, else seconds until one is due."""
        now = time.monotonic() if now is None else now
        tokens, stamp = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[client] = (tokens - 1 if wait == 0.0 else tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


class RateLimit:
    """429 (with ``Retry-After``) for a client address above ``rate`` requests per second.

    Clients are told apart by their address as the server sees it: behind a proxy every client
    shares the proxy's address, so leave this off there (the proxy can limit rates itself).
    """

    def __init__(
        self,
        app: Any,
        rate: float,
        burst: float | None = None,
        open_paths: frozenset[str] = OPEN_PATHS,
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate, burst if burst is not None else max(1.0, 2 * rate))
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Answer 429 when the client's bucket is empty, else pass the request on to the app."""
        if scope["type"] == "http" and route_path(scope) not in self.open_paths:
            client = scope.get("client")
            wait = self.buckets.take(str(client[0]) if client else "unknown")
            if wait > 0:
                detail = f"too many requests: at most {self.buckets.rate:g} per second per client; retry later"
                await send_json(
                    send, 429, detail, headers=[(b"retry-after", str(math.ceil(wait)).encode())]
                )
                return
        await self.app(scope, receive, send)
