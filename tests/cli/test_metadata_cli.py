"""Metadata on the command line: plait index/add --metadata-fields, search --where/--param, info."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = [
    {"_id": "a", "text": "Heart disease in older patients.", "year": 2018, "source": "pubmed"},
    {
        "_id": "b",
        "text": "Cardiac outcomes after surgery.",
        "metadata": {"year": 2021, "source": "pubmed"},
    },
    {"_id": "c", "text": "Heart rhythm and sleep.", "year": 2022, "source": "arxiv"},
    {"_id": "d", "text": "Bread, flour and yeast.", "year": 2023},
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in CORPUS), encoding="utf-8")
    return path


def _hits(output: str) -> list[str]:
    return [hit["id"] for hit in json.loads(output)[0]["results"]]


def test_index_search_where_and_info(
    run, corpus: Path, tiny_model_path: Path, tmp_path: Path
) -> None:
    index = tmp_path / "idx"
    result = run(
        "index",
        corpus,
        index,
        "--exact",
        "--model",
        tiny_model_path,
        "--metadata-fields",
        "year,source",
    )
    assert result.exit_code == 0, result.output
    everything = run("search", index, "heart", "-k", "10", "--json")
    assert sorted(_hits(everything.output)) == ["a", "b", "c", "d"]
    recent = run(
        "search",
        index,
        "heart",
        "-k",
        "10",
        "--json",
        "--where",
        "year >= ? AND source = ?",
        "--param",
        "2020",
        "--param",
        "pubmed",
    )
    assert recent.exit_code == 0, recent.output
    assert _hits(recent.output) == [
        "b"
    ]  # 2021, nested under "metadata"; a (2018) and c (arxiv) out
    missing = run("search", index, "heart", "-k", "10", "--json", "--where", "source IS NULL")
    assert missing.exit_code == 0 and _hits(missing.output) == ["d"]  # a record without the field
    info = run("info", index, "--json")
    assert json.loads(info.output)["metadata_columns"] == {"source": "str", "year": "int"}


def test_add_with_metadata_fields(run, corpus: Path, tiny_model_path: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(CORPUS[0]) + "\n", encoding="utf-8")
    assert (
        run(
            "index",
            first,
            index,
            "--exact",
            "--model",
            tiny_model_path,
            "--metadata-fields",
            "year",
        ).exit_code
        == 0
    )
    more = tmp_path / "more.jsonl"
    more.write_text("".join(json.dumps(r) + "\n" for r in CORPUS[1:]), encoding="utf-8")
    assert run("add", index, more, "--metadata-fields", "year,source").exit_code == 0
    hits = run(
        "search", index, "heart", "-k", "10", "--json", "--where", "year > ?", "--param", "2021"
    )
    assert sorted(_hits(hits.output)) == ["c", "d"]


def test_errors_come_before_the_model_loads(
    run, corpus: Path, tiny_model_path: Path, tmp_path: Path
) -> None:
    index = tmp_path / "idx"
    assert (
        run(
            "index",
            corpus,
            index,
            "--exact",
            "--model",
            tiny_model_path,
            "--metadata-fields",
            "year",
        ).exit_code
        == 0
    )
    for args, message in (
        (["--where", "nosuch > 1"], "nosuch"),
        (["--where", "year > 1) UNION SELECT 1 --"], "not a valid SQL condition"),
        (["--param", "2020"], "--param needs --where"),
    ):
        result = run("search", index, "heart", "--model", tmp_path / "no-such-model", *args)
        assert (
            result.exit_code == 2 and message in result.output and "Traceback" not in result.output
        )
    text = tmp_path / "plain.txt"
    text.write_text("one line\n", encoding="utf-8")
    result = run("index", text, tmp_path / "other", "--metadata-fields", "year")
    assert result.exit_code == 2 and "a .txt has no fields" in result.output
    result = run("index", corpus, tmp_path / "other", "--metadata-fields", "text")
    assert result.exit_code == 2 and "not metadata" in result.output
