"""Interactive API docs that work offline: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

FastAPI's own pages load their JavaScript, CSS and favicon from a CDN (and ReDoc its fonts from
Google), so without a network they stay blank. Here the pages load the same files from the
``fastapi-offline`` package (part of ``pip install "plait[server]"``), served by the app under
:data:`ASSETS_URL`; the HTML names no other host. Swagger UI's validator badge is switched off too,
so the page itself fetches nothing but ``/openapi.json``.

With an API key set, ``/docs``, ``/redoc`` and ``/openapi.json`` still need it; the four asset
files (:data:`ASSETS`) do not. They hold no data and do not depend on the index or the server's
settings (they are the public swagger-ui and ReDoc builds), so gating them would protect nothing.
Only those exact paths are open; anything else under :data:`ASSETS_URL` needs the key like every
other path, and the assets still count towards the load and rate limits.

Without ``fastapi-offline`` the server runs as before, and ``/docs`` and ``/redoc`` answer a short
page that names the ``pip install`` bringing them (and links to ``/openapi.json``).
"""

from __future__ import annotations

import html
import importlib.util
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

logger = logging.getLogger("plait.server")

__all__ = [
    "ASSETS",
    "ASSETS_URL",
    "DOCS_URL",
    "OAUTH2_REDIRECT_URL",
    "REDOC_URL",
    "asset_folder",
    "install_docs",
]

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs-assets"
"""Where the Swagger UI and ReDoc files are served (a static mount)."""

ASSETS = {
    "swagger_js": "swagger-ui-bundle.js",
    "swagger_css": "swagger-ui.css",
    "redoc_js": "redoc.standalone.js",
    "favicon": "favicon.png",
}
"""The files the pages load, by role: names inside ``fastapi_offline/static``."""

ASSET_PACKAGE = "fastapi_offline"
INSTALL_HINT = 'pip install "plait[server]"'
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
"""Added to FastAPI's defaults: no badge fetched from validator.swagger.io."""


def asset_folder() -> Path | None:
    """Return the folder holding every file of :data:`ASSETS`, or ``None`` when one is missing.

    ``None`` also when the package itself is missing. The folder is found without importing the
    package.
    """
    try:
        spec = importlib.util.find_spec(ASSET_PACKAGE)
    except (ImportError, ValueError):
        return None
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    for location in locations:
        folder = Path(location) / "static"
        if all(
            (folder / name).is_file() and (folder / name).stat().st_size > 0
            for name in ASSETS.values()
        ):
            return folder
    return None


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _missing_page(root: str, openapi_url: str, what: str) -> HTMLResponse:
    schema = html.escape(root + openapi_url, quote=True)
    body = f"""<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>plait - {what} not installed</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>{what} is not installed</h1>
<p>The interactive API docs need their JavaScript and CSS from the <code>fastapi-offline</code>
package, which this server cannot find. Install it with:</p>
<pre>{html.escape(INSTALL_HINT, quote=False)}</pre>
<p>and restart the server. The OpenAPI schema is served without it: <a href="{schema}">{schema}</a>.</p>
</body>
</html>
"""
    return HTMLResponse(body)


def install_docs(app: FastAPI) -> frozenset[str]:
    """Add ``/docs``, ``/docs/oauth2-redirect`` and ``/redoc`` to ``app`` and mount their assets.

    ``app`` is built with ``docs_url=None, redoc_url=None``. Returns the asset paths that need no
    API key (empty when the assets are missing).
    """
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the interactive docs need the app's OpenAPI schema (openapi_url is None)")
    folder = asset_folder()
    if folder is None:
        logger.warning(
            "the interactive docs (/docs, /redoc) need the %s package: %s",
            ASSET_PACKAGE.replace("_", "-"),
            INSTALL_HINT,
        )

        @app.get(DOCS_URL, include_in_schema=False)
        async def swagger_ui_missing(request: Request) -> HTMLResponse:
            return _missing_page(_root(request), openapi_url, "Swagger UI")

        @app.get(REDOC_URL, include_in_schema=False)
        async def redoc_missing(request: Request) -> HTMLResponse:
            return _missing_page(_root(request), openapi_url, "ReDoc")

        return frozenset()

    app.mount(ASSETS_URL, StaticFiles(directory=folder), name="docs-assets")
    asset = {role: f"{ASSETS_URL}/{name}" for role, name in ASSETS.items()}

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=root + asset["swagger_js"],
            swagger_css_url=root + asset["swagger_css"],
            swagger_favicon_url=root + asset["favicon"],
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=root + asset["redoc_js"],
            redoc_favicon_url=root + asset["favicon"],
            with_google_fonts=False,
        )

    return frozenset(asset.values())
