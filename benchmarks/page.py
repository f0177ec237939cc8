"""The benchmarks page: ``docs/benchmarks.md`` rendered from ``benchmarks/results/*.json``.

Each benchmark script ends with :func:`publish`, which

- writes its result to ``benchmarks/results/<key>.json``: the markdown body (tables and what they
  say), the exact command, the machine, the UTC date, the git commit, and a digest of the code
  the section describes (:data:`SECTIONS`);
- appends the same entry to the dated history, ``benchmarks/log/<YYYY-MM-DD>.md``;
- renders ``docs/benchmarks.md`` again from every result.

The digest covers behaviour, not text: for Python files it hashes the syntax tree without
docstrings and type annotations, so reformatting or documenting code leaves a result current;
any other file (model weights, configuration) is hashed byte for byte.

Usage::

    python benchmarks/page.py            # render docs/benchmarks.md from the results
    python benchmarks/page.py --check    # exit 1 if the page is not the rendering of the results,
                                         # a section was never run, or its code changed since
    python benchmarks/page.py --status   # one line per section: current or stale, and why

``.ci/run`` runs ``--check``: a change to the code a figure describes fails CI until the
benchmark is run again (or the section's sources are corrected).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
LOG = ROOT / "benchmarks" / "log"
PAGE = ROOT / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Section:
    """One section of the page: its result key, heading and the code its figures describe."""

    key: str
    title: str
    sources: tuple[str, ...]


SECTIONS: tuple[Section, ...] = (
    Section(
        "quality",
        "Retrieval quality: the default ColBERT vs BM25 vs the bi-encoder",
        (
            "plait/models",
            "plait/evaluation",
            "plait/baselines",
            "plait/indexes/exact.py",
            "plait/indexes/plaid",
            "plait/kernels",
            "plait/retrieve",
        ),
    ),
    Section(
        "negation",
        "Negation: the default ColBERT vs the bi-encoder vs BM25 on plait's negation dev set",
        (
            "plait/evaluation/negation.py",
            "plait/evaluation/evaluators.py",
            "plait/data/negation_dev.jsonl",
            "plait/models",
            "plait/baselines",
            "plait/scores",
            "plait/cli/evaluate.py",
        ),
    ),
    Section(
        "engines",
        "Search engines on SciFact: plait vs fast-plaid vs xtr-warp-rs, with and without filters",
        ("plait/indexes", "plait/kernels"),
    ),
    Section(
        "maintenance",
        "PLAID maintenance: adds, codebook growth and add/remove cycles",
        ("plait/indexes/plaid", "plait/indexes/segments.py", "plait/indexes/storage.py"),
    ),
    Section(
        "first-hour",
        "First hour: CLI start-up and install sizes",
        ("plait/cli", "plait/__init__.py", "plait/extras.py", "pyproject.toml"),
    ),
    Section(
        "data-safety",
        "Data safety: concurrent readers, bit flips, kill -9",
        (
            "plait/indexes/files.py",
            "plait/indexes/storage.py",
            "plait/indexes/locks.py",
            "plait/indexes/segments.py",
            "plait/indexes/metadata.py",
            "plait/indexes/validation.py",
            "plait/indexes/exact.py",
            "plait/indexes/plaid/index.py",
            "plait/indexes/plaid/store.py",
            "plait/indexes/plaid/codebook.py",
            "plait/cli/folder.py",
            "plait/cli/index.py",
            "plait/cli/add.py",
        ),
    ),
    Section(
        "ray",
        "Ray: distributed encode and sharded search on one machine",
        ("plait/distributed", "plait/indexes/plaid"),
    ),
    Section(
        "metrics",
        "Metrics: trec_eval (pytrec_eval) against ranx",
        ("plait/evaluation/metrics.py",),
    ),
)
BY_KEY = {section.key: section for section in SECTIONS}

INTRO = """\
# Benchmarks

The current figures only, one section per benchmark script, each with the exact command, the
machine and the date of its run. This page is generated: every script in `benchmarks/` ends by
writing its result to `benchmarks/results/<section>.json` and rendering this page again
(`python benchmarks/page.py`); `python benchmarks/page.py --check`, run by CI, fails when a
section's code (listed under each section) has changed since its run. Earlier runs, experiments
and the reasoning behind the shipped settings are in the dated history, `benchmarks/log/`.

The machine is shared (2 CPU cores, other jobs running): absolute times are rough, so peers run
in the same script, interleaved with plait, and the ratios are what to read. Quality figures on a
test split are reports only; every shipped setting was chosen on train data (see the log).
"""


# ------------------------------------------------------------------------------------------ digests
class _StripText(ast.NodeTransformer):
    """Remove docstrings and annotations: what is left is what the code does."""

    def _body(self, node: Any) -> Any:
        self.generic_visit(node)
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
        return node

    def visit_Module(self, node: ast.Module) -> Any:  # noqa: N802 (ast visitor names)
        return self._body(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> Any:  # noqa: N802
        return self._body(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:  # noqa: N802
        node.returns = None
        return self._body(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> Any:  # noqa: N802
        node.returns = None
        return self._body(node)

    def visit_arg(self, node: ast.arg) -> Any:
        node.annotation = None
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> Any:  # noqa: N802
        if node.value is None:
            return None
        return ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno)


def file_digest(name: str, data: bytes) -> str:
    """The behaviour digest of one file's bytes (syntax tree for ``.py``, bytes otherwise)."""
    if name.endswith(".py"):
        try:
            tree = _StripText().visit(ast.parse(data))
            data = ast.dump(tree, annotate_fields=False).encode()
        except SyntaxError:
            pass
    return hashlib.sha256(data).hexdigest()[:16]


def _tracked(paths: Iterable[str]) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--", *paths], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted(p for p in out if "__pycache__" not in p)


def code_digests(sources: Iterable[str]) -> dict[str, str]:
    """``{path: digest}`` of every tracked file under ``sources``, read from the working tree."""
    return {path: file_digest(path, (ROOT / path).read_bytes()) for path in _tracked(sources)}


def changed_files(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """Files added, removed or changed in behaviour between two digest maps."""
    return sorted(p for p in recorded.keys() | current.keys() if recorded.get(p) != current.get(p))


# ------------------------------------------------------------------------------------------ machine
def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> str:
    """One line: CPU model, usable cores, RAM, GPU (none here) and the load average now."""
    import os

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    mem = next(
        (line.split()[1] for line in _read("/proc/meminfo").splitlines() if "MemTotal" in line),
        "0",
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {cores} cores, {int(mem) / 2**20:.0f} GiB RAM, no GPU; load {load} at the start"


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()


# ------------------------------------------------------------------------------------------ publish
def publish(
    key: str,
    *,
    command: str,
    body: str,
    started: float,
    machine_line: str,
    log_only: str = "",
) -> Path:
    """Record one run of the ``key`` section, append it to the dated log, render the page.

    ``started``: ``time.time()`` when the run began; ``machine_line``: :func:`machine` taken at
    the start (so the load average is the one the run saw). ``log_only``: extra markdown for the
    history but not for the page (per-run details, examples).
    """
    section = BY_KEY[key]
    dirty = bool(_git("status", "--porcelain", "--", *section.sources))
    result = {
        "key": key,
        "title": section.title,
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
        "minutes": round((time.time() - started) / 60, 1),
        "machine": machine_line,
        "commit": _git("rev-parse", "--short", "HEAD")
        + (" + uncommitted changes" if dirty else ""),
        "code": code_digests(section.sources),
        "body": body.strip(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{key}.json"
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    entry = _section_text(result, heading=f"## {section.title}, {result['date']}")
    append_log(entry + ("\n\n" + log_only.strip() if log_only else ""), started)
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)} and {PAGE.relative_to(ROOT)}")
    return path


def append_log(entry: str, when: float | None = None) -> Path:
    """Append a markdown entry to the dated history, ``benchmarks/log/<YYYY-MM-DD>.md`` (UTC)."""
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() if when is None else when))
    path = LOG / f"{day}.md"
    LOG.mkdir(parents=True, exist_ok=True)
    head = "" if path.exists() else f"# Benchmarks log, {day}\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(head + "\n" + entry.strip() + "\n")
    return path


# ------------------------------------------------------------------------------------------ render
def load_results() -> dict[str, dict[str, Any]]:
    """Every recorded result by key (a file that does not parse raises, naming it)."""
    out = {}
    for path in sorted(RESULTS.glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise SystemExit(f"{path}: unreadable benchmark result ({error})") from None
    return out


def _section_text(result: dict[str, Any], heading: str) -> str:
    took = f" ({result['minutes']:g} min)" if result.get("minutes") else ""
    return "\n".join(
        [
            heading,
            "",
            f"Command: `{result['command']}`  ",
            f"Run: {result['date']}{took}, commit {result['commit']}  ",
            f"Machine: {result['machine']}",
            "",
            result["body"],
        ]
    )


def render() -> str:
    """The page: the introduction, then each section that has a result, in :data:`SECTIONS` order."""
    results = load_results()
    parts = [INTRO]
    for section in SECTIONS:
        if section.key not in results:
            continue
        text = _section_text(results[section.key], heading=f"## {section.title}")
        sources = ", ".join(f"`{s}`" for s in section.sources)
        parts.append(text + f"\n\nCode this section describes: {sources}.\n")
    return "\n".join(parts)


def status() -> list[tuple[str, bool, str]]:
    """``(key, current, why)`` for every section."""
    results = load_results()
    out = []
    for section in SECTIONS:
        result = results.get(section.key)
        if result is None:
            out.append((section.key, False, "never run"))
            continue
        changed = changed_files(result["code"], code_digests(section.sources))
        if changed:
            shown = ", ".join(changed[:6]) + (
                f" and {len(changed) - 6} more" if len(changed) > 6 else ""
            )
            why = f"code changed since its run at {result['commit']}: {shown}"
            out.append((section.key, False, why))
        else:
            out.append((section.key, True, f"current (run {result['date']}, {result['commit']})"))
    return out


def main(argv: list[str] | None = None) -> int:
    """Render, check or report the page."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="fail if stale or not rendered")
    group.add_argument("--status", action="store_true", help="say which sections are current")
    args = parser.parse_args(argv)
    if not (args.check or args.status):
        PAGE.write_text(render(), encoding="utf-8")
        print(f"wrote {PAGE.relative_to(ROOT)}")
        return 0
    problems = []
    for key, current, why in status():
        print(f"{key}: {why}")
        if not current:
            problems.append(key)
    if args.check:
        if PAGE.read_text(encoding="utf-8") != render():
            print(f"{PAGE.relative_to(ROOT)} is not the rendering of benchmarks/results/")
            problems.append("page")
        if problems:
            print(
                "stale benchmarks page: rerun the scripts of "
                + ", ".join(problems)
                + " (see each section's command) or run benchmarks/page.py"
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
