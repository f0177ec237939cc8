"""Orchestrator helpers: worker subprocesses, machine facts, statistics and markdown tables.

The orchestrator (``run.py``) never imports torch: each side (plait, the peer) runs in its own
worker subprocess (``plait_worker.py`` with plait's venv, ``peers/pylate_worker.py`` with the peer
venv), so the two torch builds never meet and each side's memory is its own.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
PLAIT_PYTHON = ROOT / ".venv" / "bin" / "python"
PEER_PYTHON = WORK / "peer-venv" / "bin" / "python"
PLAIT_SCRIPT = HERE / "plait_worker.py"
PEER_SCRIPT = HERE / "peers" / "pylate_worker.py"


class WorkerError(RuntimeError):
    """A worker operation failed, timed out or the worker died; the message says which and why."""


class Worker:
    """One side's long-lived subprocess speaking the JSON-lines protocol of ``protocol.py``.

    stderr goes to ``log`` (the last lines are quoted when something fails).
    """

    def __init__(self, name: str, python: Path, script: Path, log: Path) -> None:
        if not python.exists():
            hint = " (run: bash benchmarks/setup_peers.sh)" if python == PEER_PYTHON else ""
            raise WorkerError(f"{name}: interpreter {python} not found{hint}")
        self.name, self.log = name, log
        log.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
        env.pop("PYTHONPATH", None)
        self._log_file = open(log, "a")
        self.proc = subprocess.Popen(
            [str(python), str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            text=True,
            cwd=str(ROOT),
            env=env,
            start_new_session=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def call(self, op: str, timeout: float | None = None, **arguments: Any) -> Any:
        """Run one operation; raise :class:`WorkerError` on failure or after ``timeout`` seconds."""
        if self.proc.poll() is not None:
            raise WorkerError(f"{self.name} worker has exited (code {self.proc.returncode})")
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise WorkerError(f"{self.name}: {op} did not finish within {timeout:.0f} s") from None
        if line is None:
            self.proc.wait()
            raise WorkerError(
                f"{self.name} worker died during {op} (exit code {self.proc.returncode}); "
                f"log {self.log}:\n{self._log_tail()}"
            )
        answer = json.loads(line)
        if not answer["ok"]:
            raise WorkerError(f"{self.name}: {op} failed:\n{answer['error'].rstrip()}")
        return answer["result"]

    def kill(self) -> None:
        """Stop this worker's process group (it was started in its own session)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("quit", timeout=30)
                self.proc.wait(timeout=30)
            except (WorkerError, subprocess.TimeoutExpired, BrokenPipeError, OSError):
                self.kill()
        self._log_file.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # failing or interrupted: do not wait for a busy worker
            self.kill()
        self.close()


def plait_worker(log_dir: Path) -> Worker:
    return Worker("plait", PLAIT_PYTHON, PLAIT_SCRIPT, log_dir / "plait.log")


def peer_worker(log_dir: Path) -> Worker:
    return Worker("pylate", PEER_PYTHON, PEER_SCRIPT, log_dir / "pylate.log")


# ----------------------------------------------------------------------------- machine facts
def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_facts() -> dict[str, str]:
    """CPU model, cores, RAM, load average, OS, git commit and the UTC date."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem = next(
        (
            line.split()[1]
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal")
        ),
        "0",
    )
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": f"{cpu}, {os.cpu_count()} logical cores ({usable} usable)",
        "ram": f"{int(mem) / 2**20:.1f} GiB",
        "load average at start": " / ".join(f"{x:.1f}" for x in load),
        "os": f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}",
        "git commit": commit or "unknown",
    }


def report_head(title: str, command: str, facts: dict[str, str]) -> list[str]:
    """First lines of a docs/benchmarks.md entry: ``## title, date``, the command, machine facts."""
    lines = [f"## {title}, {facts['date']}", "", f"Command: `{command}`", ""]
    return lines + [f"- {key}: {value}" for key, value in facts.items() if key != "date"]


# ----------------------------------------------------------------------------- statistics
def percentile_ms(seconds: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1e3, q)) if len(seconds) else float("nan")


def recall_at(approx: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], k: int) -> float:
    """Mean over queries of |top-k approx ∩ top-k exact| / min(k, len(exact))."""
    values = []
    for found, true in zip(approx, truth, strict=True):
        want = set(true[:k])
        if want:
            values.append(len(want & set(found[:k])) / len(want))
    return float(np.mean(values)) if values else float("nan")


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not np.isfinite(a) or not np.isfinite(b) or b == 0:
        return None
    return a / b


@dataclass
class Table:
    """A markdown table built row by row; ``None`` cells print as ``n/a``."""

    title: str
    header: list[str]
    rows: list[list[Any]]
    notes: list[str]

    @classmethod
    def new(cls, title: str, header: list[str]) -> Table:
        return cls(title, header, [], [])

    def add(self, *cells: Any) -> None:
        self.rows.append(list(cells))

    def markdown(self) -> str:
        lines = [
            f"**{self.title}**",
            "",
            "| " + " | ".join(self.header) + " |",
            "|" + "|".join("---" for _ in self.header) + "|",
        ]
        lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in self.rows]
        lines += [""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def fmt(value: Any) -> str:
    """Short human formatting: 3 significant digits for floats, ``n/a`` for missing values."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        if value == 0:
            return "0"
        magnitude = abs(value)
        if magnitude >= 100:
            return f"{value:,.0f}"
        if magnitude >= 10:
            return f"{value:.1f}"
        if magnitude >= 0.01:
            return f"{value:.3g}" if magnitude < 1 else f"{value:.2f}"
        return f"{value:.2e}"
    return str(value)
