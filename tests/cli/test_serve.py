"""plait serve: a live server on 127.0.0.1, its writer lock, and clear refusals."""

from __future__ import annotations

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
    index.add_documents(["a", "b"], [np.eye(4, dtype=np.float32)[:2], np.eye(4, dtype=np.float32)[2:]])
    return index


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")


def test_serve_refuses_an_index_another_writer_holds(run, bare_index: Exact) -> None:
    with IndexFolder(bare_index.path).writer_lock():
        result = run("serve", "--index", bare_index.path, "--no-model")
    assert result.exit_code == 1
    assert "being written by another process" in result.output and "Traceback" not in result.output
    result = run("serve", "--index", bare_index.path.parent / "missing", "--no-model")
    assert result.exit_code == 2 and "no index folder" in result.output


def test_live_server_answers_and_holds_the_writer_lock(bare_index: Exact) -> None:
    port = free_port()
    env = {**os.environ, "PLAIT_API_KEY": "k3y"}
    command = [sys.executable, "-m", "plait.cli.main", "serve", "--index", str(bare_index.path), "--no-model"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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
        added = httpx.post(f"{url}/documents", json={"ids": ["c"], "embeddings": [[[1, 1, 0, 0]]]}, headers={"X-API-Key": "k3y"})
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


def test_api_writes_keep_a_plait_index_folder_in_step(run, beir_dir: Path, tiny_model, tiny_model_path: Path, tmp_path: Path) -> None:
    import json

    from fastapi.testclient import TestClient

    from plait.cli.search import open_cli_index
    from plait.cli.serve import cli_folder_sync
    from plait.server import create_app

    folder = tmp_path / "idx"
    assert run("index", beir_dir, folder, "--exact", "--model", tiny_model_path).exit_code == 0
    index, _, _ = open_cli_index(folder)
    app = create_app(index, tiny_model, on_write=cli_folder_sync(folder, index))
    with TestClient(app) as client:
        body = {"ids": ["n1"], "texts": ["Comets have icy tails."]}
        assert client.post("/documents", json=body).status_code == 200
        assert client.post("/documents/delete", json={"ids": ["d4"]}).status_code == 200
    assert json.loads((folder / "cli.json").read_text())["documents"] == 4
    found = json.loads(run("search", folder, "icy comets", "-k", "4", "--json").stdout)[0]["results"]
    assert {hit["id"]: hit.get("text") for hit in found}["n1"] == "Comets have icy tails."
    assert "d4" not in {hit["id"] for hit in found}
