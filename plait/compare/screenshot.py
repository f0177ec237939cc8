"""Render a compare report in headless Chromium with the network blocked, save a PNG screenshot.

This checks what a reader sees: the page must render from the file alone (no CDN, no fonts or
scripts fetched) and its plots must show up. Not used by unit tests (it needs a browser)::

    python -m plait.compare.screenshot compare-report/report.html docs/img/compare_scifact.png

Exit status 0 when the screenshot was written and its plot area is not blank.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["find_browser", "screenshot"]

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """Path of an installed Chromium-family browser, or ``None``."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(
    html: Path, png: Path, width: int = 1280, height: int = 3200, timeout: float = 120.0
) -> Path:
    """Screenshot ``html`` into ``png`` with every network request sent nowhere."""
    browser = find_browser()
    if browser is None:
        raise FileNotFoundError(f"no headless browser found (tried {', '.join(BROWSERS)})")
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plait-chromium-") as profile:
        command = [
            browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--window-size={width},{height}",
            f"--screenshot={png.resolve()}", html.resolve().as_uri(),
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)
    if not png.is_file():
        raise RuntimeError(f"{browser} wrote no screenshot")
    return png


def coloured_share(png: Path) -> float:
    """Share of pixels that are clearly coloured (plot markers, bars), not grey or white."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    return float((spread > 60).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=3200)
    args = parser.parse_args(argv)
    out = screenshot(args.html, args.png, args.width, args.height)
    share = coloured_share(out)
    print(f"{out}: {100 * share:.2f}% coloured pixels")
    if share < 0.001:
        print("the plots did not render (no coloured pixels)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
