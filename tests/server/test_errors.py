"""Every documented error answer: send the bad input, check the status and the message.

None of these may be a 500: the TestClient re-raises server exceptions, so a bug fails loudly.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from server_helpers import DIM

from plait.indexes import Exact
from plait.server import Limits, create_app

ROW = [1.0] + [0.0] * (DIM - 1)


def check(answer, status: int, *fragments: str) -> None:
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str)
    for fragment in fragments:
        assert fragment in detail, detail


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"embeddings": [[ROW]], "k": 51}, ["body.k", "less than or equal to 50"]),
        ({"embeddings": [[ROW]], "k": 0}, ["body.k", "greater than or equal to 1"]),
        ({"embeddings": [[ROW]] * 9}, ["body.embeddings", "at most 8 items"]),
        ({"queries": ["x" * 201]}, ["body.queries.0", "at most 200 characters"]),
        ({"queries": ["a"] * 9}, ["body.queries", "at most 8 items"]),
        ({"queries": []}, ["body.queries", "at least 1 item"]),
        ({"k": 3}, ["exactly one of 'queries' (texts) or 'embeddings'"]),
        ({"queries": ["a"], "embeddings": [[ROW]]}, ["exactly one of"]),
        ({"embeddings": [[]]}, ["body.embeddings.0", "at least 1 item"]),
        ({"embeddings": [[[]]]}, ["body.embeddings.0.0", "at least 1 item"]),
        ({"embeddings": [[ROW, ROW[:-1]]]}, ["embeddings[0] is ragged"]),
        (
            {"embeddings": [[ROW + [0.0]]]},
            ["embeddings[0] has dimension 9 but the index holds dimension 8"],
        ),
        ({"embeddings": [[["nan"] * DIM]]}, ["finite number"]),
        (
            {"embeddings": [[ROW]], "subset": [["d1"], ["d2"]]},
            ["subset has 2 lists but there are 1 queries"],
        ),
        ({"embeddings": [[ROW]], "subset": "d1"}, ["body.subset"]),
        ({"embeddings": [[ROW]], "bogus": 1}, ["body.bogus", "Extra inputs are not permitted"]),
        ([1, 2], ["body", "valid dictionary"]),
    ],
)
def test_bad_search_requests_get_422(client: TestClient, body, fragments) -> None:
    check(client.post("/search", json=body), 422, *fragments)


def test_invalid_json_gets_422(client: TestClient) -> None:
    answer = client.post(
        "/search", content=b"{not json", headers={"content-type": "application/json"}
    )
    check(answer, 422, "JSON decode error")


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"ids": ["x"], "embeddings": [[ROW], [ROW]]}, ["got 1 ids but 2 embeddings"]),
        ({"ids": ["x", "y"], "texts": ["a"]}, ["got 2 ids but 1 texts"]),
        ({"ids": ["x", "x"], "embeddings": [[ROW], [ROW]]}, ["ids contains duplicates: ['x']"]),
        ({"ids": [""], "embeddings": [[ROW]]}, ["body.ids.0", "at least 1 character"]),
        ({"ids": ["x" * 513], "embeddings": [[ROW]]}, ["body.ids.0", "at most 512 characters"]),
        ({"ids": [7], "embeddings": [[ROW]]}, ["body.ids.0", "valid string"]),
        ({"ids": ["x"]}, ["exactly one of 'texts' or 'embeddings'"]),
        (
            {"ids": ["x"], "embeddings": [[[1.0, 2.0]]]},
            ["embeddings[0] has dimension 2 but the index holds dimension 8"],
        ),
    ],
)
def test_bad_documents_get_422_and_change_nothing(
    client: TestClient, disk_index: Exact, body, fragments
) -> None:
    for method in (client.post, client.put):
        check(method("/documents", json=body), 422, *fragments)
    assert len(disk_index) == 20 and "x" not in disk_index


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers_get_422(client: TestClient, disk_index: Exact, literal: bytes) -> None:
    row = b"[" + b", ".join([literal] + [b"0"] * (DIM - 1)) + b"]"
    headers = {"content-type": "application/json"}
    answer = client.post(
        "/documents", content=b'{"ids": ["x"], "embeddings": [[' + row + b"]]}", headers=headers
    )
    check(answer, 422, "body.embeddings.0.0.0", "finite number")
    check(
        client.post("/search", content=b'{"embeddings": [[' + row + b"]]}", headers=headers),
        422,
        "finite number",
    )
    assert "x" not in disk_index


def test_existing_id_gets_409_and_nothing_is_added(client: TestClient, disk_index: Exact) -> None:
    answer = client.post("/documents", json={"ids": ["fresh", "d3"], "embeddings": [[ROW], [ROW]]})
    check(answer, 409, "1 id(s) already in the index: ['d3']", "use PUT /documents")
    assert "fresh" not in disk_index and len(disk_index) == 20


def test_unknown_id_on_delete_gets_404_and_nothing_is_removed(
    client: TestClient, disk_index: Exact
) -> None:
    check(
        client.post("/documents/delete", json={"ids": ["d1", "ghost"]}),
        404,
        "unknown document id(s): ['ghost']",
    )
    assert "d1" in disk_index and len(disk_index) == 20


def test_text_endpoints_without_a_model_get_400(client: TestClient) -> None:
    message = "this server has no model: send embeddings, or start it with --model"
    check(client.post("/search", json={"queries": ["a"]}), 400, message)
    check(client.post("/documents", json={"ids": ["t"], "texts": ["a"]}), 400, message)
    check(client.post("/encode", json={"texts": ["a"]}), 400, message)


def test_request_body_over_the_limit_gets_413(disk_index: Exact) -> None:
    app = create_app(disk_index, limits=Limits(max_body_bytes=1000))
    with TestClient(app) as client:
        big = {"embeddings": [[ROW] * 40]}
        check(client.post("/search", json=big), 413, "exceeds the limit of 1000 bytes")

        def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed bytes are counted
            yield b'{"embeddings": [['
            for _ in range(100):
                yield b"[1, 0, 0, 0, 0, 0, 0, 0],"
            yield b"[1, 0, 0, 0, 0, 0, 0, 0]]]}"

        check(
            client.post("/search", content=chunks(), headers={"content-type": "application/json"}),
            413,
            "exceeds the limit",
        )
        assert client.post("/search", json={"embeddings": [[ROW]]}).status_code == 200


def test_api_key_required_and_compared(disk_index: Exact) -> None:
    with TestClient(create_app(disk_index, api_key="s3cret")) as client:
        body = {"embeddings": [[ROW]]}
        check(client.post("/search", json=body), 401, "missing or wrong API key", "X-API-Key")
        check(
            client.post("/search", json=body, headers={"X-API-Key": "s3cre"}), 401, "wrong API key"
        )
        check(client.get("/stats", headers={"X-API-Key": "wrong"}), 401, "API key")
        assert client.post("/search", json=body, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/health").status_code == 200  # probes need no key
        check(client.get("/openapi.json"), 401, "API key")  # nor do the docs go without it
        schemes = client.get("/openapi.json", headers={"X-API-Key": "s3cret"}).json()["components"][
            "securitySchemes"
        ]
        assert schemes["APIKeyHeader"]["name"] == "X-API-Key"
    with pytest.raises(ValueError, match="non-empty"):
        create_app(disk_index, api_key="")


def test_read_only_server_refuses_writes_with_403(disk_index: Exact) -> None:
    with TestClient(create_app(disk_index, writable=False)) as client:
        check(
            client.post("/documents", json={"ids": ["x"], "embeddings": [[ROW]]}), 403, "read-only"
        )
        check(
            client.put("/documents", json={"ids": ["x"], "embeddings": [[ROW]]}), 403, "read-only"
        )
        check(client.post("/documents/delete", json={"ids": ["d1"]}), 403, "read-only")
        assert client.post("/search", json={"embeddings": [[ROW]]}).status_code == 200


def test_unexpected_errors_are_logged_json_500(disk_index: Exact, caplog) -> None:
    class Broken(Exact):
        def search(self, *args, **kwargs):
            raise RuntimeError("boom")

    broken = Broken(index_folder=disk_index.path.parent, index_name="served")
    with TestClient(
        create_app(broken, hold_writer_lock=False), raise_server_exceptions=False
    ) as client:
        answer = client.post("/search", json={"embeddings": [[ROW]]})
    check(answer, 500, "internal server error (RuntimeError)")
    assert "boom" not in answer.text  # internals stay in the log
    assert any("unhandled error on POST /search" in r.getMessage() for r in caplog.records)


def test_ids_never_become_paths(client: TestClient, disk_index: Exact) -> None:
    """Ids are data (stored in JSON), so a traversal-looking id creates no file anywhere."""
    before = {p.name for p in disk_index.path.parent.rglob("*")}
    evil = ["../../escape", "/etc/passwd", "..\\x", "a/../../b"]
    answer = client.post("/documents", json={"ids": evil, "embeddings": [[ROW]] * 4})
    assert answer.status_code == 200
    assert not (disk_index.path.parent / "escape").exists()
    after = {p.name for p in disk_index.path.parent.rglob("*")}
    assert not any("escape" in name or "passwd" in name for name in after - before)
    hits = client.post("/search", json={"embeddings": [[ROW]], "k": 50, "subset": evil}).json()[
        "results"
    ][0]
    assert sorted(h["id"] for h in hits) == sorted(evil)
    assert np.allclose(disk_index.get_documents_embeddings(["/etc/passwd"])[0], [ROW])


@pytest.mark.parametrize(
    ("value", "where"),
    [(1e39, (0, 0)), (-1e39, (1, 3)), (3e38, (0, 7)), (-3e38, (1, 0)), (1e13, (0, 2))],
)
def test_values_that_overflow_float32_get_422_naming_the_item(
    client: TestClient, disk_index: Exact, value: float, where
) -> None:
    """Finite in JSON, but infinite as float32 (1e39) or large enough that scores overflow (3e38)."""
    matrix = [list(ROW), list(ROW)]
    matrix[where[0]][where[1]] = value
    expected = f"embeddings[1] row {where[0]} column {where[1]} is {value!r}: values must be finite"
    check(client.post("/search", json={"embeddings": [[ROW], matrix]}), 422, expected)
    for method in (client.post, client.put):
        check(
            method("/documents", json={"ids": ["x", "y"], "embeddings": [[ROW], matrix]}),
            422,
            expected,
        )
    assert "x" not in disk_index and "y" not in disk_index


def test_scores_that_overflow_get_422_never_a_null_score(
    client: TestClient, disk_index: Exact, monkeypatch
) -> None:
    """No answer may carry inf or NaN: the library refuses documents whose scores could overflow,
    and should an index still return a non-finite score, the server answers 422, not null."""
    from plait.indexes import IndexInputError
    from plait.indexes.base import SearchResult

    with pytest.raises(IndexInputError, match="overflow"):
        disk_index.add_documents(["huge"], [np.full((1, DIM), 1e27, dtype=np.float32)])
    query = [[1e12] * DIM]  # the largest values accepted: scores stay finite
    answer = client.post("/search", json={"embeddings": [query], "k": 30})
    assert answer.status_code == 200 and all(
        np.isfinite(h["score"]) for h in answer.json()["results"][0]
    )
    real_search = Exact.search

    def overflowing(self, queries, k=10, **kwargs):
        results = real_search(self, queries, k, **kwargs)
        return [
            results[0],
            SearchResult(results[1].ids, np.full(len(results[1]), np.inf, np.float32)),
        ]

    monkeypatch.setattr(Exact, "search", overflowing)
    check(
        client.post("/search", json={"embeddings": [[ROW], query], "k": 30}),
        422,
        "embeddings[1]: MaxSim scores overflow float32",
    )


def test_check_scores_names_the_query() -> None:
    from plait.indexes.base import SearchResult
    from plait.server.app import ApiError, check_scores

    fine = SearchResult(ids=["a"], scores=np.array([1.0], dtype=np.float32))
    check_scores([fine, fine], "queries")
    for bad in (np.inf, -np.inf, np.nan):
        with pytest.raises(ApiError, match=r"queries\[1\]: MaxSim scores overflow"):
            check_scores(
                [fine, SearchResult(ids=["a"], scores=np.array([bad], dtype=np.float32))], "queries"
            )
