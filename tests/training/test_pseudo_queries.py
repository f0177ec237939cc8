"""Pseudo-queries from corpus titles: pairs, mined rows, and their use in training."""

from __future__ import annotations

import json

import pytest

from plait.evaluation.beir import load_corpus, load_titled_corpus
from plait.training.pseudo_queries import title_pairs, title_rows

BODY = "this study measures {} in {} patients over ten years with careful follow up visits"
RECORDS = [
    {"_id": "a", "title": "Aspirin and heart attack risk", "text": BODY.format("aspirin", "heart")},
    {"_id": "b", "title": "Aspirin and heart attack risk", "text": BODY.format("dose", "cardiac")},
    {
        "_id": "c",
        "title": "Statins lower cholesterol levels",
        "text": BODY.format("statin", "lipid"),
    },
    {"_id": "d", "title": "Short", "text": BODY.format("nothing", "any")},  # title too short
    {"_id": "e", "title": "Vitamin D and bone density", "text": "too short a body"},
    {"_id": "f", "text": BODY.format("vitamin", "bone")},  # no title
    {"_id": "g", "title": " Sleep loss and memory ", "text": BODY.format("sleep", "memory")},
]


@pytest.fixture
def corpus_folder(tmp_path):
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as f:
        for record in RECORDS:
            f.write(json.dumps(record) + "\n")
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "aspirin"}) + "\n")
    (folder / "qrels" / "train.tsv").write_text("q1\ta\t1\n")
    return folder


def test_titled_corpus_keeps_title_apart_and_matches_load_corpus(corpus_folder):
    titled = load_titled_corpus(corpus_folder)
    assert titled[6] == {"id": "g", "title": "Sleep loss and memory", "text": RECORDS[6]["text"]}
    assert titled[5]["title"] == ""
    joined = [f"{r['title']} {r['text']}".strip() for r in titled]
    # the same texts as load_corpus, except that the padded title 'g' lost its spaces
    assert joined[:6] == [d["text"] for d in load_corpus(corpus_folder)][:6]


def test_title_pairs_group_documents_by_title_and_drop_short_ones(corpus_folder):
    queries, corpus, qrels = title_pairs(corpus_folder)
    by_text = {queries[q]: set(docs) for q, docs in qrels.items()}
    assert by_text == {
        "Aspirin and heart attack risk": {"a", "b"},
        "Statins lower cholesterol levels": {"c"},
        "Sleep loss and memory": {"g"},
    }
    # every document body is a candidate, without its title
    assert corpus == {r["_id"]: r["text"] for r in RECORDS}


def test_title_pairs_sample_is_seeded_and_errors_name_the_problem(corpus_folder):
    first = title_pairs(corpus_folder, max_queries=2, seed=3)[0]
    assert len(first) == 2 and first == title_pairs(corpus_folder, max_queries=2, seed=3)[0]
    with pytest.raises(ValueError, match="nothing to make pseudo-queries from"):
        title_pairs(corpus_folder, min_title_words=50)


def test_title_rows_never_use_a_same_title_document_as_negative(corpus_folder):
    rows = title_rows(corpus_folder, num_negatives=3)
    bodies = {r["_id"]: r["text"] for r in RECORDS}
    titles = {r["_id"]: r.get("title", "").strip() for r in RECORDS}
    assert {row["query"] for row in rows} == {titles["a"], titles["c"], titles["g"]}
    for row in rows:
        same_title = {bodies[d] for d in bodies if titles[d] == row["query"]}
        assert row["positive"] in same_title
        assert row["negative"] not in same_title
        assert row["query"] not in row["positive"]
    # a, b (two positives of one title), c and g: three negatives each
    assert len(rows) == 4 * 3
