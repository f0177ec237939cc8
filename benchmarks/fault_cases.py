"""Single-bit flips for ``fault_injection.py`` (case 2), and the probe worker it runs them in.

The parent builds clean indexes, lists the bits to flip and starts a worker subprocess
(``python fault_cases.py --flip-worker SPEC START``). The worker probes the clean index twice (the
answers must repeat), then forks a child that, for each job, flips one bit in place, probes (open,
``len``, ``documents_ids``, a fixed search, ``get_documents_embeddings`` of three ids), restores the
bit and prints one result line. When a child is killed by a signal, the worker reports its current
job as a crash, restores the folder from a pristine copy and forks the next child; a worker silent
for ``JOB_TIMEOUT_S`` is killed by the parent (a hang) and started again after that job.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import random
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DIM = 16
HERE = Path(__file__).resolve().parent
MANIFEST = "manifest.json"
BULK = re.compile(r"tokens|codes|residuals")  # token payloads: changes only verify() sees
OUTCOMES = ("crash", "hang", "wrong", "named_error", "unnamed_error", "harmless")
JOB_TIMEOUT_S = 60.0
START_TIMEOUT_S = 300.0


def embedding(doc_id: str, version: int = 0) -> np.ndarray:
    """A deterministic unit-norm ``(1..8, DIM)`` matrix for ``(doc_id, version)``."""
    rng = np.random.default_rng(zlib.crc32(f"{doc_id}/{version}".encode()))
    m = rng.normal(size=(int(rng.integers(1, 9)), DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def open_index(kind: str, parent: Path, name: str) -> Any:
    """Open an existing index the way a user does: ``Exact(folder, name)`` / ``PLAID(folder, name)``."""
    if kind == "plaid":
        from plait.indexes.plaid import PLAID

        return PLAID(parent, name)
    from plait.indexes import Exact

    return Exact(parent, name)


# ---------------------------------------------------------------------- building and listing
def build_indexes(root: Path) -> dict[str, tuple[str, Path, Path]]:
    """Per index kind ``(kind, small, big)``. Small (for structural flips): 2 segments with removed
    documents. Big (for payload flips): one segment whose token payload is about 2.2 MiB, more
    than an open may read whole."""
    from plait.indexes import Exact
    from plait.indexes.plaid import PLAID

    def ids(lo: int, hi: int) -> list[str]:
        return [f"d{i}" for i in range(lo, hi)]

    def fill(index: Any, batches: list[list[str]], removed: list[str]) -> None:
        for batch in batches:
            index.add_documents(batch, [embedding(d) for d in batch])
        if removed:
            index.remove_documents(removed)

    made = {}
    for label, dtype, n_big in (("exact-f32", "float32", 8000), ("exact-f16", "float16", 16000)):
        fill(
            Exact(root, label, override=True, dtype=dtype),
            [ids(0, 40), ids(40, 80)],
            ["d3", "d17", "d45", "d60"],
        )
        fill(Exact(root, f"{label}-big", override=True, dtype=dtype), [ids(0, n_big)], [])
        made[label] = ("exact", root / label, root / f"{label}-big")
    small = PLAID(root, "plaid", override=True, n_centroids=16)
    fill(small, [ids(0, 60), ids(60, 120)], ["d5", "d33", "d70", "d101"])
    fill(PLAID(root, "plaid-big", override=True, nbits=8, n_centroids=64), [ids(0, 32000)], [])
    made["plaid"] = ("plaid", root / "plaid", root / "plaid-big")
    return made


def role_of(name: str) -> str:
    """``segment-1-offsets.3fa2c1d0e9b8.npy`` -> ``segment-N-offsets.npy`` (for grouping)."""
    return re.sub(r"\d+", "N", re.sub(r"\.[0-9a-f]{8,}(?=\.)", "", name))


def npy_header_end(path: Path) -> int | None:
    """Bytes before the payload of a ``.npy`` file, or ``None`` when it is not one."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    if len(head) < 10 or not head.startswith(b"\x93NUMPY"):
        return None
    if head[6] == 1:
        return 10 + int.from_bytes(head[8:10], "little")
    return 12 + int.from_bytes(head[8:12], "little")


def structural_jobs(folder: Path, max_bits: int, rng: random.Random) -> tuple[list, dict]:
    """Bits of every file but the token payloads, plus each payload file's ``.npy`` header: all of
    a file's bits when at most ``max_bits``, else a seeded sample. Also ``{file: [bits, flipped]}``."""
    jobs, coverage = [], {}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.stat().st_size):
        header = npy_header_end(path)
        is_bulk = bool(BULK.search(path.name)) and header is not None
        limit = header * 8 if is_bulk and header is not None else path.stat().st_size * 8
        bits = range(limit) if limit <= max_bits else sorted(rng.sample(range(limit), max_bits))
        jobs += [(path.name, bit, False) for bit in bits]
        coverage[path.name] = [limit, len(bits)]
    return jobs, coverage


def bulk_jobs(folder: Path, per_file: int, rng: random.Random) -> list:
    """``per_file`` sampled bits of each token payload file, past its ``.npy`` header."""
    jobs = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and BULK.search(p.name)):
        header = npy_header_end(path)
        if header is None:
            continue
        payload = range(header * 8, path.stat().st_size * 8)
        jobs += [
            (path.name, b, True) for b in sorted(rng.sample(payload, min(per_file, len(payload))))
        ]
    return jobs


# ---------------------------------------------------------------------- the probe (worker side)
@dataclass
class Probe:
    digests: list[str] = field(default_factory=list)  # one per stage that completed
    error: str | None = None
    error_type: str | None = None


def _digest(value: Any) -> str:
    return hashlib.sha1(repr(value).encode()).hexdigest()


def _answers(kind: str, parent: Path, name: str, emb_ids: list[str]) -> Iterator[Any]:
    """The probe's stages, one answer each: open, len, ids, a fixed search, stored embeddings."""
    index = open_index(kind, parent, name)
    yield "opened"
    yield len(index)
    yield list(index.documents_ids)
    queries = [embedding(f"q{i}") for i in range(3)] + [embedding("d10")]
    yield [(r.ids, np.asarray(r.scores).tobytes()) for r in index.search(queries, k=10)]
    yield [m.tobytes() for m in index.get_documents_embeddings(emb_ids)]


def run_probe(kind: str, parent: Path, name: str, emb_ids: list[str]) -> Probe:
    """Digest of each stage's answer, up to the first exception (kept with its type)."""
    probe = Probe()
    try:
        for answer in _answers(kind, parent, name, emb_ids):
            probe.digests.append(_digest(answer))
    except Exception as error:  # noqa: BLE001 - every error is classified by the parent's rules
        probe.error, probe.error_type = str(error), type(error).__name__
    return probe


def classify(clean: Probe, got: Probe, flipped: str, manifest_path: Path) -> str:
    """``wrong`` when a completed stage differs from the clean answer, else named/unnamed error
    (the message names the flipped file or the manifest's path) or harmless."""
    if any(a != b for a, b in zip(got.digests, clean.digests, strict=False)):
        return "wrong"
    if got.error is None:
        return "harmless"
    named = flipped in got.error or str(manifest_path) in got.error
    return "named_error" if named else "unnamed_error"


def _flip(path: Path, bit: int) -> int:
    fd = os.open(path, os.O_RDWR)
    try:
        original = os.pread(fd, 1, bit // 8)[0]
        os.pwrite(fd, bytes([original ^ (1 << (bit % 8))]), bit // 8)
        return original
    finally:
        os.close(fd)


def _restore_byte(path: Path, bit: int, original: int) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, bytes([original]), bit // 8)
    finally:
        os.close(fd)


def listing(folder: Path) -> list[tuple[str, int]]:
    return sorted((p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file())


def restore_folder(folder: Path, pristine: Path) -> None:
    """Make ``folder`` equal to ``pristine`` again (after a crash, or a probe that wrote files)."""
    shutil.rmtree(folder)
    shutil.copytree(pristine, folder)


def worker(spec_path: str, start: int) -> int:
    """Probe the clean index (warming plait up), then fork a child per run of jobs: a child killed
    by a signal costs a fork, not an interpreter start. The child's current job sits in shared
    memory, so this process reports that job as a crash, restores the folder and forks again."""
    import torch

    torch.set_num_threads(
        1
    )  # plait's thread count: no thread pools (OpenMP, plait's) before a fork
    spec = json.loads(Path(spec_path).read_text())
    kind, parent, name = spec["kind"], Path(spec["parent"]), spec["name"]
    clean, again = (run_probe(kind, parent, name, spec["emb_ids"]) for _ in range(2))
    if clean.error or clean.digests != again.digests:
        print(f"E clean index: error {clean.error!r} or answers that do not repeat", flush=True)
        return 3
    limit = 8 << 30  # a flipped shape must not take the machine's memory
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    current = mmap.mmap(-1, 8)
    while start < len(spec["jobs"]):
        current[:8] = (-1).to_bytes(8, "little", signed=True)
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            code = _child(spec, start, current, clean)
            sys.stdout.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        job = int.from_bytes(current[:8], "little", signed=True)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            return 0
        what = (
            f"killed by signal {os.WTERMSIG(status)}"
            if os.WIFSIGNALED(status)
            else f"exit {status}"
        )
        if job < 0:
            print(f"E the child died before its first job ({what})", flush=True)
            return 3
        restore_folder(parent / name, Path(spec["pristine"]))
        print(
            f"R {job} {json.dumps({'outcome': 'crash', 'error': what, 'type': None})}", flush=True
        )
        start = job + 1
    return 0


def _child(spec: dict[str, Any], start: int, current: mmap.mmap, clean: Probe) -> int:
    kind, parent, name = spec["kind"], Path(spec["parent"]), spec["name"]
    folder = parent / name
    snapshot = listing(folder)
    for i, (file, bit, is_bulk) in enumerate(spec["jobs"][start:], start=start):
        current[:8] = i.to_bytes(8, "little", signed=True)
        print(f"S {i}", flush=True)
        original = _flip(folder / file, bit)
        try:
            got = run_probe(kind, parent, name, spec["emb_ids"])
        finally:
            _restore_byte(folder / file, bit, original)
        outcome = classify(clean, got, file, folder / MANIFEST)
        result = {"outcome": outcome, "error": (got.error or "")[:300], "type": got.error_type}
        if is_bulk:
            result["detected"] = got.error is not None or _verify_fails(
                kind, parent, name, folder / file, bit
            )
        if listing(folder) != snapshot:
            restore_folder(folder, Path(spec["pristine"]))
        print(f"R {i} {json.dumps(result)}", flush=True)
    return 0


def _verify_fails(kind: str, parent: Path, name: str, path: Path, bit: int) -> bool:
    """Re-flip the bit and ask ``verify()``; the caller has restored it once already."""
    original = _flip(path, bit)
    try:
        open_index(kind, parent, name).verify()
        return False
    except Exception:  # noqa: BLE001 - any error from verify() is a detection
        return True
    finally:
        _restore_byte(path, bit, original)


# ---------------------------------------------------------------------- the driver (parent side)
def _spawn(spec_path: Path, start: int, log: Path) -> subprocess.Popen:
    with open(log, "a") as err:
        return subprocess.Popen(
            [
                sys.executable,
                str(HERE / "fault_cases.py"),
                "--flip-worker",
                str(spec_path),
                str(start),
            ],
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )


def run_jobs(
    kind: str, folder: Path, pristine: Path, jobs: list, emb_ids: list[str], work: Path
) -> list[dict]:
    """Run every job, starting the worker again after a hang; one result per job."""
    spec_path, log = work / f"{folder.name}-spec.json", work / f"{folder.name}-worker.log"
    spec = {
        "kind": kind,
        "parent": str(folder.parent),
        "name": folder.name,
        "pristine": str(pristine),
        "emb_ids": emb_ids,
        "jobs": jobs,
    }
    spec_path.write_text(json.dumps(spec))
    results: list[dict] = [{}] * len(jobs)
    start = 0
    while start < len(jobs):
        hung = _consume(_spawn(spec_path, start, log), results, log)
        if hung is None:
            break
        restore_folder(folder, pristine)
        results[hung] = {
            "outcome": "hang",
            "error": f"no answer in {JOB_TIMEOUT_S:.0f}s",
            "type": None,
        }
        start = hung + 1
    missing = [i for i, r in enumerate(results) if not r]
    if missing:
        raise RuntimeError(f"flip worker ended without results for {len(missing)} jobs; see {log}")
    return results


def _lines(fd: int, timeout: float) -> Iterator[str | None]:
    """Lines read from ``fd``; ``None`` after ``timeout`` seconds without one; ends at EOF."""
    buffer = b""
    while True:
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            yield None
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return
        buffer += chunk


def _consume(proc: subprocess.Popen, results: list[dict], log: Path) -> int | None:
    """Store the worker's results; returns the job it hung on (worker killed) or ``None``."""
    assert proc.stdout is not None
    current, started = None, time.monotonic()
    for line in _lines(proc.stdout.fileno(), JOB_TIMEOUT_S):
        if line is None:
            if current is None and time.monotonic() - started < START_TIMEOUT_S:
                continue  # still importing
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if current is None:
                raise RuntimeError(f"flip worker did not start; see {log}")
            return current
        tag, _, rest = line.partition(" ")
        if tag == "E":
            proc.wait()
            raise RuntimeError(f"flip worker: {rest} (see {log})")
        if tag == "S":
            current = int(rest)
        elif tag == "R":
            number, _, payload = rest.partition(" ")
            results[int(number)] = json.loads(payload)
            current = None
    code = proc.wait()
    if code != 0:
        raise RuntimeError(f"flip worker exited with code {code}; see {log}")
    return None


def summarize(label: str, jobs: list, results: list[dict], bulk: bool) -> dict[str, Any]:
    """Counts per outcome (and per file role), plus up to 3 example messages per failure kind."""
    counts: Counter[str] = Counter(r["outcome"] for r in results)
    by_role: dict[str, Counter[str]] = {}
    examples: dict[str, list[str]] = {}
    for (file, bit, _), r in zip(jobs, results, strict=True):
        by_role.setdefault(role_of(file), Counter())[r["outcome"]] += 1
        bad = ("crash", "hang") if bulk else ("crash", "hang", "wrong", "unnamed_error")
        if r["outcome"] in bad and len(examples.setdefault(r["outcome"], [])) < 3:
            what = (
                f"{r['type']}: {r['error']}"
                if r.get("type")
                else r.get("error") or "answers differ"
            )
            examples[r["outcome"]].append(f"{label} {file} bit {bit}: {what}")
    out: dict[str, Any] = {"flips": len(results), **{o: counts[o] for o in OUTCOMES}}
    if bulk:
        out["undetected"] = sum(
            1 for r in results if r["outcome"] not in ("crash", "hang") and not r.get("detected")
        )
    out["by_role"] = {role: dict(c) for role, c in sorted(by_role.items())}
    out["examples"] = examples
    return out


def _by_role(coverage: dict[str, list[int]]) -> dict[str, list[int]]:
    """``{role: [files, structural bits, bits flipped]}``."""
    out: dict[str, list[int]] = {}
    for file, (bits, flipped) in coverage.items():
        row = out.setdefault(role_of(file), [0, 0, 0])
        row[0], row[1], row[2] = row[0] + 1, row[1] + bits, row[2] + flipped
    return dict(sorted(out.items()))


def flip_index(kind: str, folder: Path, jobs: list, work: Path) -> list[dict]:
    """Run ``jobs`` on ``folder`` (a pristine copy restores it after a crash)."""
    pristine = work / "pristine" / folder.name
    shutil.copytree(folder, pristine)
    ids = list(open_index(kind, folder.parent, folder.name).documents_ids)
    return run_jobs(kind, folder, pristine, jobs, [ids[0], ids[len(ids) // 2], ids[-1]], work)


def run_flips(work: Path, max_bits: int, bulk_bits: int, seed: int) -> dict[str, Any]:
    """Case 2: build, flip, probe; per index kind its structural and bulk summaries."""
    rng = random.Random(seed)
    report: dict[str, Any] = {}
    for label, (kind, small, big) in build_indexes(work / "indexes").items():
        started = time.perf_counter()
        structural, coverage = structural_jobs(small, max_bits, rng)
        bulk = bulk_jobs(big, bulk_bits, rng)
        report[label] = {
            "structural": summarize(
                label, structural, flip_index(kind, small, structural, work), bulk=False
            ),
            "bulk": summarize(f"{label}-big", bulk, flip_index(kind, big, bulk, work), bulk=True),
            "coverage": _by_role(coverage),
            "bulk_files": {
                p.name: p.stat().st_size for p in sorted(big.iterdir()) if BULK.search(p.name)
            },
            "seconds": round(time.perf_counter() - started, 1),
        }
        print(
            f"  flips {label}: {len(structural) + len(bulk)} in {report[label]['seconds']}s",
            flush=True,
        )
    return report


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--flip-worker":
        sys.exit(worker(sys.argv[2], int(sys.argv[3])))
    sys.exit("usage: fault_cases.py --flip-worker SPEC START (started by fault_injection.py)")
