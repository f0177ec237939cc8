"""The documentation site builds with ``mkdocs build --strict`` and loads nothing from other hosts.

The build runs into a temporary folder (never ``site/``) when mkdocs and the theme are installed
(``pip install -e ".[docs]"``) and is skipped otherwise. Every built page is then parsed: no
script, stylesheet, font, image, frame or preloaded resource may come from another host, and no
stylesheet may ``@import`` or ``url()`` one. Plain links (``<a href="https://...">``) are
navigation, not assets, and are allowed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host, ...
CSS_EXTERNAL = re.compile(
    r"""(?:url\(\s*['"]?|@import\s+['"]?)\s*((?:[a-z]+:)?//[^'")\s;]+)""", re.I
)
# Attributes that make the browser fetch something, by tag (<a href> is a link, not an asset).
ASSET_ATTRIBUTES = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}


class AssetFinder(HTMLParser):
    """Collects every external asset reference of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ASSET_ATTRIBUTES.get(tag, ()):
            value = values.get(name) or ""
            urls = (
                [part.strip().split(" ")[0] for part in value.split(",")]
                if "srcset" in name
                else [value]
            )
            self.external += [f"<{tag} {name}={url}>" for url in urls if EXTERNAL.match(url)]
        if values.get("style"):
            self.external += [
                f"<{tag} style> {u}" for u in CSS_EXTERNAL.findall(values["style"] or "")
            ]
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.external.append(f"<meta refresh {values.get('content')}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.external += [f"<style> {u}" for u in CSS_EXTERNAL.findall(data)]


def external_assets(html: str) -> list[str]:
    finder = AssetFinder()
    finder.feed(html)
    return finder.external


def test_the_checker_finds_what_the_theme_would_load_by_default() -> None:
    """Material's default head (Google Fonts) and other CDN assets are caught; links are not."""
    page = """<html><head>
      <link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>
      <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">
      <script src="//cdn.jsdelivr.net/npm/mermaid.min.js"></script>
      <style>@import "https://example.org/x.css"; body { background: url(https://e.org/a.png) }</style>
      <link rel="stylesheet" href="assets/stylesheets/main.css">
    </head><body>
      <img srcset="img/a.png 1x, https://e.org/b.png 2x" src="img/a.png">
      <a href="https://pypi.org/project/plait/">a link</a>
    </body></html>"""
    found = external_assets(page)
    assert len(found) == 6, found
    assert not any("pypi.org" in f or "main.css" in f or f.endswith("img/a.png>") for f in found)
    assert CSS_EXTERNAL.findall("src: url('https://fonts.gstatic.com/x.woff2')") == [
        "https://fonts.gstatic.com/x.woff2"
    ]


def _docs_installed() -> bool:
    return all(importlib.util.find_spec(m) for m in ("mkdocs", "material", "mkdocstrings_handlers"))


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _docs_installed():
        pytest.skip('mkdocs, mkdocs-material or mkdocstrings missing: pip install -e ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


@pytest.mark.slow
def test_site_builds_strict_and_loads_nothing_from_other_hosts(built_site: Path) -> None:
    pages = sorted(built_site.rglob("*.html"))
    assert (built_site / "index.html").is_file() and len(pages) > 20
    found = {}
    for page in pages:
        external = external_assets(page.read_text(encoding="utf-8"))
        if external:
            found[page.relative_to(built_site).as_posix()] = external
    assert not found, f"pages load assets from other hosts: {found}"
    for css in built_site.rglob("*.css"):
        assert not CSS_EXTERNAL.findall(css.read_text(encoding="utf-8")), css
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in home and "fonts.gstatic.com" not in home


@pytest.mark.slow
def test_site_has_every_guide_the_api_and_the_screenshots(built_site: Path) -> None:
    for page in (
        "getting-started.html",
        "guides/indexing.html",
        "guides/migrating.html",
        "guides/format.html",
        "serving.html",
        "compare.html",
        "scaling.html",
        "api/index.html",
        "api/indexes.html",
    ):
        assert (built_site / page).is_file(), page
    api = (built_site / "api" / "indexes.html").read_text(encoding="utf-8")
    assert 'id="plait.indexes.PLAID"' in api  # rendered from the docstrings, not just a heading
    fmt = (built_site / "guides" / "format.html").read_text(encoding="utf-8")
    assert "manifest.json" in fmt and "--8&lt;--" not in fmt  # the ARCHITECTURE section included
    started = (built_site / "getting-started.html").read_text(encoding="utf-8")
    for image in ("img/site_home.png", "img/site_guide.png"):
        assert image in started and (built_site / image).is_file(), image
