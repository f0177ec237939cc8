"""Screenshot the documentation site in headless Chromium with the network blocked.

Builds the site (``mkdocs build --strict`` into a temporary folder; ``--site DIR`` uses a built
one), serves it on 127.0.0.1 and screenshots the home page and one guide with the same network
block as ``benchmarks/server_docs_screenshot.py``: every host name resolves to nothing and every
request except those to 127.0.0.1 goes to a proxy that does not exist. Before trusting the
pictures the script checks the block (a probe page renders from 127.0.0.1, not from
``localhost`` or 127.0.0.2), and it records Chromium's net log while each page loads: any request
to another host fails the run, as does a page that renders blank::

    python benchmarks/site_screenshot.py          # writes docs/img/site_home.png and site_guide.png
    python benchmarks/site_screenshot.py --site site --out-dir /tmp/shots
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server_docs_screenshot import (  # noqa: E402  (a sibling script, not a package)
    ProbeHandler,
    coloured_share,
    describe,
    distinct_colours,
    shoot,
)

from plait.compare.screenshot import find_browser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGES = (("index.html", "site_home.png", 1100), ("guides/indexing.html", "site_guide.png", 1400))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def build_site(folder: Path) -> Path:
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(folder)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    subprocess.run(command, cwd=ROOT, check=True, env=env)
    return folder


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def page_requests(net_log: Path) -> list[str]:
    """URLs the page asked for, from Chromium's net log.

    Every ``URL_REQUEST_START_JOB`` whose initiator is an origin: the page's own scripts,
    stylesheets, fonts, images and fetches. Chromium's background requests (its clock, spelling
    dictionary, account checks) have no origin as initiator and are left out; they are refused by
    the same block.
    """
    log = json.loads(net_log.read_text(encoding="utf-8", errors="replace"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        initiator = str(params.get("initiator", ""))
        if event["type"] == start_job and "url" in params and "://" in initiator:
            urls.append(str(params["url"]))
    return urls


def check_block(browser: str, tmp: Path) -> list[str]:
    """Failures of the network block (empty when it works)."""
    failures = []
    probe = http.server.ThreadingHTTPServer(("0.0.0.0", 0), ProbeHandler)
    threading.Thread(target=probe.serve_forever, daemon=True).start()
    port = probe.server_address[1]
    try:
        for host, reachable in (("127.0.0.1", True), ("localhost", False), ("127.0.0.2", False)):
            pixels = shoot(browser, f"http://{host}:{port}/", tmp / "probe.png", 400, 300, 3000)
            seen = coloured_share(pixels) > 0.5
            state = "rendered" if seen else "blocked"
            print(f"  probe page from {host}: {state} ({describe(pixels)})")
            if seen != reachable:
                failures.append(f"the probe page from {host} was {state}")
    finally:
        probe.shutdown()
        probe.server_close()
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--site", type=Path, help="a built site folder (default: build one)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("no headless Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="plait-site-shot-") as tmp_name:
        tmp = Path(tmp_name)
        site = args.site or build_site(tmp / "site")
        print("network block:")
        failures += check_block(browser, tmp)
        server = serve(site)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            args.out_dir.mkdir(parents=True, exist_ok=True)
            for page, name, height in PAGES:
                net_log = tmp / f"{name}.netlog.json"
                png = args.out_dir / name
                pixels = shoot(
                    browser, f"{base}/{page}", png, args.width, height, 5000,
                    extra_args=(f"--log-net-log={net_log}",),
                )  # fmt: skip
                urls = page_requests(net_log)
                other = sorted({u for u in urls if urlsplit(u).hostname != "127.0.0.1"})
                out = png.resolve()
                shown = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
                print(
                    f"{page} -> {shown}: {describe(pixels)}, {out.stat().st_size / 1024:.0f} KiB; "
                    f"{len(urls)} requests by the page, to other hosts: {other or 'none'}"
                )
                if not urls:
                    failures.append(f"{page}: no request in the net log (is the log read right?)")
                if other:
                    failures.append(f"{page} requested {other}")
                if coloured_share(pixels) < 0.005 or distinct_colours(pixels) < 50:
                    failures.append(f"{page} rendered blank")
        finally:
            server.shutdown()
            server.server_close()
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
