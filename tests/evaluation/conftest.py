"""A tiny BEIR folder written per test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CORPUS = [
    {
        "_id": "d1",
        "title": "Cardiac disease",
        "text": "The patient has a history of heart failure.",
    },
    {"_id": "d2", "title": "", "text": "The patient has no history of cardiac disease."},
    {"_id": "d3", "text": "Bread needs flour, water, salt and yeast."},
    {"_id": "q3", "title": "Shared id", "text": "A document whose id equals a query id."},
]
QUERIES = [
    {"_id": "q1", "text": "patients with cardiac conditions"},
    {"_id": "q2", "text": "how to bake bread"},
    {"_id": "q3", "text": "shared id document"},
    {"_id": "q9", "text": "a query without judgements"},
]
QRELS = {
    "test": "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\nq2\td3\t1\nq3\tq3\t1\n",
    "train": "query-id\tcorpus-id\tscore\nq2\td3\t1\n",
}


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def write_beir(folder: Path, corpus=CORPUS, queries=QUERIES, qrels=QRELS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "corpus.jsonl", corpus)
    write_jsonl(folder / "queries.jsonl", queries)
    (folder / "qrels").mkdir(exist_ok=True)
    for split, text in qrels.items():
        (folder / "qrels" / f"{split}.tsv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def beir_folder(tmp_path: Path) -> Path:
    """A 4-document, 4-query BEIR folder with ``test`` and ``train`` splits."""
    return write_beir(tmp_path / "tiny-beir")


@pytest.fixture
def beir_writer():
    """``write_beir(folder, corpus=..., queries=..., qrels=...)`` for tests that need variants."""
    return write_beir


@pytest.fixture
def jsonl_writer():
    return write_jsonl
