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
        try:
            from plait.server.app import create_app
        except ImportError as error:
            raise ImportError(
                f"the plait server needs FastAPI and uvicorn ({error}); "
                'install them with: pip install "plait[server]"'
            ) from error
        return create_app
    raise AttributeError(f"module 'plait.server' has no attribute {name!r}")
