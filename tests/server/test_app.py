"""Endpoints against references: brute-force MaxSim, the model's own encode, the index's state."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from server_helpers import DIM, maxsim, random_documents

from plait.indexes import Exact
from plait.server import create_app


def brute_force(queries, ids, docs, k):
    out = []
    for q in queries:
        scores = np.array([maxsim(q, d) for d in docs])
        order = np.argsort(-scores, kind="stable")[:k]
        out.append([(ids[i], float(scores[i])) for i in order])
    return out


def test_search_by_embeddings_matches_brute_force(client: TestClient) -> None:
    ids, docs = random_documents(20)
    rng = np.random.default_rng(1)
    queries = [rng.normal(size=(3, DIM)).astype(np.float32) for _ in range(4)]
    answer = client.post("/search", json={"embeddings": [q.tolist() for q in queries], "k": 5})
    assert answer.status_code == 200, answer.text
    for got, want in zip(answer.json()["results"], brute_force(queries, ids, docs, 5), strict=True):
        assert [h["id"] for h in got] == [i for i, _ in want]
        np.testing.assert_allclose([h["score"] for h in got], [s for _, s in want], rtol=1e-5)


def test_search_subsets_shared_and_per_query(client: TestClient) -> None:
    ids, docs = random_documents(20)
    q = np.random.default_rng(2).normal(size=(2, DIM)).astype(np.float32)
    shared = client.post(
        "/search", json={"embeddings": [q.tolist()] * 2, "k": 10, "subset": ["d3", "d7", "nope"]}
    )
    assert shared.status_code == 200
    for result in shared.json()["results"]:
        assert sorted(h["id"] for h in result) == ["d3", "d7"]
    per_query = client.post(
        "/search", json={"embeddings": [q.tolist()] * 2, "k": 10, "subset": [["d1"], ["d2", "d4"]]}
    )
    got = [sorted(h["id"] for h in r) for r in per_query.json()["results"]]
    assert got == [["d1"], ["d2", "d4"]]


def test_k_larger_than_the_index_gives_every_document(client: TestClient) -> None:
    answer = client.post("/search", json={"embeddings": [[[1.0] + [0.0] * (DIM - 1)]], "k": 50})
    assert len(answer.json()["results"][0]) == 20


def test_add_upsert_delete_change_what_search_sees(client: TestClient, disk_index: Exact) -> None:
    new = np.eye(DIM, dtype=np.float32)[:2]
    added = client.post("/documents", json={"ids": ["new"], "embeddings": [new.tolist()]})
    assert added.status_code == 200 and added.json() == {
        "added": 1,
        "replaced": 0,
        "removed": 0,
        "documents": 21,
    }
    top = client.post("/search", json={"embeddings": [new.tolist()], "k": 1}).json()["results"][0][
        0
    ]
    assert top["id"] == "new" and top["score"] == pytest.approx(2.0)

    flipped = -np.eye(DIM, dtype=np.float32)[:2]
    upsert = client.put(
        "/documents", json={"ids": ["new", "other"], "embeddings": [flipped.tolist(), new.tolist()]}
    )
    assert upsert.json() == {"added": 1, "replaced": 1, "removed": 0, "documents": 22}
    np.testing.assert_allclose(disk_index.get_documents_embeddings(["new"])[0], flipped)

    gone = client.post("/documents/delete", json={"ids": ["new", "other"]})
    assert gone.json() == {"added": 0, "replaced": 0, "removed": 2, "documents": 20}
    top = client.post("/search", json={"embeddings": [new.tolist()], "k": 20}).json()["results"][0]
    assert {"new", "other"}.isdisjoint(h["id"] for h in top)
    # the writes are committed on disk: a fresh reader sees them
    assert sorted(
        Exact(index_folder=disk_index.path.parent, index_name="served").documents_ids
    ) == sorted(disk_index.documents_ids)


def test_health_and_stats(client: TestClient, disk_index: Exact) -> None:
    assert client.get("/health").json() == {
        "status": "ok",
        "documents": 20,
        "dim": DIM,
        "model": False,
        "writable": True,
    }
    stats = client.get("/stats").json()
    files = [p for p in disk_index.path.iterdir() if p.name != "writer.lock"]
    assert stats["format"] == "plait-exact" and stats["documents"] == 20 and stats["dim"] == DIM
    assert stats["stored_tokens"] == sum(len(d) for d in random_documents(20)[1])
    assert stats["disk_bytes"] == sum(p.stat().st_size for p in files)
    assert stats["bytes_per_token"] == pytest.approx(stats["disk_bytes"] / stats["stored_tokens"])


def test_text_endpoints_use_the_model(text_client: TestClient, tiny_model) -> None:
    texts = ["cardiac disease history", "bread needs flour and yeast", "saturn has rings"]
    added = text_client.post("/documents", json={"ids": ["a", "b", "c"], "texts": texts})
    assert added.status_code == 200, added.text
    encoded = text_client.post("/encode", json={"texts": texts, "is_query": False}).json()
    reference = tiny_model.encode(texts, is_query=False)
    assert encoded["dim"] == reference[0].shape[1]
    for got, want in zip(encoded["embeddings"], reference, strict=True):
        np.testing.assert_allclose(np.array(got), want, atol=1e-5)
    query = tiny_model.encode(["heart disease"], is_query=True)[0]
    results = text_client.post("/search", json={"queries": ["heart disease"], "k": 3}).json()[
        "results"
    ][0]
    want = brute_force([query], ["a", "b", "c"], reference, 3)[0]
    assert [h["id"] for h in results] == [i for i, _ in want]
    np.testing.assert_allclose([h["score"] for h in results], [s for _, s in want], rtol=1e-4)


def test_model_and_index_dimensions_must_agree(tiny_model, disk_index: Exact) -> None:
    with pytest.raises(ValueError, match="16-dimensional embeddings but the index holds 8"):
        create_app(disk_index, tiny_model)


def test_openapi_schema_carries_limits_and_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    search = schema["components"]["schemas"]["SearchRequest"]
    assert search["properties"]["k"]["maximum"] == 50
    assert search["examples"]
    assert {"/health", "/stats", "/search", "/documents", "/documents/delete", "/encode"} <= set(
        schema["paths"]
    )


def test_serves_a_plaid_index(tmp_path) -> None:
    from plait.indexes.plaid import PLAID

    ids, docs = random_documents(30)
    index = PLAID(index_folder=tmp_path, index_name="plaid", nbits=2, n_centroids=8)
    with TestClient(create_app(index)) as client:
        added = client.post(
            "/documents", json={"ids": ids, "embeddings": [d.tolist() for d in docs]}
        )
        assert added.status_code == 200, added.text
        hits = client.post("/search", json={"embeddings": [docs[3].tolist()], "k": 30}).json()[
            "results"
        ][0]
        assert {h["id"] for h in hits} <= set(ids) and hits[0]["score"] >= hits[-1]["score"]
        assert client.post("/documents/delete", json={"ids": ["d3"]}).json()["documents"] == 29
        hits = client.post("/search", json={"embeddings": [docs[3].tolist()], "k": 30}).json()[
            "results"
        ][0]
        assert "d3" not in {h["id"] for h in hits}
        stats = client.get("/stats").json()
    assert stats["format"] == "plait-plaid" and stats["nbits"] == 2 and stats["documents"] == 29
    assert stats["bytes_per_token"] == pytest.approx(stats["disk_bytes"] / stats["stored_tokens"])
