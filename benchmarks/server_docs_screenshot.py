"""Screenshot ``/docs`` of a live ``plait serve`` in headless Chromium with the network blocked.

Checks that the interactive docs render offline (issue 28, item 4): the server runs on 127.0.0.1
over a tiny exact index (random unit vectors, no model), and Chromium may reach nothing but
127.0.0.1: every host name resolves to nothing, and every request except those to 127.0.0.1 goes
to a proxy that does not exist (Chromium's implicit proxy bypass for ``localhost`` and 127.0.0.0/8
is switched off). Before trusting a screenshot the script checks the block itself:

- a coloured probe page served on all addresses renders from 127.0.0.1 but not from
  ``localhost`` or 127.0.0.2 (so "blocked" is not just "this machine happens to be offline");
- FastAPI's stock ``/docs`` page, which loads Swagger UI from a CDN, stays blank.

Then it screenshots ``/docs`` (saved) and ``/redoc`` (checked only), and exits 1 unless both show
the API: enough coloured pixels (Swagger UI's and ReDoc's method badges) and distinct colours::

    python benchmarks/server_docs_screenshot.py                        # writes docs/img/server_docs.png
    python benchmarks/server_docs_screenshot.py --out /tmp/docs.png --height 1800
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from plait.compare.screenshot import find_browser

ROOT = Path(__file__).resolve().parents[1]
DIM = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_index(folder: Path, n: int = 50, seed: int = 0) -> Path:
    """An exact index of ``n`` documents of 2-8 random L2-normalised tokens."""
    from plait.indexes import Exact

    rng = np.random.default_rng(seed)
    docs = []
    for _ in range(n):
        m = rng.normal(size=(int(rng.integers(2, 9)), DIM)).astype(np.float32)
        docs.append(m / np.linalg.norm(m, axis=1, keepdims=True))
    index = Exact(index_folder=folder, index_name="docs-demo")
    index.add_documents([f"doc{i}" for i in range(n)], docs)
    return Path(index.path)


def start_server(index: Path, port: int) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "plait.cli.main", "serve", str(index), "--no-model",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_healthy(url: str, server: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stdout.read() if server.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("server did not become healthy")


def stop(server: subprocess.Popen[str]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()


def shoot(
    browser: str,
    url: str,
    png: Path,
    width: int,
    height: int,
    wait_ms: int = 15_000,
    extra_args: tuple[str, ...] = (),
) -> np.ndarray:
    """Screenshot ``url`` with only 127.0.0.1 reachable; returns the pixels (RGB).

    ``extra_args`` are further Chromium flags (``benchmarks/site_screenshot.py`` adds a net log).
    """
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="plait-chromium-") as profile:
        command = [
            browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--no-first-run", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-default-apps",
            f"--user-data-dir={profile}",
            # Block: names resolve to nothing, and everything but 127.0.0.1 (<-loopback> removes
            # the implicit bypass for localhost and 127.0.0.0/8) goes to a proxy nobody runs.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>;127.0.0.1",
            f"--window-size={width},{height}", f"--virtual-time-budget={wait_ms}",
            "--run-all-compositor-stages-before-draw", f"--screenshot={png.resolve()}",
            *extra_args, url,
        ]  # fmt: skip
        png.unlink(missing_ok=True)
        subprocess.run(command, check=True, capture_output=True, timeout=180)
    if not png.is_file():
        raise RuntimeError(f"{browser} wrote no screenshot of {url}")
    return np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)


def coloured_share(pixels: np.ndarray) -> float:
    """Share of clearly coloured pixels (not white, grey or black)."""
    return float(((pixels.max(axis=2) - pixels.min(axis=2)) > 60).mean())


def distinct_colours(pixels: np.ndarray) -> int:
    return len(np.unique(pixels.reshape(-1, 3), axis=0))


def describe(pixels: np.ndarray) -> str:
    return (
        f"{100 * coloured_share(pixels):.2f}% coloured pixels, {distinct_colours(pixels)} colours"
    )


PROBE = (
    b"<!DOCTYPE html><html><body style='margin:0;background:#e0115f'><h1>probe</h1></body></html>"
)


class ProbeHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(PROBE)))
        self.end_headers()
        self.wfile.write(PROBE)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def check_block(browser: str, tmp: Path, docs_url: str) -> list[str]:
    """Failures of the network block (empty when it works)."""
    from fastapi.openapi.docs import get_swagger_ui_html

    failures = []
    probe = http.server.ThreadingHTTPServer(("0.0.0.0", 0), ProbeHandler)
    threading.Thread(target=probe.serve_forever, daemon=True).start()
    port = probe.server_address[1]
    try:
        for host, reachable in (("127.0.0.1", True), ("localhost", False), ("127.0.0.2", False)):
            pixels = shoot(
                browser, f"http://{host}:{port}/", tmp / "probe.png", 400, 300, wait_ms=3000
            )
            seen = coloured_share(pixels) > 0.5
            print(
                f"  probe page from {host}: {'rendered' if seen else 'blocked'} ({describe(pixels)})"
            )
            if seen != reachable:
                failures.append(
                    f"the probe page from {host} was {'rendered' if seen else 'blocked'}"
                )
    finally:
        probe.shutdown()
        probe.server_close()
    # FastAPI's stock page: Swagger UI from cdn.jsdelivr.net, the favicon from fastapi.tiangolo.com.
    stock = tmp / "stock_docs.html"
    stock.write_bytes(
        get_swagger_ui_html(
            openapi_url=f"{docs_url.rsplit('/', 1)[0]}/openapi.json", title="stock"
        ).body
    )
    pixels = shoot(browser, stock.as_uri(), tmp / "stock.png", 1280, 900)
    print(f"  FastAPI's CDN-loaded /docs page: {describe(pixels)}")
    if coloured_share(pixels) > 0 or distinct_colours(pixels) > 4:
        failures.append("FastAPI's CDN-loaded docs page was not blank: the network is not blocked")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "server_docs.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1540)
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("no headless Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="plait-docs-shot-") as tmp_name:
        tmp = Path(tmp_name)
        index = build_index(tmp / "index")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(index, port)
        try:
            wait_healthy(url, server)
            print("network block:")
            failures += check_block(browser, tmp, f"{url}/docs")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            pixels = shoot(browser, f"{url}/docs", args.out, args.width, args.height)
            out = args.out.resolve()
            shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
            print(f"{url}/docs -> {shown}: {describe(pixels)}, {out.stat().st_size / 1024:.0f} KiB")
            if coloured_share(pixels) < 0.005 or distinct_colours(pixels) < 50:
                failures.append("/docs rendered blank (no method badges)")
            pixels = shoot(browser, f"{url}/redoc", tmp / "redoc.png", args.width, args.height)
            print(f"{url}/redoc: {describe(pixels)}")
            if coloured_share(pixels) < 0.001 or distinct_colours(pixels) < 50:
                failures.append("/redoc rendered blank")
        finally:
            stop(server)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
