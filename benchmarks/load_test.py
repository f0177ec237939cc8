"""Load test: concurrent searches against a live ``plait serve`` on 127.0.0.1 while a writer adds,
upserts and deletes documents. Bounded in time; stops the server itself.

Checks (any failure makes the exit code 1):
* no 5xx answer (and no transport error);
* every answer during the run is right for *some* committed state: scores descend and equal a
  local MaxSim over the returned documents' embeddings; no stable document that outscores the
  k-th hit is missing; a churn document appears only if it was live at some point during the
  search (added before the search ended, not deleted before it began);
* on the final state, every query's results equal an exact index built locally from the final
  documents, and ``/stats`` counts them.
Prints p50/p95 search latency and throughput.

    python benchmarks/load_test.py --clients 8 --seconds 20
    python benchmarks/load_test.py --clients 32 --seconds 60 --model default
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "scifact"
TINY = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "pylate" / "tiny-colbert"
TOL = 1e-3


@dataclass
class Log:
    latencies: list[float] = field(default_factory=list)
    searches: list[tuple[int, float, float, list[dict[str, Any]]]] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    adds: dict[str, list[tuple[float, float]]] = field(
        default_factory=dict
    )  # churn id -> (start, end)
    deletes: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    writes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def status(self, code: int) -> None:
        with self.lock:
            self.statuses[code] = self.statuses.get(code, 0) + 1


def load_texts(n_docs: int, n_queries: int) -> tuple[list[str], list[str]]:
    docs, queries = [], []
    with open(DATA / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            docs.append(f"{record.get('title', '')} {record['text']}"[:600])
            if len(docs) == n_docs:
                break
    with open(DATA / "queries.jsonl", encoding="utf-8") as handle:
        queries = [
            json.loads(line)["text"] for _, line in zip(range(n_queries), handle, strict=False)
        ]
    return docs, queries


def maxsim(query: np.ndarray, doc: np.ndarray) -> float:
    return float((query @ doc.T).max(axis=1).sum())


def start_server(index_dir: Path, model: str | None, port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "plait.cli.main", "serve", str(index_dir), "--port", str(port)]
    command += ["--log-level", "warning", "--max-k", "100"] + (["--model", model] if model else [])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_healthy(httpx: Any, url: str, server: subprocess.Popen[str], seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stdout.read() if server.stdout else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise SystemExit("server did not become healthy")


def reader(
    httpx: Any, url: str, queries: list[str], k: int, deadline: float, log: Log, seed: int
) -> None:
    rng = random.Random(seed)
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < deadline:
            qi = rng.randrange(len(queries))
            start = time.monotonic()
            try:
                answer = client.post(f"{url}/search", json={"queries": [queries[qi]], "k": k})
            except httpx.TransportError as error:
                log.failures.append(f"transport error: {error}")
                continue
            end = time.monotonic()
            log.status(answer.status_code)
            if answer.status_code == 200:
                with log.lock:
                    log.latencies.append(end - start)
                    log.searches.append((qi, start, end, answer.json()["results"][0]))


def writer(
    httpx: Any, url: str, churn: list[str], deadline: float, log: Log, seed: int
) -> set[str]:
    """Add batches of churn documents by text, upsert some, delete older ones; returns the live set."""
    rng = random.Random(seed)
    live: list[str] = []
    pool = list(range(len(churn)))
    with httpx.Client(timeout=120) as client:
        while time.monotonic() < deadline:
            free = [i for i in pool if f"c{i}" not in live]
            batch = rng.sample(free, min(len(free), rng.randint(1, 8)))
            if batch:
                ids = [f"c{i}" for i in batch]
                start = time.monotonic()
                answer = client.post(
                    f"{url}/documents", json={"ids": ids, "texts": [churn[i] for i in batch]}
                )
                end = time.monotonic()
                log.status(answer.status_code)
                for doc_id in ids:  # logged even on failure: the add may still have committed
                    log.adds.setdefault(doc_id, []).append((start, end))
                if answer.status_code == 200:
                    live += ids
                else:
                    log.failures.append(f"add answered {answer.status_code}: {answer.text[:200]}")
            if live and rng.random() < 0.3:
                ids = rng.sample(live, min(len(live), 3))
                answer = client.put(
                    f"{url}/documents", json={"ids": ids, "texts": [churn[int(i[1:])] for i in ids]}
                )
                log.status(answer.status_code)
            if len(live) > 10:
                gone = rng.sample(live, rng.randint(1, len(live) // 2))
                start = time.monotonic()
                answer = client.post(f"{url}/documents/delete", json={"ids": gone})
                end = time.monotonic()
                log.status(answer.status_code)
                if answer.status_code == 200:
                    live = [i for i in live if i not in set(gone)]
                    for doc_id in gone:
                        log.deletes.setdefault(doc_id, []).append((start, end))
            log.writes += 1
            time.sleep(0.05)
    return set(live)


def check_during(
    log: Log,
    q_emb: list[np.ndarray],
    stable: dict[str, np.ndarray],
    churn: dict[str, np.ndarray],
    k: int,
) -> int:
    """Count answers that no committed state could have produced (see the module docstring)."""
    wrong = 0
    stable_ids = list(stable)
    stable_scores = {
        qi: np.array([maxsim(q, stable[i]) for i in stable_ids]) for qi, q in enumerate(q_emb)
    }
    for qi, start, end, hits in log.searches:
        problems = []
        scores = [h["score"] for h in hits]
        if any(a < b - TOL for a, b in zip(scores, scores[1:], strict=False)) or len(hits) != k:
            problems.append("not sorted or short")
        for hit in hits:
            doc = stable.get(hit["id"], churn.get(hit["id"]))
            if doc is None or abs(maxsim(q_emb[qi], doc) - hit["score"]) > TOL * max(
                1.0, abs(hit["score"])
            ):
                problems.append(f"score of {hit['id']}")
            if hit["id"] in churn and not could_be_live(log, hit["id"], start, end):
                problems.append(f"{hit['id']} was not live during the search")
        if hits:
            floor = hits[-1]["score"] + TOL
            returned = {h["id"] for h in hits}
            missing = [
                i
                for i, s in zip(stable_ids, stable_scores[qi], strict=True)
                if s > floor and i not in returned
            ]
            if missing:
                problems.append(f"missing stable {missing[:3]}")
        if problems and wrong < 3:
            print(
                f"  wrong answer for query {qi} at t={start:.3f}..{end:.3f}: {problems[:3]}",
                flush=True,
            )
        wrong += bool(problems)
    return wrong


def could_be_live(log: Log, doc_id: str, start: float, end: float) -> bool:
    """Some add of ``doc_id`` began before the search ended and no delete surely committed between
    that add's end and the search's start."""
    deletes = log.deletes.get(doc_id, [])
    return any(
        a_start < end and not any(a_end < d_start and d_end < start for d_start, d_end in deletes)
        for a_start, a_end in log.adds.get(doc_id, [])
    )


def check_final(
    httpx: Any,
    url: str,
    queries: list[str],
    q_emb: list[np.ndarray],
    docs: dict[str, np.ndarray],
    k: int,
) -> int:
    from plait.indexes import Exact

    reference = Exact(index_folder=None)
    reference.add_documents(list(docs), list(docs.values()))
    expected = reference.search(q_emb, k=k)
    stats = httpx.get(f"{url}/stats").json()
    wrong = int(stats["documents"] != len(docs))
    for text, want in zip(queries, expected, strict=True):
        got = httpx.post(f"{url}/search", json={"queries": [text], "k": k}).json()["results"][0]
        got_scores = np.array([h["score"] for h in got])
        same_scores = len(got) == len(want) and np.allclose(got_scores, want.scores, atol=TOL)
        # ids must match except where scores tie within the tolerance
        ids_ok = all(
            g["id"] == w or abs(g["score"] - s) < TOL
            for g, w, s in zip(got, want.ids, want.scores, strict=False)
        )
        wrong += not (same_scores and ids_ok)
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--docs", type=int, default=300, help="stable documents (from scifact)")
    parser.add_argument(
        "--churn", type=int, default=120, help="documents the writer adds and deletes"
    )
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--model",
        default="tiny",
        help="'tiny' (shared fixture), 'default' (MiniLM ColBERT) or a folder",
    )
    args = parser.parse_args()
    import httpx

    from plait.indexes import Exact
    from plait.models import ColBERT

    model_path = (
        str(TINY) if args.model == "tiny" else (None if args.model == "default" else args.model)
    )
    colbert = ColBERT(model_path, device="cpu") if model_path else ColBERT(device="cpu")
    texts, queries = load_texts(args.docs + args.churn, args.queries)
    stable_texts, churn_texts = texts[: args.docs], texts[args.docs :]
    t0 = time.perf_counter()
    stable = dict(
        zip(
            [f"s{i}" for i in range(len(stable_texts))],
            colbert.encode(stable_texts, is_query=False),
            strict=True,
        )
    )
    churn = dict(
        zip(
            [f"c{i}" for i in range(len(churn_texts))],
            colbert.encode(churn_texts, is_query=False),
            strict=True,
        )
    )
    q_emb = list(colbert.encode(queries, is_query=True))
    print(
        f"encoded {len(texts)} documents and {len(queries)} queries in {time.perf_counter() - t0:.1f}s",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="plait-load-") as tmp:
        index = Exact(index_folder=tmp, index_name="load")
        index.add_documents(list(stable), list(stable.values()))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        server = start_server(index.path, model_path, port)
        log = Log()
        try:
            wait_healthy(httpx, url, server)
            deadline = time.monotonic() + args.seconds
            threads = [
                threading.Thread(
                    target=reader, args=(httpx, url, queries, args.k, deadline, log, i)
                )
                for i in range(args.clients)
            ]
            live: set[str] = set()
            writer_thread = threading.Thread(
                target=lambda: live.update(writer(httpx, url, churn_texts, deadline, log, 99))
            )
            started = time.monotonic()
            for thread in [*threads, writer_thread]:
                thread.start()
            for thread in [*threads, writer_thread]:
                thread.join()
            elapsed = time.monotonic() - started
            final_docs = {**stable, **{i: churn[i] for i in live}}
            wrong_during = check_during(log, q_emb, stable, churn, args.k)
            wrong_final = check_final(httpx, url, queries, q_emb, final_docs, args.k)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(server.pid, signal.SIGKILL)
    lat = np.array(log.latencies) * 1000
    server_errors = sum(n for code, n in log.statuses.items() if code >= 500)
    print(
        f"{args.clients} clients x {args.seconds:.0f}s, {len(stable)} stable + {len(churn)} churn documents, k={args.k}, "
        f"model={args.model}, {os.cpu_count()} CPUs\n"
        f"searches: {len(lat)} ok, {len(lat) / elapsed:.1f}/s; latency p50 {np.percentile(lat, 50):.0f} ms, "
        f"p95 {np.percentile(lat, 95):.0f} ms, max {lat.max():.0f} ms\n"
        f"writer: {log.writes} rounds; statuses {dict(sorted(log.statuses.items()))}\n"
        f"5xx: {server_errors}; transport errors: {len(log.failures)}; wrong during the run: {wrong_during}; "
        f"wrong on the final state: {wrong_final} of {len(queries)} queries",
        flush=True,
    )
    for failure in log.failures[:5]:
        print("  ", failure)
    return 1 if server_errors or log.failures or wrong_during or wrong_final else 0


if __name__ == "__main__":
    sys.exit(main())
