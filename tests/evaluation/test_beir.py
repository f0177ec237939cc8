"""load_beir: document text, query restriction, qrels, gzip, and a clear error per malformed folder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from plait.evaluation import BeirFormatError, available_splits, load_beir, load_corpus


def _write_jsonl(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_load_beir_shapes_texts_and_judged_queries(beir_folder: Path) -> None:
    documents, queries, qrels = load_beir(beir_folder)
    assert documents == [
        {"id": "d1", "text": "Cardiac disease The patient has a history of heart failure."},
        {"id": "d2", "text": "The patient has no history of cardiac disease."},
        {"id": "d3", "text": "Bread needs flour, water, salt and yeast."},
        {"id": "q3", "text": "Shared id A document whose id equals a query id."},
    ]
    # q9 has no judgement in "test"; order follows queries.jsonl
    assert [q["id"] for q in queries] == ["q1", "q2", "q3"]
    assert queries[1] == {"id": "q2", "text": "how to bake bread"}
    assert qrels == {"q1": {"d1": 2, "d2": 1}, "q2": {"d3": 1}, "q3": {"q3": 1}}
    assert all(isinstance(g, int) for docs in qrels.values() for g in docs.values())


def test_other_split_and_available_splits(beir_folder: Path) -> None:
    _, queries, qrels = load_beir(beir_folder, split="train")
    assert [q["id"] for q in queries] == ["q2"]
    assert qrels == {"q2": {"d3": 1}}
    assert available_splits(beir_folder) == ["test", "train"]


def test_gzipped_files_and_integer_ids(tmp_path: Path, beir_writer, jsonl_writer) -> None:
    folder = beir_writer(tmp_path / "gz")
    for stem in ("corpus", "queries"):
        plain = folder / f"{stem}.jsonl"
        with gzip.open(folder / f"{stem}.jsonl.gz", "wt", encoding="utf-8") as handle:
            handle.write(plain.read_text())
        plain.unlink()
    documents, queries, _ = load_beir(folder)
    assert len(documents) == 4 and len(queries) == 3
    jsonl_writer(tmp_path / "ints.jsonl", [{"_id": 7, "text": "seven"}])
    assert load_corpus(tmp_path / "ints.jsonl") == [{"id": "7", "text": "seven"}]


def test_headerless_qrels_and_blank_lines(tmp_path: Path, beir_writer) -> None:
    folder = beir_writer(tmp_path / "f", qrels={"test": "q1\td1\t1\n\nq2\td3\t0\n"})
    (folder / "corpus.jsonl").write_text((folder / "corpus.jsonl").read_text() + "\n\n")
    documents, queries, qrels = load_beir(folder)
    assert len(documents) == 4
    assert qrels == {"q1": {"d1": 1}, "q2": {"d3": 0}}
    assert [q["id"] for q in queries] == ["q1", "q2"]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda f: (f / "corpus.jsonl").unlink(), "missing corpus.jsonl"),
        (lambda f: (f / "queries.jsonl").unlink(), "missing queries.jsonl"),
        (
            lambda f: (f / "corpus.jsonl").write_text(
                '{"_id": "a", "text": "x"}\n{"_id": "b", "te\n'
            ),
            "corpus.jsonl line 2: invalid JSON",
        ),
        (lambda f: (f / "corpus.jsonl").write_text('{"text": "no id"}\n'), "line 1: missing '_id'"),
        (lambda f: (f / "corpus.jsonl").write_text("[1, 2]\n"), "line 1: expected a JSON object"),
        (
            lambda f: _write_jsonl(f / "corpus.jsonl", [{"_id": "a", "text": "x"}] * 2),
            "line 2: duplicate _id 'a'",
        ),
        (
            lambda f: _write_jsonl(f / "corpus.jsonl", [{"_id": "a", "text": ["x"]}]),
            "'text' must be a string",
        ),
        (
            lambda f: (f / "qrels" / "test.tsv").write_text("q1\td1\t1\nq2\td3\n"),
            "test.tsv line 2: expected 3 tab-separated fields",
        ),
        (
            lambda f: (f / "qrels" / "test.tsv").write_text("q1\td1\t1\nq2\td3\thigh\n"),
            "test.tsv line 2: score 'high' is not a number",
        ),
        (
            lambda f: (f / "qrels" / "test.tsv").write_text("qX\td1\t1\n"),
            "1 judged query id(s) missing from queries.jsonl (first: 'qX')",
        ),
        (
            lambda f: (f / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n"),
            "no judgements",
        ),
    ],
)
def test_malformed_folder_gives_clear_error(beir_folder: Path, breakage, message: str) -> None:
    breakage(beir_folder)
    with pytest.raises(BeirFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_beir(beir_folder)


def test_missing_split_lists_available(beir_folder: Path) -> None:
    with pytest.raises(BeirFormatError, match=r"no split 'dev' .* available: test, train"):
        load_beir(beir_folder, split="dev")


def test_missing_folder_and_file_instead_of_folder(tmp_path: Path) -> None:
    with pytest.raises(BeirFormatError, match="does not download"):
        load_beir("scifact-that-does-not-exist")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(BeirFormatError, match="not a BEIR folder"):
        load_beir(tmp_path / "file.txt")
    with pytest.raises(BeirFormatError, match="no such file"):
        load_corpus(tmp_path / "missing.jsonl")


def test_load_beir_error_is_a_value_error(beir_folder: Path) -> None:
    (beir_folder / "corpus.jsonl").write_text("not json\n")
    with pytest.raises(ValueError):
        load_beir(beir_folder)


@pytest.mark.parametrize(
    ("name", "n_documents", "n_queries", "first_text"),
    [("scifact", 5183, 300, None), ("cisi", 1460, 76, None), ("cranfield", 1400, 225, None)],
)
def test_shared_collections(name: str, n_documents: int, n_queries: int, first_text) -> None:
    folder = SHARED_DATA / name
    if not folder.is_dir():
        pytest.skip(f"{folder} not available")
    documents, queries, qrels = load_beir(folder)
    assert len(documents) == n_documents
    assert len(queries) == n_queries == len(qrels)
    ids = {d["id"] for d in documents}
    if name == "cranfield":  # documents that share their query's id are kept
        assert any(qid in docs for qid, docs in qrels.items() if qid in ids)
    with open(folder / "corpus.jsonl", encoding="utf-8") as handle:
        raw = json.loads(handle.readline())
    expected = f"{raw.get('title') or ''} {raw['text']}".strip()
    assert documents[0] == {"id": str(raw["_id"]), "text": expected}
