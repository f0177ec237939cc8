"""plait serve: a live server on 127.0.0.1, its writer lock, and clear refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from plait.cli.serve import is_loopback
from plait.indexes import Exact, IndexLockedError
from plait.indexes.storage import IndexFolder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def bare_index(tmp_path: Path) -> Exact:
    index = Exact(index_folder=tmp_path, index_name="served")
    index.add_documents(
        ["a", "b"], [np.eye(4, dtype=np.float32)[:2], np.eye(4, dtype=np.float32)[2:]]
    )
    return index


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


def test_serve_refuses_an_index_another_writer_holds(run, bare_index: Exact) -> None:
    with IndexFolder(bare_index.path).writer_lock():
        result = run("serve", bare_index.path, "--no-model")
    assert result.exit_code == 1
    assert "being written by another process" in result.output and "Traceback" not in result.output
    result = run("serve", bare_index.path.parent / "missing", "--no-model")
    assert result.exit_code == 2 and "no index folder" in result.output


def test_serve_takes_the_index_as_an_argument_or_the_old_option(run, bare_index: Exact) -> None:
    result = run("serve", "--no-model")
    assert result.exit_code == 2 and "plait serve INDEX" in result.output
    result = run("serve", bare_index.path, "--index", bare_index.path.parent, "--no-model")
    assert result.exit_code == 2 and "two index folders" in result.output
    with IndexFolder(bare_index.path).writer_lock():  # --index still names the folder
        result = run("serve", "--index", bare_index.path, "--no-model")
    assert result.exit_code == 1 and "being written by another process" in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--header-timeout", "inf", "header_timeout must be a positive number"),
        ("--rate-limit", "inf", "rate_limit must be a positive number"),
        ("--refresh-interval", "inf", "finite number of seconds"),
    ],
)
def test_serve_refuses_bad_limits_before_opening_anything(
    run, bare_index: Exact, option: str, value: str, message: str
) -> None:
    result = run("serve", bare_index.path, "--no-model", option, value)
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    with IndexFolder(bare_index.path).writer_lock():  # no lock was left behind
        pass


def test_live_server_answers_and_holds_the_writer_lock(bare_index: Exact) -> None:
    port = free_port()
    env = {**os.environ, "PLAIT_API_KEY": "k3y"}
    command = [sys.executable, "-m", "plait.cli.main", "serve", str(bare_index.path), "--no-model"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert health.json()["documents"] == 2
        query = {"embeddings": [[[0.0, 0.0, 1.0, 0.0]]], "k": 1}
        assert httpx.post(f"{url}/search", json=query).status_code == 401
        found = httpx.post(f"{url}/search", json=query, headers={"X-API-Key": "k3y"})
        assert found.json()["results"][0][0]["id"] == "b"
        added = httpx.post(
            f"{url}/documents",
            json={"ids": ["c"], "embeddings": [[[1, 1, 0, 0]]]},
            headers={"X-API-Key": "k3y"},
        )
        assert added.json()["documents"] == 3
        with pytest.raises(IndexLockedError, match="another process"):
            Exact(index_folder=bare_index.path.parent, index_name="served").remove_documents(["a"])
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)
    assert server.returncode == 0
    reopened = Exact(index_folder=bare_index.path.parent, index_name="served")
    assert reopened.documents_ids == ["a", "b", "c"]
    reopened.remove_documents(["a"])  # the lock went with the server


def test_api_writes_keep_a_plait_index_folder_in_step(
    run, beir_dir: Path, tiny_model, tiny_model_path: Path, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from plait.cli.search import open_cli_index
    from plait.server import create_app

    folder = tmp_path / "idx"
    assert run("index", beir_dir, folder, "--exact", "--model", tiny_model_path).exit_code == 0
    index, _, _ = open_cli_index(folder)
    with TestClient(create_app(index, tiny_model)) as client:
        body = {"ids": ["n1"], "texts": ["Comets have icy tails."]}
        assert client.post("/documents", json=body).status_code == 200
        assert client.post("/documents/delete", json={"ids": ["d4"]}).status_code == 200
    assert json.loads(run("info", folder, "--json").stdout)["documents"] == 4
    found = json.loads(run("search", folder, "icy comets", "-k", "4", "--json").stdout)[0][
        "results"
    ]
    assert {hit["id"]: hit.get("text") for hit in found}["n1"] == "Comets have icy tails."
    assert "d4" not in {hit["id"] for hit in found}


def test_a_failed_commit_is_a_500_that_changed_nothing_and_its_retry_succeeds(
    run, beir_dir: Path, tiny_model, tiny_model_path: Path, tmp_path: Path, monkeypatch
) -> None:
    """D13: the texts are part of the index commit, so there is no second step that can fail
    after the commit (which used to answer 500, and then 409 to the retry)."""
    from fastapi.testclient import TestClient

    from plait.cli.search import open_cli_index
    from plait.indexes.storage import IndexFolder
    from plait.server import create_app

    folder = tmp_path / "idx"
    assert run("index", beir_dir, folder, "--exact", "--model", tiny_model_path).exit_code == 0
    index, _, texts = open_cli_index(folder)
    real_commit = IndexFolder.commit

    def failing_commit(self, manifest, **kwargs):
        raise OSError("disk full")

    body = {"ids": ["n1"], "texts": ["Comets have icy tails."]}
    with TestClient(create_app(index, tiny_model), raise_server_exceptions=False) as client:
        monkeypatch.setattr(IndexFolder, "commit", failing_commit)
        assert client.post("/documents", json=body).status_code == 500
        assert "n1" not in index and "n1" not in open_cli_index(folder)[0]
        monkeypatch.setattr(IndexFolder, "commit", real_commit)
        retry = client.post("/documents", json=body)
        assert retry.status_code == 200, retry.text
    assert open_cli_index(folder)[2]["n1"] == "Comets have icy tails."


def test_a_read_only_server_follows_an_override(
    run, beir_dir: Path, tiny_model, tiny_model_path: Path, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from plait.cli.folder import follower, open_cli_index
    from plait.server import create_app

    folder = tmp_path / "idx"
    assert run("index", beir_dir, folder, "--exact", "--model", tiny_model_path).exit_code == 0
    index, _, _ = open_cli_index(folder)
    app = create_app(index, writable=False, refresh_interval=0, reopen=follower(folder))
    with TestClient(app) as client:
        assert client.get("/health").json()["documents"] == 4
        smaller = tmp_path / "two.jsonl"
        smaller.write_text('{"id": "x1", "text": "one"}\n{"id": "x2", "text": "two"}\n')
        done = run("index", smaller, folder, "--exact", "--override", "--model", tiny_model_path)
        assert done.exit_code == 0, done.output
        assert client.get("/health").json()["documents"] == 2
        query = tiny_model.encode(["one"], is_query=True)[0].tolist()
        hits = client.post("/search", json={"embeddings": [query], "k": 5}).json()["results"][0]
        assert {hit["id"] for hit in hits} == {"x1", "x2"}


def start_serve(index: Path, *options: str, preexec_fn=None) -> tuple[subprocess.Popen, str]:
    """``plait serve`` in a subprocess, its output in a file; waits for /health."""
    port = free_port()
    log = open(index.parent / f"serve-{port}.log", "w+")  # noqa: SIM115 (closed by stop_serve)
    command = [
        sys.executable,
        "-m",
        "plait.cli.main",
        "serve",
        str(index),
        "--no-model",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(
        [*command, *options], stdout=log, stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn
    )
    server.log = log  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            httpx.get(f"{url}/health", timeout=2)
            return server, url
        except httpx.TransportError:
            assert server.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.3)


def stop_serve(server: subprocess.Popen) -> str:
    server.send_signal(signal.SIGINT)
    server.wait(30)
    server.log.close()  # type: ignore[attr-defined]
    return Path(server.log.name).read_text()  # type: ignore[attr-defined]


def low_descriptor_limit() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@pytest.mark.slow  # waits for the server's timeouts
def test_idle_and_slow_clients_cannot_exhaust_the_server(bare_index: Exact) -> None:
    """D7 end to end: under a 256-descriptor limit, 300 idle connections and a slow client. The
    server refuses what does not fit, closes the idle and slow ones by its timeouts, keeps
    answering /health, and its log stays small (uvicorn alone: no answer, 100 MB of log)."""
    server, url = start_serve(
        bare_index.path,
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        "--max-connections",
        "100",
        "--log-level",
        "warning",
        preexec_fn=low_descriptor_limit,
    )
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    idle = []
    try:
        for _ in range(300):
            idle.append(socket.create_connection((host, port), timeout=5))
        with socket.create_connection((host, port), timeout=5) as slow:
            slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
            slow.settimeout(1 + 2)
            start = time.monotonic()
            answer = b""
            try:
                while chunk := slow.recv(4096):
                    answer += chunk
            except ConnectionResetError:  # refused at the cap while the idle ones were still open
                pass
            # closed in time: timed out (408), or, on a loaded machine where the idle connections
            # have not expired yet, refused at the connection cap (503, or a reset)
            assert time.monotonic() - start < 1 + 2
            assert answer == b"" or answer.startswith((b"HTTP/1.1 408 ", b"HTTP/1.1 503 ")), answer
        deadline = time.monotonic() + 1 + 2
        while True:  # the idle connections are gone within the header timeout
            try:
                assert httpx.get(f"{url}/health", timeout=2).status_code == 200
                break
            except (httpx.TransportError, AssertionError):
                assert time.monotonic() < deadline, "/health did not answer"
                time.sleep(0.2)
        assert server.poll() is None
    finally:
        for sock in idle:
            sock.close()
        log = stop_serve(server)
    assert server.returncode == 0, log
    assert "serving at most 100 connections" not in log  # 100 + the reserve fit in 256 descriptors
    assert "Too many open files" not in log and len(log) < 20_000, log[-2000:]


@pytest.mark.slow  # two plait processes; test_a_read_only_server_follows_an_override stays fast
def test_read_only_server_sees_another_writer(bare_index: Exact) -> None:
    server, url = start_serve(
        bare_index.path, "--read-only", "--refresh-interval", "0.2", "--log-level", "warning"
    )
    try:
        assert httpx.get(f"{url}/health").json()["documents"] == 2
        writer = Exact(index_folder=bare_index.path.parent, index_name="served")
        writer.add_documents(["c"], [np.ones((1, 4), dtype=np.float32)])
        writer.remove_documents(["a"])
        time.sleep(0.3)
        assert httpx.get(f"{url}/health").json()["documents"] == 2
        hits = httpx.post(
            f"{url}/search", json={"embeddings": [[[1.0, 1.0, 1.0, 1.0]]], "k": 5}
        ).json()["results"][0]
        assert [h["id"] for h in hits][0] == "c" and "a" not in {h["id"] for h in hits}
        stats = httpx.get(f"{url}/stats").json()
        assert stats["documents"] == 2 and stats["stored_tokens"] == 5 and "path" not in stats
    finally:
        log = stop_serve(server)
    assert server.returncode == 0, log
