"""Metadata over HTTP: add with metadata, read back, update, filtered search (equal to the library's
own filtered search), bound parameters, refused injections, limits, read-only servers, OpenAPI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from server_helpers import DIM, random_documents

from plait.indexes import Exact
from plait.server import Limits, create_app

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

ROW = [1.0] + [0.0] * (DIM - 1)
LIMITS = Limits(
    max_texts=40, max_chars=200, max_filter_chars=120, max_filter_params=3, max_metadata_keys=4
)
SOURCES = ["pubmed", "arxiv", "O'Brien"]


def metadata_of(i: int) -> dict[str, Any] | None:
    """Every fifth document has none; the others a year, a source (one with a quote) and a flag."""
    if i % 5 == 4:
        return None
    return {"year": 2015 + i % 10, "source": SOURCES[i % 3], "reviewed": i % 2 == 0}


def make_index(kind: str, folder: Path) -> Any:
    if kind == "exact":
        return Exact(index_folder=folder, index_name="meta")
    from plait.indexes.plaid import PLAID

    return PLAID(index_folder=folder, index_name="meta", nbits=2, n_centroids=8)


@pytest.fixture(params=["exact", "plaid"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    """A TestClient over an index of 30 documents added through the API with metadata."""
    index = make_index(request.param, tmp_path)
    ids, docs = random_documents(30)
    with TestClient(create_app(index, limits=LIMITS)) as client:
        body = {
            "ids": ids,
            "embeddings": [d.tolist() for d in docs],
            "metadata": [metadata_of(i) for i in range(30)],
        }
        added = client.post("/documents", json=body)
        assert added.status_code == 200, added.text
        yield client, index


def queries(n: int = 3, seed: int = 5) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(2, DIM)).astype(np.float32) for _ in range(n)]


def hits(answer: Any) -> list[list[tuple[str, float]]]:
    assert answer.status_code == 200, answer.text
    return [[(h["id"], h["score"]) for h in result] for result in answer.json()["results"]]


def check_refused(answer: Any, status: int, *fragments: str) -> str:
    """A clear error: the status, a one-string detail with the fragments, never a traceback."""
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert (
        isinstance(detail, str) and "Traceback" not in answer.text and 'File "' not in answer.text
    )
    for fragment in fragments:
        assert fragment in detail, detail
    return detail


@pytest.mark.parametrize(
    ("where", "params"),
    [
        ("year >= ?", [2020]),
        ("year >= ? AND source = ?", [2018, "pubmed"]),
        ("source = ?", ["O'Brien"]),
        ("reviewed AND year < 2019", None),
        ("year IS NULL", None),
        ("source IN ('arxiv', 'pubmed') OR year = ?", [2024]),
    ],
)
def test_filtered_search_equals_the_library(served, where: str, params: list[Any] | None) -> None:
    client, index = served
    qs = queries()
    body: dict[str, Any] = {"embeddings": [q.tolist() for q in qs], "k": 8, "filter": where}
    if params is not None:
        body["filter_params"] = params
    got = hits(client.post("/search", json=body))
    want = index.search(qs, 8, filter=where, filter_params=params)
    allowed = set(index.filter_ids(where, params))
    assert allowed, "the filter should match some documents"
    for result, expected in zip(got, want, strict=True):
        assert [i for i, _ in result] == list(expected.ids)
        np.testing.assert_allclose([s for _, s in result], expected.scores, rtol=1e-5)
        assert {i for i, _ in result} <= allowed
        assert len(result) == min(8, len(allowed))


def test_quoted_string_parameter_is_bound_not_spliced(served) -> None:
    client, _ = served
    expected = {f"d{i}" for i in range(30) if (metadata_of(i) or {}).get("source") == "O'Brien"}
    body = {"embeddings": [[ROW]], "k": 30, "filter": "source = ?", "filter_params": ["O'Brien"]}
    assert {i for i, _ in hits(client.post("/search", json=body))[0]} == expected
    # the same value spliced into the SQL by a careless client is a syntax error, not a match
    spliced = {"embeddings": [[ROW]], "k": 30, "filter": "source = 'O'Brien'"}
    check_refused(client.post("/search", json=spliced), 422, "filter")
    # a parameter that looks like SQL is only a string
    sneaky = {
        "embeddings": [[ROW]],
        "k": 30,
        "filter": "source = ?",
        "filter_params": ["x' OR '1'='1"],
    }
    assert hits(client.post("/search", json=sneaky)) == [[]]


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ({"filter": "year > 1) UNION SELECT 1 --"}, ["not a valid SQL condition"]),
        ({"filter": "year > 1 UNION SELECT 1"}, ["filter"]),
        ({"filter": "year > (SELECT 1)"}, ["filter"]),
        ({"filter": "year > 1; DROP TABLE t"}, ["not a valid SQL condition"]),
        ({"filter": "nope > 1"}, ["nope", "metadata columns"]),
        ({"filter": "year = ?", "filter_params": ["abc"]}, ["filter", "abc"]),
        ({"filter": "year = ? AND source = ?", "filter_params": [2020]}, ["filter"]),
        ({"filter": "year >="}, ["filter"]),
        ({"filter_params": [2020]}, ["filter_params were given without a filter"]),
        ({"filter": ""}, ["body.filter", "at least 1 character"]),
        (
            {"filter": "year > 1 OR " + "year > 1 OR " * 10},
            ["body.filter", "at most 120 characters"],
        ),
        (
            {"filter": "year IN (?, ?, ?, ?)", "filter_params": [1, 2, 3, 4]},
            ["body.filter_params", "at most 3 items"],
        ),
        ({"filter": "year = ?", "filter_params": [[1]]}, ["body.filter_params.0"]),
        ({"filter": "year = ?", "filter_params": [2**63]}, ["outside the 64-bit range"]),
        ({"filter": 7}, ["body.filter", "valid string"]),
    ],
)
def test_bad_filters_get_one_clear_422(served, body: dict[str, Any], fragments: list[str]) -> None:
    client, index = served
    before = len(index)
    check_refused(
        client.post("/search", json={"embeddings": [[ROW]], "k": 3, **body}), 422, *fragments
    )
    assert len(index) == before


def test_add_with_metadata_then_read_back(served) -> None:
    client, index = served
    got = client.post("/documents/get", json={"ids": ["d0", "d4", "d5", "d0"]})
    assert got.status_code == 200, got.text
    assert got.json() == {
        "documents": [
            {"id": "d0", "text": None, "metadata": metadata_of(0)},
            {"id": "d4", "text": None, "metadata": {}},
            {"id": "d5", "text": None, "metadata": metadata_of(5)},
            {"id": "d0", "text": None, "metadata": metadata_of(0)},
        ]
    }
    assert got.json()["documents"][0]["metadata"] == index.get_documents(["d0"])[0]["metadata"]
    # an upsert replaces the metadata together with the vectors
    upsert = client.put(
        "/documents",
        json={"ids": ["d0"], "embeddings": [[ROW]], "metadata": [{"year": 1990, "lang": "fr"}]},
    )
    answer = upsert.json()
    codebook = answer.pop("codebook", None)  # a PLAID index says what the add did to it
    assert answer == {"added": 0, "replaced": 1, "removed": 0, "documents": 30}
    assert (codebook is not None) == hasattr(index, "last_add")
    if codebook is not None:
        assert codebook["documents"] == 1 and not codebook["trained"]
    assert index.get_documents(["d0"])[0]["metadata"] == {"year": 1990, "lang": "fr"}
    assert client.get("/stats").json()["metadata_schema"] == {
        "year": "int",
        "source": "str",
        "reviewed": "bool",
        "lang": "str",
    }
    assert (
        hits(
            client.post(
                "/search",
                json={"embeddings": [[ROW]], "filter": "lang = ?", "filter_params": ["fr"]},
            )
        )[0][0][0]
        == "d0"
    )


def test_texts_and_metadata_commit_with_the_vectors(tiny_model, tmp_path: Path) -> None:
    index = Exact(index_folder=tmp_path, index_name="texts")
    with TestClient(create_app(index, tiny_model, limits=LIMITS)) as client:
        body = {
            "ids": ["a", "b"],
            "texts": ["first text", "second text"],
            "metadata": [{"year": 2021}, None],
        }
        assert client.post("/documents", json=body).status_code == 200
        got = client.post("/documents/get", json={"ids": ["a", "b"]}).json()["documents"]
    assert got == [
        {"id": "a", "text": "first text", "metadata": {"year": 2021}},
        {"id": "b", "text": "second text", "metadata": {}},
    ]
    reopened = Exact(index_folder=tmp_path, index_name="texts")  # committed on disk, all together
    assert reopened.get_documents(["a", "b"]) == got


def test_a_refused_metadata_write_adds_nothing(served) -> None:
    client, index = served
    # a str into the int column: the whole add is refused, vectors included
    bad = {
        "ids": ["new1", "new2"],
        "embeddings": [[ROW], [ROW]],
        "metadata": [{"year": 2020}, {"year": "soon"}],
    }
    for method in (client.post, client.put):
        check_refused(method("/documents", json=bad), 422, "year", "type")
    assert "new1" not in index and "new2" not in index and len(index) == 30
    for body, fragments in [
        (
            {"ids": ["n"], "embeddings": [[ROW]], "metadata": [{"a": 1}, {"b": 2}]},
            ["got 1 ids but 2 metadata entries"],
        ),
        (
            {"ids": ["n"], "embeddings": [[ROW]], "metadata": [{"bad key": 1}]},
            ["key 'bad key' is not a column name"],
        ),
        ({"ids": ["n"], "embeddings": [[ROW]], "metadata": [{"__x": 1}]}, ["not a column name"]),
        (
            {"ids": ["n"], "embeddings": [[ROW]], "metadata": [{"a": {"nested": 1}}]},
            ["body.metadata.0.a"],
        ),
        ({"ids": ["n"], "embeddings": [[ROW]], "metadata": [{"a": [1, 2]}]}, ["body.metadata.0.a"]),
        (
            {"ids": ["n"], "embeddings": [[ROW]], "metadata": [{"a": 2**64}]},
            ["outside the 64-bit range"],
        ),
        (
            {"ids": ["n"], "embeddings": [[ROW]], "metadata": [{"a": "x" * 201}]},
            ["at most 200 characters"],
        ),
        (
            {"ids": ["n"], "embeddings": [[ROW]], "metadata": [{f"k{i}": i for i in range(5)}]},
            ["body.metadata.0", "at most 4 items"],
        ),
        (
            {"ids": ["n"], "embeddings": [[ROW]], "metadata": {"a": 1}},
            ["body.metadata", "valid list"],
        ),
    ]:
        check_refused(client.post("/documents", json=body), 422, *fragments)
    assert "n" not in index and len(index) == 30


def test_update_metadata(served) -> None:
    client, index = served
    vectors = index.get_documents_embeddings(["d1", "d2"])
    answer = client.post(
        "/documents/metadata",
        json={"ids": ["d1", "d2"], "metadata": [{"year": 2030, "source": "new"}, None]},
    )
    assert answer.status_code == 200 and answer.json() == {"updated": 2, "documents": 30}
    assert index.get_documents(["d1", "d2"]) == [
        {"id": "d1", "text": None, "metadata": {"year": 2030, "source": "new"}},
        {"id": "d2", "text": None, "metadata": {}},
    ]
    for got, want in zip(index.get_documents_embeddings(["d1", "d2"]), vectors, strict=True):
        np.testing.assert_allclose(got, want)  # vectors untouched
    found = hits(
        client.post(
            "/search",
            json={"embeddings": [[ROW]], "k": 30, "filter": "year = ?", "filter_params": [2030]},
        )
    )
    assert [i for i, _ in found[0]] == ["d1"]
    # unknown ids, duplicates, type mismatches: 404/422 and nothing changes
    check_refused(
        client.post(
            "/documents/metadata",
            json={"ids": ["d1", "ghost"], "metadata": [{"year": 1}, {"year": 2}]},
        ),
        404,
        "ghost",
    )
    check_refused(
        client.post(
            "/documents/metadata",
            json={"ids": ["d1", "d1"], "metadata": [{"year": 1}, {"year": 2}]},
        ),
        422,
        "duplicates",
    )
    check_refused(
        client.post("/documents/metadata", json={"ids": ["d1"], "metadata": [{"year": "x"}]}),
        422,
        "year",
    )
    check_refused(
        client.post("/documents/metadata", json={"ids": ["d1"], "metadata": []}),
        422,
        "body.metadata",
    )
    check_refused(
        client.post("/documents/metadata", json={"ids": ["d1"]}),
        422,
        "body.metadata",
        "Field required",
    )
    assert index.get_documents(["d1"])[0]["metadata"] == {"year": 2030, "source": "new"}


def test_get_unknown_ids_is_404(served) -> None:
    client, _ = served
    check_refused(
        client.post("/documents/get", json={"ids": ["d1", "ghost"]}),
        404,
        "unknown document id(s): ['ghost']",
    )
    check_refused(client.post("/documents/get", json={"ids": []}), 422, "body.ids")


def test_dates_stored_through_the_library_read_back_as_iso_strings(tmp_path: Path) -> None:
    index = Exact(index_folder=tmp_path, index_name="dates")
    index.add_documents(
        ["a"], [np.asarray([ROW], dtype=np.float32)], metadata=[{"published": dt.date(2021, 3, 4)}]
    )
    with TestClient(create_app(index, limits=LIMITS)) as client:
        assert client.post("/documents/get", json={"ids": ["a"]}).json()["documents"][0][
            "metadata"
        ] == {"published": "2021-03-04"}
        assert client.get("/stats").json()["metadata_schema"] == {"published": "date"}
        body = {
            "embeddings": [[ROW]],
            "filter": "published >= CAST(? AS DATE)",
            "filter_params": ["2021-01-01"],
        }
        assert [i for i, _ in hits(client.post("/search", json=body))[0]] == ["a"]


def test_read_only_server_refuses_metadata_writes_but_reads_and_filters(tmp_path: Path) -> None:
    index = Exact(index_folder=tmp_path, index_name="ro")
    index.add_documents(
        ["a", "b"],
        [np.asarray([ROW], dtype=np.float32)] * 2,
        metadata=[{"year": 2020}, {"year": 2010}],
    )
    with TestClient(create_app(index, writable=False, limits=LIMITS)) as client:
        check_refused(
            client.post("/documents/metadata", json={"ids": ["a"], "metadata": [{"year": 1}]}),
            403,
            "read-only",
        )
        added = client.post(
            "/documents", json={"ids": ["c"], "embeddings": [[ROW]], "metadata": [{"year": 1}]}
        )
        check_refused(added, 403, "read-only")
        check_refused(
            client.put(
                "/documents", json={"ids": ["a"], "embeddings": [[ROW]], "metadata": [{"year": 1}]}
            ),
            403,
            "read-only",
        )
        assert client.post("/documents/get", json={"ids": ["a"]}).json()["documents"][0][
            "metadata"
        ] == {"year": 2020}
        body = {"embeddings": [[ROW]], "filter": "year > ?", "filter_params": [2015]}
        assert [i for i, _ in hits(client.post("/search", json=body))[0]] == ["a"]
    assert index.get_documents(["a"])[0]["metadata"] == {"year": 2020} and "c" not in index


def test_stats_lists_metadata_columns(served) -> None:
    client, index = served
    stats = client.get("/stats").json()
    assert (
        stats["metadata_schema"]
        == index.metadata_schema
        == {"year": "int", "source": "str", "reviewed": "bool"}
    )


def test_openapi_documents_filters_and_metadata(served) -> None:
    client, _ = served
    schema = client.get("/openapi.json").json()
    assert {"/documents/get", "/documents/metadata"} <= set(schema["paths"])
    components = schema["components"]["schemas"]
    search = components["SearchRequest"]["properties"]
    assert (
        "SQL condition" in search["filter"]["description"]
        and "filter_params" in search["filter"]["description"]
    )
    assert search["filter"]["anyOf"][0]["maxLength"] == 120 and search["filter"]["examples"]
    assert "placeholders" in search["filter_params"]["description"]
    assert (
        search["filter_params"]["anyOf"][0]["maxItems"] == 3 and search["filter_params"]["examples"]
    )
    assert any("filter" in example for example in components["SearchRequest"]["examples"])
    for model in ("DocumentsRequest", "MetadataRequest"):
        metadata = components[model]["properties"]["metadata"]
        assert "One flat object per id" in metadata["description"] and metadata["examples"]
    assert any("metadata" in example for example in components["DocumentsRequest"]["examples"])
    assert "metadata" in components["Document"]["properties"]
    assert "metadata_schema" in components["StatsResponse"]["properties"]
