"""Front ends on a sharded index: ``plait index --shards``, ``plait search`` and the server (Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

ray = pytest.importorskip("ray")

TEXTS = [
    "The patient has a history of cardiac disease and high blood pressure.",
    "Bread needs flour, water, salt and yeast; it rises for hours.",
    "Saturn has bright rings made of ice and rock.",
    "Vitamin D supplements lower the risk of fractures in older adults.",
    "The stock market fell sharply after the interest rate decision.",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "A marathon is a long-distance race of about forty-two kilometres.",
    "Glaciers carve valleys as they slowly move down mountains.",
] * 5


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def run(*args: object):
    from plait.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def sharded_folder(tiny_model_path: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(f"{t} (copy {i})" for i, t in enumerate(TEXTS)) + "\n")
    done = run("index", corpus, folder / "idx", "--shards", 3, "--model", tiny_model_path)
    assert done.exit_code == 0, done.output
    meta = json.loads((folder / "idx" / "cli.json").read_text())
    assert meta["kind"] == "sharded" and meta["shards"] == 3
    return folder / "idx"


def local_results(folder: Path, queries: list[str], k: int):
    from plait.cli.search import open_cli_index, search_texts
    from plait.models import ColBERT

    index, model_path, _ = open_cli_index(folder)  # shards in this process, no Ray
    assert type(index).__name__ == "ShardedPLAID" and index.backend == "local"
    return search_texts(ColBERT(model_path), index, queries, k)


def test_search_command_on_ray_equals_the_in_process_search(sharded_folder: Path):
    queries = ["heart disease", "rings of Saturn"]
    done = run("search", sharded_folder, *queries, "-k", 4, "--json")
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    expected = local_results(sharded_folder, queries, 4)
    for got, want in zip(answer, expected, strict=True):
        assert [h["id"] for h in got["results"]] == want.ids
        np.testing.assert_allclose([h["score"] for h in got["results"]], want.scores, atol=1e-5)
        assert all("text" in h for h in got["results"])


def test_plait_index_rejects_shards_with_exact(tmp_path: Path, tiny_model_path: Path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("one\ntwo\n")
    done = run(
        "index", corpus, tmp_path / "x", "--shards", 2, "--exact", "--model", tiny_model_path
    )
    assert done.exit_code == 2 and "--shards" in done.output


def test_server_over_a_sharded_index_on_ray(sharded_folder: Path, tiny_model):
    from fastapi.testclient import TestClient

    from plait.cli.search import open_cli_index
    from plait.server import create_app

    index, _, _ = open_cli_index(sharded_folder, ray=True)
    assert index.backend == "ray"
    try:
        queries = tiny_model.encode(["bread and yeast"], is_query=True)
        with TestClient(create_app(index)) as client:
            answer = client.post(
                "/search", json={"embeddings": [q.tolist() for q in queries], "k": 3}
            )
            assert answer.status_code == 200, answer.text
            hits = answer.json()["results"][0]
            expected = index.search(queries, 3)[0]
            assert [h["id"] for h in hits] == expected.ids
            stats = client.get("/stats").json()
            assert stats["format"] == "plait-sharded-plaid" and stats["documents"] == len(TEXTS)
    finally:
        index.close()
