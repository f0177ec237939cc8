"""HTTP server: ``create_app(index, model=None, ...)`` builds a FastAPI app (``pip install "plait[server]"``).

Imports are lazy so that ``plait.server.stats`` (used by ``plait info``) does not need FastAPI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Limits", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "Limits":
        from plait.server.schemas import Limits

        return Limits
    if name == "create_app":
        from plait.extras import require_extra

        require_extra("server", "the plait server")
        from plait.server.app import create_app

        return create_app
    raise AttributeError(f"module 'plait.server' has no attribute {name!r}")
