"""Kill -9 of plait's writing commands and of the server's write endpoints: texts and vectors never
out of step (issue 24, acceptance). Not part of CI: several minutes on a 2-core machine.

Commands, each a row of the table: ``plait add INDEX new.jsonl``, ``plait add INDEX revised.jsonl
--upsert``, ``plait remove INDEX ID...`` (with and without ``--compact``), and on ``plait serve INDEX
--no-model``: ``POST /documents``, ``PUT /documents`` (upsert) and ``POST /documents/delete`` with
token embeddings. Two tiny indexes are built once by ``plait index`` (the default offline model) on
the first 40 documents of ``../shared/data/scifact/corpus.jsonl`` (read there; the document files
this script writes live in a temporary folder), one exact and one PLAID; every run works on a copy.

Each command or server is started through a small launcher that runs ``plait``'s own ``main()``
after counting its commit-path system calls (``os.fsync`` / ``os.replace``). One unkilled run per
command and index kind gives the *new* state (the template is the *old* one), the number of those
calls and the write window (from the first call to the end). Killed runs rotate through three kill
points: **syscall** (the launcher SIGKILLs its own process at the N-th call, N drawn from the calls
the unkilled run made), **window** (the parent SIGKILLs it at a random moment of the write window:
after the first commit-path call of a command, after sending the request to a server) and **timer**
(commands: a random moment of the whole unkilled run, model loading included). A server is
SIGKILLed in every run, after the answer if none of these came first.

After each run: ``plait info INDEX --verify`` passes; the index opens and holds exactly the old or
the new state: the same ids, and for every id its text and its vectors of that state (vectors bit
for bit, both kinds: encoding and PLAID compression are deterministic here), never the text of one
version with the vectors of the other; every id has its text unless the layout says texts are off
(``cli.json``) or the document was written through the server as embeddings (then it has none, as
docs/serving.md says); ``plait search`` answers with ids of the index. The unkilled runs are checked
against what was sent too (server writes: those ids and embeddings, no texts; removes: those ids
gone). Prints a table and exits 1 on any failure.

    .venv/bin/python benchmarks/cli_kill_test.py                # 8 runs per row, 56 runs
    .venv/bin/python benchmarks/cli_kill_test.py --runs 2 --kinds exact --keep
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"
ENV = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
MODES = ("syscall", "window", "timer")
REMOVED = 5  # documents `plait remove` takes out
QUERY = "cancer cells"

# Runs `plait ARGS...` in this interpreter after wrapping os.fsync / os.replace: every call writes the
# running count to $PLAIT_COUNT_FILE, and call number $PLAIT_KILL_AT SIGKILLs the process first.
LAUNCHER = r"""
import os, signal, sys
KILL_AT, COUNT_FILE, CALLS = int(os.environ.get("PLAIT_KILL_AT") or 0), os.environ["PLAIT_COUNT_FILE"], [0]
def counted(real):
    def call(*args, **kwargs):
        CALLS[0] += 1
        with open(COUNT_FILE, "w") as handle:
            handle.write(str(CALLS[0]))
        if CALLS[0] == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call
os.fsync, os.replace = counted(os.fsync), counted(os.replace)
sys.argv[0] = "plait"
from plait.cli.main import main
main()
"""


# ---------------------------------------------------------------------- states
@dataclass
class Snapshot:
    """What an index folder holds: texts and vectors per id."""

    texts: dict[str, str | None]
    vectors: dict[str, np.ndarray]
    texts_on: bool = True

    @property
    def ids(self) -> set[str]:
        return set(self.texts)


def snapshot(folder: Path) -> Snapshot:
    from plait.cli._common import read_cli_meta
    from plait.cli.search import open_cli_index

    index, _, texts = open_cli_index(folder)
    ids = sorted(index.documents_ids)
    if len(ids) != len(set(ids)) or len(ids) != len(index):
        raise AssertionError(
            f"documents_ids lists {len(ids)} ids ({len(set(ids))} distinct), len() {len(index)}"
        )
    vectors = dict(zip(ids, index.get_documents_embeddings(ids), strict=True)) if ids else {}
    meta = read_cli_meta(folder) or {}
    return Snapshot({i: texts.get(i) for i in ids}, vectors, bool(meta.get("texts", True)))


def same_doc(a: Snapshot, b: Snapshot, doc_id: str) -> tuple[bool, bool]:
    """(same text, same vectors) of ``doc_id`` in two snapshots that both hold it."""
    va, vb = a.vectors[doc_id], b.vectors[doc_id]
    return a.texts[doc_id] == b.texts[doc_id], va.shape == vb.shape and bool(np.array_equal(va, vb))


def classify(got: Snapshot, old: Snapshot, new: Snapshot, embedded: set[str]) -> tuple[str, str]:
    """``("old" | "new", "")`` when ``got`` is exactly one of the states, else a failure and why.
    ``embedded``: ids written through the server as embeddings (they have no text)."""
    missing = [
        i for i in sorted(got.ids) if got.texts_on and got.texts[i] is None and i not in embedded
    ]
    if missing:
        return "missing text", f"{len(missing)} id(s) without a text, e.g. {missing[0]}"
    problems = []
    for name, state in (("old", old), ("new", new)):
        if got.ids != state.ids:
            problems.append(f"{name}: ids differ by {sorted(got.ids ^ state.ids)[:4]}")
            continue
        bad = [(i, *same_doc(got, state, i)) for i in sorted(got.ids)]
        bad = [b for b in bad if not (b[1] and b[2])]
        if not bad:
            return name, ""
        problems.append(
            f"{name}: {len(bad)} document(s) differ, e.g. {bad[0][0]} "
            f"(text {'same' if bad[0][1] else 'differs'}, vectors {'same' if bad[0][2] else 'differ'})"
        )
    if got.ids in (old.ids, new.ids):
        # the ids of a state, but not its texts and vectors: find a document out of step
        for i in sorted(got.ids & old.ids & new.ids):
            text_old, vec_old = same_doc(got, old, i)
            text_new, vec_new = same_doc(got, new, i)
            if (text_old and vec_new and not vec_old) or (text_new and vec_old and not vec_new):
                return "out of step", f"{i}: the text of one version with the vectors of the other"
        return "mixed versions", "; ".join(problems)
    return "ids of neither state", "; ".join(problems)


def cli_ok(args: list[str]) -> tuple[bool, str]:
    """Run a plait command in this process (the real typer app); (exit code 0, output)."""
    from typer.testing import CliRunner

    from plait.cli.main import app

    result = CliRunner().invoke(app, args)
    return result.exit_code == 0, result.output


def check_folder(run: Path, old: Snapshot, new: Snapshot, embedded: set[str]) -> tuple[str, str]:
    ok, output = cli_ok(["info", str(run), "--verify", "--json"])
    if not ok:
        return "info --verify fails", output.strip()[-300:]
    try:
        got = snapshot(run)
    except Exception as error:  # noqa: BLE001 - a folder that does not open is a finding
        return "does not open", f"{type(error).__name__}: {error}"[:300]
    status, detail = classify(got, old, new, embedded)
    if status not in ("old", "new"):
        return status, detail
    ok, output = cli_ok(["search", str(run), QUERY, "-k", "3", "--json"])
    if not ok:
        return "search fails", output.strip()[-300:]
    hits = [hit["id"] for hit in json.loads(output)[0]["results"]]
    if not hits or not set(hits) <= got.ids:
        return "search answers wrong ids", str(hits)
    return status, ""


# ---------------------------------------------------------------------- processes
def read_count(path: Path) -> int:
    try:
        return int(path.read_text() or 0)
    except (OSError, ValueError):
        return 0


def launch(args: list[str], count_file: Path, kill_at: int, log: Any) -> subprocess.Popen:
    """``plait ARGS`` through the launcher, run in the work folder (plait is imported as this
    interpreter finds it: the editable install, or ``PYTHONPATH``)."""
    count_file.unlink(missing_ok=True)
    env = dict(ENV, PLAIT_KILL_AT=str(kill_at), PLAIT_COUNT_FILE=str(count_file))
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *args],
        env=env,
        cwd=count_file.parent,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@dataclass
class Outcome:
    killed: bool  # the process died of SIGKILL before it finished its work
    calls: int  # commit-path calls it made
    ready_calls: int = 0  # of which before the server answered /health
    seconds: float = 0.0  # whole run (commands) or the request (server)
    first_call: float | None = None  # when the first commit-path call came (commands)
    error: str = ""  # an unkilled run that failed


def run_command(
    args: list[str],
    count_file: Path,
    log: Any,
    kill_at: int = 0,
    timer: float | None = None,
    after_first_call: float | None = None,
) -> Outcome:
    """A plait command; SIGKILLed ``timer`` s after its start or ``after_first_call`` s after its
    first commit-path call (or by the launcher at call ``kill_at``)."""
    proc = launch(args, count_file, kill_at, log)
    started = time.perf_counter()
    first = None
    deadline = None if timer is None else started + timer
    while proc.poll() is None:
        now = time.perf_counter()
        if first is None and count_file.exists():
            first = now - started
            if after_first_call is not None:
                deadline = now + after_first_call
        if deadline is not None and now >= deadline:
            kill(proc)
            break
        time.sleep(0.0005 if first is None or deadline is not None else 0.01)
    seconds = time.perf_counter() - started
    killed = proc.returncode == -signal.SIGKILL
    error = "" if killed or proc.returncode == 0 else f"exit {proc.returncode}"
    return Outcome(killed, read_count(count_file), seconds=seconds, first_call=first, error=error)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(
    port: int, method: str, path: str, body: Any = None, timeout: float = 60.0
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")[:300]


def run_server_write(
    run: Path,
    method: str,
    path: str,
    body: Any,
    count_file: Path,
    log: Any,
    kill_at: int = 0,
    delay: float | None = None,
) -> Outcome:
    """``plait serve RUN --no-model``, one write request, then SIGKILL: ``delay`` s after sending
    it, or by the launcher at call ``kill_at``, or (neither) once the answer came."""
    port = free_port()
    proc = launch(
        ["serve", str(run), "--no-model", "--port", str(port), "--log-level", "warning"],
        count_file,
        kill_at,
        log,
    )
    try:
        deadline = time.perf_counter() + 120
        while True:
            if proc.poll() is not None:
                calls = read_count(count_file)
                if proc.returncode == -signal.SIGKILL:  # killed at a commit-path call of its start
                    return Outcome(True, calls, ready_calls=calls)
                return Outcome(False, calls, error=f"server exited {proc.returncode} at start")
            try:
                if request(port, "GET", "/health", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() > deadline:
                return Outcome(False, 0, error="server did not start")
            time.sleep(0.05)
        ready_calls = read_count(count_file)
        answer: dict[str, Any] = {}

        def send() -> None:
            started = time.perf_counter()
            try:
                answer["status"], answer["body"] = request(port, method, path, body)
            except Exception as error:  # noqa: BLE001 - the server died under the request
                answer["status"], answer["body"] = None, repr(error)
            answer["seconds"] = time.perf_counter() - started

        thread = threading.Thread(target=send)
        thread.start()
        thread.join(delay)
        kill(proc)
        thread.join(60)
    finally:
        kill(proc)
    done = answer.get("status") == 200
    error = (
        "" if done or answer.get("status") is None else f"HTTP {answer['status']}: {answer['body']}"
    )
    return Outcome(
        not done,
        read_count(count_file),
        seconds=float(answer.get("seconds") or 0.0),
        error=error,
        ready_calls=ready_calls,
    )


# ---------------------------------------------------------------------- the collection and the rows
def load_corpus(path: Path, n: int) -> list[dict[str, Any]]:
    docs = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                docs.append(json.loads(line))
            if len(docs) == n:
                break
    return docs


def write_jsonl(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


@dataclass
class Row:
    name: str
    kind: str  # "command" or "server"
    args: list[str] = field(default_factory=list)  # command: after the index folder
    method: str = ""
    path: str = ""
    body: dict[str, Any] | None = None

    def command(self, run: Path) -> list[str]:
        return [self.args[0], str(run), *self.args[1:]]


@dataclass
class Collection:
    ids: list[str]  # the 40 documents of the template indexes
    new: Path  # 10 more documents, for `plait add`
    revised: Path  # 6 of the 40 with a new text and 2 more, for `plait add --upsert`


def write_collection(work: Path, corpus: Path) -> Collection:
    docs = load_corpus(corpus, 52)
    base, extra = docs[:40], docs[40:]
    write_jsonl(work / "corpus.jsonl", base)
    new = write_jsonl(work / "new.jsonl", extra[:10])
    revised = [dict(d, text="REVISED. " + d.get("text", "")) for d in base[:6]] + extra[10:12]
    return Collection(
        [str(d["_id"]) for d in base], new, write_jsonl(work / "revised.jsonl", revised)
    )


def make_rows(collection: Collection, dim: int) -> list[Row]:
    ids = collection.ids
    rng = np.random.default_rng(0)

    def matrices(n: int) -> list[list[list[float]]]:
        out = []
        for _ in range(n):
            m = rng.standard_normal((int(rng.integers(3, 12)), dim))
            out.append((m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32).tolist())
        return out

    return [
        Row("plait add", "command", ["add", str(collection.new)]),
        Row("plait add --upsert", "command", ["add", str(collection.revised), "--upsert"]),
        Row("plait remove", "command", ["remove", *ids[10 : 10 + REMOVED]]),
        Row("plait remove --compact", "command", ["remove", *ids[15 : 15 + REMOVED], "--compact"]),
        Row(
            "POST /documents",
            "server",
            method="POST",
            path="/documents",
            body={"ids": [f"srv-{i}" for i in range(4)], "embeddings": matrices(4)},
        ),
        Row(
            "PUT /documents",
            "server",
            method="PUT",
            path="/documents",
            body={"ids": [*ids[20:23], "srv-upsert"], "embeddings": matrices(4)},
        ),
        Row(
            "POST /documents/delete",
            "server",
            method="POST",
            path="/documents/delete",
            body={"ids": ids[25:29]},
        ),
    ]


def expected_problem(row: Row, old: Snapshot, new: Snapshot) -> str:
    """Check an unkilled run's state against what was asked (beyond it being readable)."""
    if row.body is not None and "embeddings" in row.body:
        want = set(old.ids) | set(row.body["ids"])
        if new.ids != want:
            return f"ids {sorted(new.ids ^ want)[:4]} wrong after {row.name}"
        for doc_id, sent in zip(row.body["ids"], row.body["embeddings"], strict=True):
            got, sent_array = new.vectors[doc_id], np.asarray(sent, dtype=np.float32)
            if (
                got.shape != sent_array.shape
                or float(np.mean(np.sum(got * sent_array, axis=1))) < 0.5
            ):
                return f"{doc_id}: stored vectors are not the ones sent"
            if new.texts[doc_id] is not None:
                return f"{doc_id}: written as embeddings but has a text"
    removed = (
        set(row.body["ids"]) if row.body is not None and "embeddings" not in row.body else set()
    )
    if row.args and row.args[0] == "remove":
        removed = {a for a in row.args[1:] if not a.startswith("--")}
    if removed and new.ids != old.ids - removed:
        return f"{row.name} did not remove exactly {sorted(removed)[:4]}"
    return ""


# ---------------------------------------------------------------------- the runs
@dataclass
class Tally:
    runs: int = 0
    modes: Counter = field(default_factory=Counter)
    finished: int = 0
    states: Counter = field(default_factory=Counter)
    points: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=8, help="killed runs per row (7 rows; default 8: 56 runs)"
    )
    parser.add_argument(
        "--kinds", default="exact,plaid", help="index kinds, alternated within each row"
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument(
        "--no-texts", action="store_true", help="build the indexes with plait index --no-texts"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (failed runs are in runs/)"
    )
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="plait-cli-kill-"))
    log = open(work / "stderr.log", "a")  # noqa: SIM115 - shared by every child process
    count_file = work / "calls"
    started = time.perf_counter()
    try:
        collection = write_collection(work, args.corpus)
        templates, olds = {}, {}
        for kind in kinds:
            template = work / f"template-{kind}"
            extra = (["--exact"] if kind == "exact" else []) + (
                ["--no-texts"] if args.no_texts else []
            )
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    LAUNCHER,
                    "index",
                    str(work / "corpus.jsonl"),
                    str(template),
                    *extra,
                ],
                env=dict(ENV, PLAIT_COUNT_FILE=str(count_file)),
                cwd=work,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(f"plait index ({kind}) failed: {done.stderr[-800:]}")
            templates[kind], olds[kind] = template, snapshot(template)
            if olds[kind].ids != set(collection.ids):
                raise RuntimeError(
                    f"the {kind} template holds {len(olds[kind].ids)} documents, not the 40 given"
                )
        dim = next(iter(olds[kinds[0]].vectors.values())).shape[1]
        rows = make_rows(collection, dim)
        print(
            f"templates: {', '.join(kinds)} indexes of {len(collection.ids)} SciFact documents, dim {dim}, "
            f"texts {'off' if args.no_texts else 'on'} ({time.perf_counter() - started:.0f}s)",
            flush=True,
        )

        def one(
            row: Row,
            kind: str,
            run: Path,
            kill_at: int = 0,
            timer: float | None = None,
            after: float | None = None,
        ) -> Outcome:
            if run.exists():
                shutil.rmtree(run)
            shutil.copytree(templates[kind], run)
            if row.kind == "command":
                return run_command(row.command(run), count_file, log, kill_at, timer, after)
            assert row.body is not None
            return run_server_write(
                run, row.method, row.path, row.body, count_file, log, kill_at, after
            )

        tallies: dict[str, Tally] = {}
        unkilled_failures: list[str] = []
        for row in rows:
            tally = tallies[row.name] = Tally()
            row_started = time.perf_counter()
            embedded = (
                set(row.body["ids"]) if row.body is not None and "embeddings" in row.body else set()
            )
            measured: dict[str, tuple[Outcome, Snapshot]] = {}
            for kind in kinds:  # one unkilled run per index kind: the new state, calls and window
                run = (
                    work / "runs" / f"{row.name.replace(' ', '_').replace('/', '')}-{kind}-unkilled"
                )
                outcome = one(row, kind, run)
                new = snapshot(run) if not outcome.error else None
                problem = outcome.error or (expected_problem(row, olds[kind], new) if new else "")
                if not problem:
                    status, why = check_folder(run, olds[kind], new, embedded)
                    problem = "" if status == "new" else f"{status}: {why}"
                if problem or new is None:
                    unkilled_failures.append(f"{row.name} ({kind}) unkilled: {problem}")
                    continue
                measured[kind] = (outcome, new)
                shutil.rmtree(run)
            for r in range(args.runs):
                kind = kinds[r % len(kinds)]
                if kind not in measured:
                    continue
                unkilled, new = measured[kind]
                mode = MODES[(r // len(kinds)) % (len(MODES) if row.kind == "command" else 2)]
                kill_at, timer, after = 0, None, None
                if mode == "syscall":
                    kill_at = rng.randint(
                        unkilled.ready_calls + 1, max(unkilled.ready_calls + 1, unkilled.calls)
                    )
                    point = f"call {kill_at}/{unkilled.calls}"
                elif mode == "window":
                    span = (
                        unkilled.seconds - (unkilled.first_call or 0.0)
                        if row.kind == "command"
                        else unkilled.seconds
                    )
                    after = rng.uniform(0.0, 1.5 * span)
                    point = f"+{after * 1000:.0f}ms"
                else:
                    timer = rng.uniform(0.0, unkilled.seconds)
                    point = f"{timer:.1f}s"
                run = work / "runs" / f"{row.name.replace(' ', '_').replace('/', '')}-{kind}-{r}"
                outcome = one(row, kind, run, kill_at, timer, after)
                tally.runs += 1
                tally.modes[mode] += outcome.killed
                tally.finished += not outcome.killed
                tally.points.append(f"{kind[0]}:{point}{'' if outcome.killed else '(done)'}")
                if outcome.error:
                    status, why = "command failed", outcome.error
                else:
                    status, why = check_folder(run, olds[kind], new, embedded)
                    if not outcome.killed and status == "old":
                        status, why = (
                            "lost a finished write",
                            "the run finished but the index holds the old state",
                        )
                tally.states[status] += 1
                if status in ("old", "new"):
                    shutil.rmtree(run)
                else:
                    tally.failures.append(
                        f"{row.name} {kind} run {r} ({mode} {point}): {status}: {why}"
                    )
            print(
                f"  {row.name}: {tally.runs} runs in {time.perf_counter() - row_started:.0f}s",
                flush=True,
            )
    finally:
        log.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    header = ("row", "runs", "syscall", "window", "timer", "not killed", "old", "new", "failures")
    lines = [header] + [
        (
            name,
            str(t.runs),
            str(t.modes["syscall"]),
            str(t.modes["window"]),
            str(t.modes["timer"]),
            str(t.finished),
            str(t.states["old"]),
            str(t.states["new"]),
            str(len(t.failures)),
        )
        for name, t in tallies.items()
    ]
    total = [sum(int(line[i]) for line in lines[1:]) for i in range(1, len(header))]
    lines.append(("total", *map(str, total)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    print()
    print(
        f"kill -9 of plait writers: {', '.join(kinds)} indexes, {time.perf_counter() - started:.0f}s in all"
    )
    print(
        "columns: killed at a commit-path call (syscall) / in the write window / by a timer over the whole"
    )
    print(
        "run; runs the kill missed (finished first); the state found: old (before) or new (after)"
    )
    for i, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(w) if j == 0 else cell.rjust(w)
                for j, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if i == 0 or i == len(lines) - 2:
            print("  ".join("-" * w for w in widths))
    print(
        "\nkill points (e: exact, p: plaid; call N/M: the N-th of M commit-path calls; +ms: into the "
        "write window; s: timer):"
    )
    for name, t in tallies.items():
        print(f"  {name}: {' '.join(t.points)}")
    failures = unkilled_failures + [f for t in tallies.values() for f in t.failures]
    for failure in failures:
        print(f"FAIL {failure}")
    if args.keep:
        print(f"work folder kept: {work}")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
