"""The interactive docs (/docs, /redoc) load every file from the server itself, never from a CDN;
with an API key the pages and the schema need it, their static files do not; without the asset
package the server still runs and the pages say what to install."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from plait.indexes import Exact
from plait.server import create_app
from plait.server import docs as server_docs

KEY = {"X-API-Key": "s3cret"}
ENDPOINTS = {"/health", "/stats", "/search", "/documents", "/documents/delete", "/encode"}
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


class References(HTMLParser):
    """Every ``src`` and ``href`` in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [
            value for name, value in attrs if name in ("src", "href") and value is not None
        ]


def references(page: str) -> list[str]:
    parser = References()
    parser.feed(page)
    return parser.urls


def spec_urls(page: str) -> list[str]:
    """The schema URL each page loads (Swagger UI's ``url:``, ReDoc's ``spec-url``)."""
    return re.findall(r"""url:\s*'([^']*)'""", page) + re.findall(r'spec-url="([^"]*)"', page)


def check_local_page(client: TestClient, path: str, prefix: str = "", **headers: str) -> list[str]:
    """The page's every reference is a path on this server that answers 200 with the right
    content type and a real file; the page names no host at all. Returns the asset paths."""
    answer = client.get(prefix + path, headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    urls = references(page)
    assert len(urls) == (3 if path == "/docs" else 2), (
        urls
    )  # js + css + favicon; ReDoc: js + favicon
    assert spec_urls(page) == [prefix + "/openapi.json"]
    for url in urls:
        assert url.startswith(prefix + server_docs.ASSETS_URL + "/") and not url.startswith("//"), (
            url
        )
        asset = client.get(url)  # no key: the static files are open
        suffix = url[url.rindex(".") :]
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].split(";")[0] in CONTENT_TYPES[suffix], (
            url,
            asset.headers,
        )
        assert len(asset.content) > (1_000 if suffix == ".png" else 100_000), url
    return urls


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_only_files_the_server_serves(client: TestClient, path: str) -> None:
    check_local_page(client, path)


def test_swagger_ui_fetches_no_validator_badge(client: TestClient) -> None:
    page = client.get("/docs").text
    assert '"validatorUrl": null' in page and "SwaggerUIBundle(" in page
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in page
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_docs_under_a_root_path(disk_index: Exact) -> None:
    """Behind a proxy that mounts the app under a prefix, the pages name the prefixed paths (and
    the static files stay open there)."""
    app = create_app(disk_index, api_key="s3cret", hold_writer_lock=False)
    with TestClient(app, root_path="/plait") as client:
        for path in ("/docs", "/redoc"):
            check_local_page(client, path, prefix="/plait", **KEY)


def test_api_key_guards_the_pages_and_schema_not_the_static_files(disk_index: Exact) -> None:
    with TestClient(create_app(disk_index, api_key="s3cret")) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
            answer = client.get(path)
            assert (
                answer.status_code == 401 and "missing or wrong API key" in answer.json()["detail"]
            ), path
        assets = check_local_page(client, "/docs", **KEY) + check_local_page(
            client, "/redoc", **KEY
        )
        assert {url.rsplit("/", 1)[1] for url in assets} == set(server_docs.ASSETS.values())
        # Only those exact files are open: anything else under the mount, or reached through it,
        # needs the key like every other path.
        for path in (
            server_docs.ASSETS_URL, server_docs.ASSETS_URL + "/", server_docs.ASSETS_URL + "/nothing.js",
            server_docs.ASSETS_URL + "/swagger-ui.css/", server_docs.ASSETS_URL + "/../openapi.json",
            server_docs.ASSETS_URL + "/%2E%2E/openapi.json",
        ):  # fmt: skip
            assert client.get(path).status_code == 401, path
        assert client.get(server_docs.ASSETS_URL + "/nothing.js", headers=KEY).status_code == 404


def test_openapi_schema_still_documents_the_endpoints(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert ENDPOINTS <= paths
    assert not {
        p for p in paths if p.startswith(("/docs", "/redoc"))
    }  # the docs do not document themselves
    assert schema["info"]["title"] == "plait"


def test_without_the_asset_package_the_server_runs_and_says_what_to_install(
    disk_index: Exact, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(server_docs, "ASSET_PACKAGE", "plait_no_such_docs_package")
    assert server_docs.asset_folder() is None
    with caplog.at_level("WARNING", logger="plait.server"):
        app = create_app(disk_index, api_key="s3cret", hold_writer_lock=False)
    assert 'pip install "plait[server]"' in caplog.text
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert (
            client.post(
                "/search", json={"embeddings": [[[1.0] + [0.0] * 7]], "k": 3}, headers=KEY
            ).status_code
            == 200
        )
        for path in ("/docs", "/redoc"):
            assert client.get(path).status_code == 401  # still behind the key
            answer = client.get(path, headers=KEY)
            assert answer.status_code == 200 and answer.headers["content-type"].startswith(
                "text/html"
            )
            assert 'pip install "plait[server]"' in answer.text
            assert "fastapi-offline" in answer.text
            assert "http://" not in answer.text and "https://" not in answer.text
            assert references(answer.text) == ["/openapi.json"]
        assert (
            client.get(server_docs.ASSETS_URL + "/swagger-ui.css").status_code == 401
        )  # nothing opened
        assert ENDPOINTS <= set(client.get("/openapi.json", headers=KEY).json()["paths"])
