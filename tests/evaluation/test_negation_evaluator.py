"""The negation evaluator (hand-computed on a tiny set, end to end on tiny models) and its data."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from plait.data import load_negation_dev, negation_dev_path
from plait.evaluation import (
    NegationTriple,
    evaluate_negation,
    load_negation_triples,
)
from plait.evaluation.negation import as_scorer
from plait.training.negation import is_polarity_twin

ROOT = Path(__file__).resolve().parents[2]

TRIPLES = [
    NegationTriple("a", "qa", "A+", "A-", "document", "medical"),
    NegationTriple("b", "qb", "B+", "B-", "document", "legal"),
    NegationTriple("c", "qc", "C+", "C-", "query", "legal"),
    NegationTriple("d", "qd", "D+", "D-", "query", "medical"),
]
# rows: queries qa..qd; columns: A+ A- B+ B- C+ C- D+ D- (the order the evaluator pools them in)
SCORES = np.array(
    [
        [5, 1, 0, 0, 0, 0, 0, 0],  # a: positive first, above its twin
        [0, 0, 2, 3, 4, 0, 0, 0],  # b: twin above (C+ above both): rank 3
        [0, 0, 0, 0, 2, 2, 0, 0],  # c: tie with its twin: credit 1/2, rank 1.5
        [0, 0, 0, 0, 0, 0, 1, 0],  # d: positive above, the rest tie at 0 below it
    ],
    dtype=float,
)


class StubScorer:
    """Fixed scores, checking the evaluator pools the documents in the documented order."""

    def fit(self, documents):
        assert list(documents) == ["A+", "A-", "B+", "B-", "C+", "C-", "D+", "D-"]

    def score(self, queries):
        return SCORES[[ord(q[1]) - ord("a") for q in queries]]


def test_pair_accuracy_and_rank_match_a_hand_computation():
    result = evaluate_negation(StubScorer(), TRIPLES)
    assert result.pair_accuracy == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert result.ties == 1 and result.n_triples == 4 and result.n_documents == 8
    assert [r["rank"] for r in result.per_triple] == [1.0, 3.0, 1.5, 1.0]
    assert result.mean_rank == pytest.approx((1 + 3 + 1.5 + 1) / 4)
    assert result.top1 == pytest.approx(0.5)
    assert result.groups["side:document"] == {
        "pair_accuracy": 0.5,
        "mean_rank": 2.0,
        "top1": 0.5,
        "n": 2,
    }
    assert result.groups["side:query"]["pair_accuracy"] == pytest.approx(0.75)
    assert result.groups["domain:legal"]["pair_accuracy"] == pytest.approx(0.25)
    assert result.groups["domain:medical"]["mean_rank"] == pytest.approx(1.0)
    assert [f["id"] for f in result.failures()] == ["b", "c"]  # worst first
    summary = result.to_dict()
    assert "per_triple" not in summary and json.dumps(summary)


def test_a_retriever_is_scored_over_every_document_and_missing_hits_lose():
    class Retriever:
        def index(self, collection, document_ids, batch_size=32):
            self.ids = list(document_ids)

        def retrieve(self, queries, top_k=10):
            assert top_k == len(self.ids)
            return [[{"id": self.ids[0], "score": 1.0}] for _ in queries]  # only "A+"

    result = evaluate_negation(Retriever(), TRIPLES[:2])
    assert [r["credit"] for r in result.per_triple] == [1.0, 0.5]  # b: both -inf, a tie
    assert result.per_triple[1]["negative_score"] == float("-inf")


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no negation triples"):
        evaluate_negation(StubScorer(), [])
    with pytest.raises(ValueError, match="same text"):
        evaluate_negation(StubScorer(), [NegationTriple("x", "q", "same", "same")])
    with pytest.raises(TypeError, match="needs a ColBERT model"):
        as_scorer(object())
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "query": "q", "positive": "p", "negative": "n"}\n{"id": 2}\n')
    with pytest.raises(ValueError, match="line 2: not a negation triple"):
        load_negation_triples(path)


def test_end_to_end_on_a_tiny_colbert_and_a_tiny_bi_encoder(tiny_model, tiny_encoder_path):
    from sentence_transformers import SentenceTransformer

    from plait.baselines import BM25
    from plait.scores import colbert_scores

    triples = load_negation_dev()[::16]  # 20 triples, every domain and both sides
    colbert = evaluate_negation(tiny_model, triples)
    first = triples[0]
    q = tiny_model.encode([first.query], is_query=True)
    d = tiny_model.encode([first.positive, first.negative], is_query=False)
    expected = [float(colbert_scores(q, [doc])[0, 0]) for doc in d]
    got = colbert.per_triple[0]
    assert [got["positive_score"], got["negative_score"]] == pytest.approx(expected, abs=1e-4)
    bi = evaluate_negation(SentenceTransformer(str(tiny_encoder_path), device="cpu"), triples)
    bm25 = evaluate_negation(BM25(), triples)
    for result in (colbert, bi, bm25):
        assert 0 <= result.pair_accuracy <= 1 and 1 <= result.mean_rank <= result.n_documents
        assert {"side:document", "side:query"} <= set(result.groups)


def test_the_packaged_dev_set():
    triples = load_negation_dev()
    assert len(triples) >= 200 and len({t.id for t in triples}) == len(triples)
    sides = Counter(t.side for t in triples)
    assert sides["query"] >= 50 and sides["document"] >= 200
    assert set(Counter(t.domain for t in triples)) == {"medical", "legal", "technical", "general"}
    for triple in triples:
        assert is_polarity_twin(triple.positive, triple.negative), triple.id
    texts = [text for t in triples for text in (t.positive, t.negative)]
    assert len(set(texts)) == len(texts)
    assert load_negation_dev(side="query") == [t for t in triples if t.side == "query"]
    assert (negation_dev_path().parent / "NEGATION.md").is_file()


def test_the_dev_set_is_what_its_recipe_writes():
    spec = importlib.util.spec_from_file_location(
        "negation_dev_set", ROOT / "recipes" / "negation_dev_set.py"
    )
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    assert negation_dev_path().read_text(encoding="utf-8") == recipe.render(recipe.build())


def test_cli_evaluate_negation(tmp_path, tiny_model_path):
    from plait.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--negation", "--retriever", "bm25", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n_triples"] == len(load_negation_dev()) and 0 <= report["pair_accuracy"] <= 1
    own = tmp_path / "own.jsonl"
    rows = [
        {"id": "1", "query": "pets allowed", "positive": "Pets are allowed.", "negative": "Pets are not allowed."},
        {"id": "2", "query": "is it open", "positive": "It is open.", "negative": "It is closed."},
    ]  # fmt: skip
    own.write_text("".join(json.dumps(row) + "\n" for row in rows))
    args = ["evaluate", "--negation", "--data", str(own), "--model", str(tiny_model_path)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "2 triples (2 document-side), 4 documents, colbert (exact)" in result.output
    assert "pair accuracy" in result.output and "mean rank" in result.output
    result = runner.invoke(app, ["evaluate", "--retriever", "bm25"])
    assert result.exit_code == 2 and "--data is required" in result.output
    result = runner.invoke(app, ["evaluate", "--negation", "--data", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2 and "not a file" in result.output
