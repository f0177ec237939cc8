"""Start-up times of the CLI and install sizes per extra (issue 28): what a new user waits for.

Start-up: each command runs ``--repeat`` times in a fresh process (``.venv/bin/plait``); the table
gives the first run (the "cold" one after the build: the OS file cache holds what an earlier
command loaded, so a truly cold first call after a reboot is slower) and the median.
``plait search`` runs on a 50-document index of SciFact built once by ``plait index``; its time
is mostly loading torch, transformers and the model, which any search needs.

Install sizes: fresh venvs under ``benchmarks/.work/install-sizes/``: ``torch==2.13.0`` (the CPU
wheel) alone, then ``pip install .`` (the core), then the core plus each extra (a copy of the core
venv, then ``pip install ".[extra]"``); sizes are ``du`` of the venv. Needs the package index
(PyPI) but no model or data hub::

    .venv/bin/python benchmarks/first_hour.py [--repeat 5] [--no-install] [--no-page]

The tables become the "first-hour" section of docs/benchmarks.md (benchmarks/page.py) unless
``--no-page``; a run with ``--no-install`` is printed only, since the section needs both tables.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import page
from common import ROOT, WORK

PLAIT = ROOT / ".venv" / "bin" / "plait"
SCIFACT = ROOT.parent / "shared" / "data" / "scifact"
EXTRAS = ("bm25", "metadata", "train", "server", "compare", "ray", "docs")


def startup_rows(repeat: int, work: Path) -> list[tuple[str, float, float]]:
    corpus = work / "corpus.jsonl"
    lines = (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:50]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = work / "index"
    subprocess.run([str(PLAIT), "index", str(corpus), str(index)], check=True, capture_output=True)
    commands = {
        "plait --help": [str(PLAIT), "--help"],
        "plait search --help": [str(PLAIT), "search", "--help"],
        "plait info INDEX (PLAID, 50 documents)": [str(PLAIT), "info", str(index)],
        "plait index (refused: INDEX exists)": [str(PLAIT), "index", str(corpus), str(index)],
        "plait search INDEX QUERY": [
            str(PLAIT),
            "search",
            str(index),
            "vitamin D and bone density",
        ],
    }
    rows = []
    for label, command in commands.items():
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            times.append(time.perf_counter() - start)
            expected = 2 if "refused" in label else 0
            if done.returncode != expected:
                raise RuntimeError(f"{label}: exit {done.returncode}: {done.stderr[-400:]}")
        rows.append((label, times[0], statistics.median(times)))
    return rows


def du(path: Path) -> int:
    out = subprocess.run(
        ["du", "-sb", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[0])


def pip(venv: Path, *args: str) -> None:
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *args],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )


def install_rows() -> list[tuple[str, int, int | None]]:
    base = WORK / "install-sizes"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    torch_venv, core = base / "torch", base / "core"
    subprocess.run([sys.executable, "-m", "venv", str(torch_venv)], check=True)
    pip(torch_venv, "torch==2.13.0")
    rows: list[tuple[str, int, int | None]] = [("venv + torch==2.13.0", du(torch_venv), None)]
    shutil.copytree(torch_venv, core, symlinks=True)
    pip(core, ".")
    core_size = du(core)
    rows.append(("core: pip install .", core_size, core_size - rows[0][1]))
    for extra in EXTRAS:
        venv = base / extra
        shutil.copytree(core, venv, symlinks=True)
        pip(venv, f".[{extra}]")
        size = du(venv)
        rows.append((f'core + "plait[{extra}]"', size, size - core_size))
        shutil.rmtree(venv)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-install", action="store_true", help="Skip the install sizes.")
    parser.add_argument("--no-page", action="store_true", help="print only")
    args = parser.parse_args()
    started, machine = time.time(), page.machine()
    with tempfile.TemporaryDirectory(prefix="plait-first-hour-") as tmp:
        rows = startup_rows(args.repeat, Path(tmp))
    lines = [
        f"**Start-up, fresh process each time ({args.repeat} runs)**",
        "",
        "| command | first run s | median s |",
        "|---|---|---|",
    ]
    lines += [f"| `{label}` | {first:.2f} | {median:.2f} |" for label, first, median in rows]
    if not args.no_install:
        lines += [
            "",
            "**Install sizes (du of the venv)**",
            "",
            "| environment | size | added |",
            "|---|---|---|",
        ]
        for label, size, added in install_rows():
            extra = "" if added is None else f"{added / 2**20:,.0f} MiB"
            lines.append(f"| {label} | {size / 2**20:,.0f} MiB | {extra} |")
        lines += [
            "",
            "Start-up needs no model for `--help`, `info` and the refusal of an existing INDEX "
            "(checked before the model loads); `plait search` spends its time loading torch, "
            "transformers and the model. The core is mostly torch, numba/llvmlite (the index "
            "kernels), transformers, scipy and the packaged MiniLM; everything else is an extra.",
        ]
    text = "\n".join(lines)
    print(text)
    if not args.no_page and not args.no_install:
        page.publish(
            "first-hour",
            command=" ".join(["python benchmarks/first_hour.py", *sys.argv[1:]]),
            body=text,
            started=started,
            machine_line=machine,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
