"""Run PyLate 1.6.0's own test files against plait (and against PyLate) offline, and compare.

Usage::

    .venv/bin/python tests/pylate_suite/run.py [--pylate-python PATH] [--files test_plaid.py ...]

Steps: download PyLate's sdist with pip into a cache folder (``.cache/pylate-suite``, skipped
with a message and exit status 0 when the package registry cannot be reached), extract its
``tests/``, build the tiny local models that replace the hub names those tests load
(:mod:`tiny_models`), rewrite the copies (:mod:`rewrite`) and run them with pytest, once per
library. PyLate's outcomes come from ``--pylate-python`` (a Python that imports pylate 1.6.0)
or, without it, from the outcomes recorded in ``pylate_outcomes.json`` (``--record`` writes it).

Exit status 1 when a test that passes on PyLate does not pass on plait and
``known_differences.md`` does not list it, or when that file lists a test that is no longer a
difference (a stale entry); 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import rewrite  # noqa: E402
import tiny_models  # noqa: E402

PYLATE_VERSION = "1.6.0"
REPO = HERE.parents[1]
DEFAULT_CACHE = REPO / ".cache" / "pylate-suite"
RECORDED = HERE / "pylate_outcomes.json"
KNOWN = HERE / "known_differences.md"
OUTCOMES = ("passed", "failed", "error", "skipped")

# the conftest.py of each run folder: one JSON line per test phase that did not simply pass
RECORDER = '''"""Written by tests/pylate_suite/run.py: records every outcome as a JSON line."""
import json
import os

_PATH = os.environ["PYLATE_SUITE_OUTCOMES"]


def _write(report, when):
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr or "")
    record = {"nodeid": report.nodeid, "when": when, "outcome": report.outcome,
              "message": message.strip().splitlines()[-1][:300] if message.strip() else ""}
    with open(_PATH, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\\n")


def pytest_collectreport(report):
    if report.outcome != "passed":
        _write(report, "collect")


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _write(report, report.when)
'''

# PyLate's own pytest settings (its pyproject), less coverage and doctests of its package
PYTEST_INI = """[pytest]
markers =
    model_loading: marks tests that download large models
    slow: long-running tests
    web: tests that need the network
    flaky(reruns, reruns_delay): pytest-rerunfailures (disabled here: one run per test)
filterwarnings =
    ignore::DeprecationWarning
    ignore::RuntimeWarning
    ignore::UserWarning
addopts = -m "not web and not slow" -p no:cacheprovider -p no:rerunfailures -q
    --continue-on-collection-errors
"""


def say(message: str) -> None:
    """Print a progress line to stderr (the report goes to stdout)."""
    print(f"[pylate-suite] {message}", file=sys.stderr, flush=True)


def fetch_sdist(cache: Path, timeout: float = 300.0) -> Path | None:
    """Return PyLate's sdist in ``cache``, downloading it with pip the first time.

    Parameters
    ----------
    cache
        The harness's cache folder.
    timeout
        Seconds pip may take.

    Returns
    -------
    Path or None
        The ``.tar.gz``; ``None`` when it is not cached and pip cannot download it.
    """
    folder = cache / "sdist"
    found = sorted(folder.glob(f"pylate-{PYLATE_VERSION}.tar.gz"))
    if found:
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    command += ["--quiet", "--retries", "1", "--timeout", "30"]
    command += [f"pylate=={PYLATE_VERSION}", "-d", str(folder)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        say(f"pip download timed out after {timeout:.0f} s")
        return None
    if done.returncode != 0:
        say("pip download failed: " + " | ".join(done.stderr.strip().splitlines()[-3:]))
        return None
    found = sorted(folder.glob(f"pylate-{PYLATE_VERSION}.tar.gz"))
    return found[0] if found else None


def extract_tests(sdist: Path, dest: Path) -> list[Path]:
    """Extract the sdist's ``tests/`` folder into ``dest``; return its test files.

    Parameters
    ----------
    sdist
        PyLate's source archive.
    dest
        An empty (or disposable) folder.

    Returns
    -------
    list[Path]
        ``dest/tests/test_*.py``, sorted.
    """
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    prefix = f"pylate-{PYLATE_VERSION}/tests/"
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith(prefix):
                target = dest / "tests" / member.name[len(prefix) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                target.write_bytes(source.read())
    return sorted((dest / "tests").glob("test_*.py"))


def prepare_run(
    files: Sequence[Path], run_dir: Path, target: str, names: Mapping[str, Path]
) -> None:
    """Write the rewritten copies of ``files``, the recorder conftest and pytest.ini to ``run_dir``.

    Parameters
    ----------
    files
        PyLate's test files.
    run_dir
        The run's folder (emptied first); the tests run with it as the working directory.
    target
        ``"plait"`` or ``"pylate"``.
    names
        Hub names to local folders.
    """
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "tests").mkdir(parents=True)
    for path in files:
        text = rewrite.rewrite_source(path.read_text(encoding="utf-8"), target, names, path.name)
        (run_dir / "tests" / path.name).write_text(text, encoding="utf-8")
    (run_dir / "conftest.py").write_text(RECORDER, encoding="utf-8")
    (run_dir / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")


@dataclass
class RunResult:
    """The outcomes of one pytest run over the rewritten tests.

    Parameters
    ----------
    outcomes
        Test id (or file, for a collection error or a skipped module) to its outcome.
    messages
        Test id to the last line of its failure, for those that did not pass.
    seconds
        Wall time of the run.
    timed_out
        Whether the run was stopped at its time limit (later tests have no outcome).
    """

    outcomes: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    timed_out: bool = False


def combine(records: Iterable[Mapping[str, str]]) -> RunResult:
    """Fold per-phase records (setup, call, teardown, collect) into one outcome per test.

    Parameters
    ----------
    records
        The recorder's JSON lines, in order.

    Returns
    -------
    RunResult
        ``error`` for a failed setup, teardown or collection, ``failed`` for a failed call,
        ``skipped`` for a skip, ``passed`` otherwise.

    Examples
    --------
    >>> combine([{"nodeid": "t.py::a", "when": "call", "outcome": "passed"},
    ...          {"nodeid": "t.py::a", "when": "teardown", "outcome": "failed"}]).outcomes
    {'t.py::a': 'error'}
    """
    result = RunResult()
    for record in records:
        nodeid, when, outcome = record["nodeid"], record["when"], record["outcome"]
        previous = result.outcomes.get(nodeid)
        if outcome == "failed":
            outcome = "failed" if when == "call" else "error"
        if previous == "error" or (previous == "failed" and outcome != "error"):
            continue
        result.outcomes[nodeid] = outcome
        if outcome != "passed" and record.get("message"):
            result.messages[nodeid] = record["message"]
    return result


def run_pytest(python: str, run_dir: Path, timeout: float, extra: Sequence[str] = ()) -> RunResult:
    """Run pytest over ``run_dir/tests`` with ``python``, offline; collect the outcomes.

    Parameters
    ----------
    python
        The interpreter (its environment holds the library under test).
    run_dir
        A folder made by :func:`prepare_run`.
    timeout
        Seconds before the run is stopped.
    extra
        More pytest arguments.

    Returns
    -------
    RunResult
        The outcomes, with test ids relative to ``run_dir``.
    """
    log = run_dir / "outcomes.jsonl"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.update(
        PYLATE_SUITE_OUTCOMES=str(log),
        HF_HOME=str(run_dir / "hf-home"),  # PyLate's model-loading test deletes the hub cache
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONDONTWRITEBYTECODE="1",
    )
    command = [python, "-m", "pytest", "tests", *extra]
    start = time.monotonic()
    timed_out = False
    with open(run_dir / "pytest.log", "w", encoding="utf-8") as output:
        try:
            subprocess.run(
                command,
                cwd=run_dir,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            timed_out = True
    records = []
    if log.is_file():
        records = [
            json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line
        ]
    result = combine(records)
    result.seconds, result.timed_out = time.monotonic() - start, timed_out
    return result


def normalise(result: RunResult, names: Mapping[str, Path]) -> RunResult:
    """Write hub names back into test ids (parametrised ids hold the local paths).

    Parameters
    ----------
    result
        A run's outcomes.
    names
        Hub names to the (distinct) local paths they were rewritten to.

    Returns
    -------
    RunResult
        The same outcomes keyed by ids that name the hub models, as in PyLate's own runs.
    """

    def fix(nodeid: str) -> str:
        for name, path in names.items():
            nodeid = nodeid.replace(str(path), name)
        return nodeid

    return RunResult(
        outcomes={fix(k): v for k, v in result.outcomes.items()},
        messages={fix(k): v for k, v in result.messages.items()},
        seconds=result.seconds,
        timed_out=result.timed_out,
    )


def file_of(nodeid: str) -> str:
    """Return the file part of a test id (``tests/test_x.py::a[b]`` -> ``tests/test_x.py``)."""
    return nodeid.split("::", 1)[0]


def outcome_of(result: RunResult, nodeid: str) -> str:
    """Return a test's outcome, its file's (collection error, skipped module) or ``missing``."""
    return result.outcomes.get(nodeid) or result.outcomes.get(file_of(nodeid)) or "missing"


def per_file(result: RunResult) -> dict[str, Counter[str]]:
    """Count outcomes per test file; a whole-file outcome counts as ``collection error``/``module skipped``."""
    table: dict[str, Counter[str]] = {}
    for nodeid, outcome in result.outcomes.items():
        counts = table.setdefault(file_of(nodeid), Counter())
        if "::" in nodeid:
            counts[outcome] += 1
        else:
            counts["collection error" if outcome == "error" else "module skipped"] += 1
    return table


def load_known(path: Path = KNOWN) -> dict[str, dict[str, str]]:
    """Read the tables of ``known_differences.md``: section title to {test id: first reason}.

    Parameters
    ----------
    path
        The markdown file; a table row's first cell is a test id in backticks (a file, class or
        parametrised function covers the tests in it, see :func:`covers`).

    Returns
    -------
    dict[str, dict[str, str]]
        ``{"deliberate": {...}, "gaps": {...}}``: ``## Deliberate differences`` and
        ``## Open gaps`` rows.
    """
    sections: dict[str, dict[str, str]] = {"deliberate": {}, "gaps": {}}
    current: dict[str, str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            title = line[3:].strip().lower()
            current = (
                sections["deliberate"]
                if title.startswith("deliberate")
                else (sections["gaps"] if title.startswith("open gaps") else None)
            )
        elif current is not None and line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            current[cells[0].strip("`")] = cells[1] if len(cells) > 1 else ""
    return sections


def covers(entry: str, nodeid: str) -> bool:
    """Whether a list entry names ``nodeid``: the same id, its file or class, or all its parameters.

    Examples
    --------
    >>> covers("tests/test_a.py::test_b", "tests/test_a.py::test_b[x-1]")
    True
    >>> covers("tests/test_a.py::test_b", "tests/test_a.py::test_bc")
    False
    """
    return nodeid == entry or nodeid.startswith((entry + "::", entry + "["))


def listed(nodeid: str, entries: Iterable[str]) -> str | None:
    """Return the entry that covers ``nodeid`` (see :func:`covers`), if any."""
    for entry in entries:
        if covers(entry, nodeid):
            return entry
    return None


@dataclass
class Comparison:
    """Tests that pass on PyLate and not on plait, sorted by what the list says of them.

    Parameters
    ----------
    deliberate, gaps, unexpected
        Test id to plait's outcome: listed as deliberate, listed as an open gap, not listed.
    stale
        Entries of ``known_differences.md`` that no longer match such a test.
    plait_only
        Tests that pass on plait and not on PyLate (information only).
    """

    deliberate: dict[str, str] = field(default_factory=dict)
    gaps: dict[str, str] = field(default_factory=dict)
    unexpected: dict[str, str] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    plait_only: dict[str, str] = field(default_factory=dict)


def compare(
    plait: RunResult, pylate: RunResult, known: Mapping[str, Mapping[str, str]]
) -> Comparison:
    """Compare the runs test by test against the known-differences list.

    Parameters
    ----------
    plait, pylate
        The two runs (PyLate's may be the recorded one).
    known
        :func:`load_known`'s sections.

    Returns
    -------
    Comparison
        What differs and whether the list expects it.
    """
    result = Comparison()
    used: set[str] = set()
    for nodeid, outcome in sorted(pylate.outcomes.items()):
        if "::" not in nodeid or outcome != "passed":
            continue
        ours = outcome_of(plait, nodeid)
        if ours == "passed":
            continue
        for section, bucket in (("deliberate", result.deliberate), ("gaps", result.gaps)):
            entry = listed(nodeid, known[section])
            if entry is not None:
                bucket[nodeid] = ours
                used.add(entry)
                break
        else:
            result.unexpected[nodeid] = ours
    for nodeid, outcome in sorted(plait.outcomes.items()):
        if "::" in nodeid and outcome == "passed" and outcome_of(pylate, nodeid) != "passed":
            result.plait_only[nodeid] = outcome_of(pylate, nodeid)
    result.stale = sorted(e for section in known.values() for e in section if e not in used)
    return result


def format_table(runs: Mapping[str, RunResult]) -> str:
    """Return a markdown table of passed/failed/error/skipped per test file, one column per run."""
    files = sorted({f for run in runs.values() for f in per_file(run)})
    head = "| file | " + " | ".join(f"{name} (pass/fail/error/skip)" for name in runs) + " |"
    lines = [head, "|---" * (len(runs) + 1) + "|"]
    for name in files:
        cells = []
        for run in runs.values():
            counts = per_file(run).get(name, Counter())
            if counts["collection error"]:
                cells.append("collection error")
            elif counts["module skipped"]:
                cells.append("module skipped")
            else:
                cells.append("/".join(str(counts[o]) for o in OUTCOMES))
        lines.append(f"| {Path(name).name} | " + " | ".join(cells) + " |")
    totals = [
        "/".join(str(sum(c[o] for c in per_file(r).values())) for o in OUTCOMES)
        for r in runs.values()
    ]
    lines.append("| **total** | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def format_comparison(comparison: Comparison, plait: RunResult) -> str:
    """Return the comparison as text: unexpected differences first, then the listed ones."""
    lines = []
    sections = (
        (
            "UNEXPECTED: passes on PyLate, not on plait, not in known_differences.md",
            comparison.unexpected,
        ),
        ("open gaps (known_differences.md)", comparison.gaps),
        ("deliberate differences (known_differences.md)", comparison.deliberate),
        ("passes on plait, not on PyLate", comparison.plait_only),
    )
    for title, tests in sections:
        if tests:
            lines.append(f"\n{title}: {len(tests)}")
            for nodeid, outcome in tests.items():
                message = plait.messages.get(nodeid) or plait.messages.get(file_of(nodeid), "")
                lines.append(f"  {nodeid}: {outcome}" + (f" -- {message}" if message else ""))
    if comparison.stale:
        lines.append(
            f"\nSTALE entries in known_differences.md (no longer a difference): {len(comparison.stale)}"
        )
        lines += [f"  {entry}" for entry in comparison.stale]
    return "\n".join(lines)


def versions(python: str) -> dict[str, str]:
    """Return the versions of the libraries the tests depend on, as ``python`` sees them."""
    code = (
        "import json, importlib.metadata as m\n"
        "out = {}\n"
        "for p in ('pylate', 'plait', 'sentence-transformers', 'transformers', 'torch', 'fast-plaid'):\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
    return json.loads(done.stdout) if done.returncode == 0 else {}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE, help="cache folder (%(default)s)"
    )
    parser.add_argument(
        "--plait-python", default=sys.executable, help="Python with plait installed"
    )
    parser.add_argument(
        "--pylate-python", help="Python with pylate 1.6.0 installed: run PyLate too"
    )
    parser.add_argument(
        "--record", action="store_true", help=f"write PyLate's outcomes to {RECORDED.name}"
    )
    parser.add_argument("--files", nargs="+", help="only these test files (e.g. test_plaid.py)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per pytest run")
    parser.add_argument("--json", type=Path, help="write both runs and the comparison here")
    parser.add_argument("--pytest-arg", action="append", default=[], help="passed on to pytest")
    return parser.parse_args(argv)


def run_target(
    target: str,
    python: str,
    files: Sequence[Path],
    names: Mapping[str, Path],
    args: argparse.Namespace,
) -> RunResult:
    """Prepare and run one library's copy of the tests; return its normalised outcomes."""
    run_dir = args.cache / "runs" / target
    prepare_run(files, run_dir, target, names)
    say(f"running {len(files)} test files on {target} ({python})")
    result = normalise(run_pytest(python, run_dir, args.timeout, args.pytest_arg), names)
    state = " (TIMED OUT)" if result.timed_out else ""
    say(
        f"{target}: {len(result.outcomes)} outcomes in {result.seconds:.0f} s{state}; log {run_dir / 'pytest.log'}"
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite; return the exit status (see the module docstring)."""
    args = parse_args(argv)
    args.cache = args.cache.resolve()
    # absolute, but not resolved: a venv's python is a link that must stay in its venv
    args.plait_python = os.path.abspath(args.plait_python)
    if args.pylate_python:
        args.pylate_python = os.path.abspath(args.pylate_python)
    sdist = fetch_sdist(args.cache)
    if sdist is None:
        print(
            f"SKIP: PyLate {PYLATE_VERSION}'s sdist is not cached and the package registry cannot be reached"
        )
        return 0
    files = extract_tests(sdist, args.cache / f"pylate-{PYLATE_VERSION}")
    if args.files:
        wanted = {Path(f).name for f in args.files}
        files = [f for f in files if f.name in wanted]
    say("building the tiny models")
    names = tiny_models.build_all(args.cache / "models")
    for path in files:
        left = rewrite.hub_names_in(rewrite.rewrite_names(path.read_text(encoding="utf-8"), names))
        if left:
            say(f"{path.name}: hub names without a local stand-in: {sorted(left)}")
    runs = {"plait": run_target("plait", args.plait_python, files, names, args)}
    if args.pylate_python:
        pylate = run_target("pylate", args.pylate_python, files, names, args)
        if args.record:
            recorded = {"versions": versions(args.pylate_python), "outcomes": pylate.outcomes}
            RECORDED.write_text(
                json.dumps(recorded, indent=1, sort_keys=True) + "\n", encoding="utf-8"
            )
            say(f"recorded PyLate's outcomes in {RECORDED}")
        runs["pylate"] = pylate
    elif RECORDED.is_file():
        recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
        chosen = {file_of(n) for n in runs["plait"].outcomes} if args.files else None
        outcomes = {
            k: v for k, v in recorded["outcomes"].items() if chosen is None or file_of(k) in chosen
        }
        runs["pylate (recorded)"] = RunResult(outcomes=outcomes)
    print(format_table(runs))
    status = 0
    if len(runs) > 1:
        pylate_run = next(run for name, run in runs.items() if name != "plait")
        known = load_known()
        if args.files:  # entries for files outside the selection are not stale
            chosen_files = {f"tests/{f.name}" for f in files}
            known = {
                s: {e: r for e, r in t.items() if file_of(e) in chosen_files}
                for s, t in known.items()
            }
        comparison = compare(runs["plait"], pylate_run, known)
        print(format_comparison(comparison, runs["plait"]))
        status = 1 if comparison.unexpected or comparison.stale else 0
        if args.json:
            payload = {
                "runs": {name: run.outcomes for name, run in runs.items()},
                "messages": runs["plait"].messages,
                "comparison": comparison.__dict__,
            }
            args.json.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    else:
        print("\n(no PyLate outcomes: pass --pylate-python, or record them once with --record)")
    if any(run.timed_out for run in runs.values()):
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
