"""Hard-negative mining: never a positive, margins and rank ranges respected (property tests)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.training import mine_hard_negatives
from plait.training.scorers import BM25Scorer


class FixedScorer:
    """Scores from a given matrix, looked up by query text ("q<i>")."""

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def fit(self, documents):
        assert len(documents) == self.scores.shape[1]

    def score(self, queries):
        return self.scores[[int(q[1:]) for q in queries]]


@st.composite
def mining_problem(draw):
    n_queries = draw(st.integers(1, 5))
    n_docs = draw(st.integers(2, 12))
    scores = np.array(
        draw(
            st.lists(
                st.lists(
                    st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.0]),
                    min_size=n_docs,
                    max_size=n_docs,
                ),
                min_size=n_queries,
                max_size=n_queries,
            )
        )
    )
    qrels = {}
    for q in range(n_queries):
        positives = draw(st.sets(st.integers(0, n_docs - 1), min_size=1, max_size=n_docs - 1))
        judged = {f"d{d}": 1 for d in positives}
        zero = draw(st.sets(st.integers(0, n_docs - 1)))  # judged non-relevant: allowed negatives
        judged.update({f"d{d}": 0 for d in zero if f"d{d}" not in judged})
        qrels[f"q{q}"] = judged
    return scores, qrels


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    problem=mining_problem(),
    num_negatives=st.integers(1, 4),
    range_min=st.integers(0, 3),
    width=st.integers(1, 8),
    margin=st.one_of(st.none(), st.sampled_from([0.0, 0.5, 1.0])),
    relative=st.one_of(st.none(), st.sampled_from([0.0, 0.25])),
    sampling=st.sampled_from(["top", "random"]),
    output_format=st.sampled_from(["triplet", "n-tuple"]),
)
def test_mining_never_returns_a_positive_and_respects_filters(
    problem, num_negatives, range_min, width, margin, relative, sampling, output_format
):
    scores, qrels = problem
    n_docs = scores.shape[1]
    queries = {f"q{i}": f"q{i}" for i in range(scores.shape[0])}
    corpus = {f"d{i}": f"text of d{i}" for i in range(n_docs)}
    rows = mine_hard_negatives(
        queries=queries,
        corpus=corpus,
        qrels=qrels,
        retriever=FixedScorer(scores),
        num_negatives=num_negatives,
        range_min=range_min,
        range_max=range_min + width,
        absolute_margin=margin,
        relative_margin=relative,
        sampling=sampling,
        output_format=output_format,
    )
    for row in rows:
        q = int(row["query"][1:])
        positive = int(row["positive"].split("d")[-1])
        negatives = [int(v.split("d")[-1]) for k, v in row.items() if k.startswith("negative")]
        assert negatives and len(set(negatives)) == len(negatives)
        positives = {int(d[1:]) for d, g in qrels[f"q{q}"].items() if g > 0}
        assert positive in positives
        assert not set(negatives) & positives  # never a known positive
        ranking = [d for d in np.argsort(-scores[q], kind="stable") if d not in positives]
        allowed = set(ranking[range_min : range_min + width])
        for n in negatives:
            assert n in allowed
            if margin is not None:
                assert scores[q, n] <= scores[q, positive] - margin
            if relative is not None:
                assert scores[q, n] <= scores[q, positive] * (1 - relative)
        if output_format == "n-tuple":
            assert len(negatives) == num_negatives


def test_top_sampling_takes_the_highest_ranked_non_positives():
    scores = np.array([[5.0, 4.0, 3.0, 2.0, 1.0]])
    rows = mine_hard_negatives(
        queries={"q0": "q0"},
        corpus={f"d{i}": f"d{i}" for i in range(5)},
        qrels={"q0": {"d1": 1}},
        retriever=FixedScorer(scores),
        num_negatives=2,
    )
    assert rows == [{"query": "q0", "positive": "d1", "negative_1": "d0", "negative_2": "d2"}]
    # d0 scores above the positive: an absolute margin of 0 drops it (likely unlabelled positive)
    rows = mine_hard_negatives(
        queries={"q0": "q0"},
        corpus={f"d{i}": f"d{i}" for i in range(5)},
        qrels={"q0": {"d1": 1}},
        retriever=FixedScorer(scores),
        num_negatives=2,
        absolute_margin=0.5,
    )
    assert rows == [{"query": "q0", "positive": "d1", "negative_1": "d2", "negative_2": "d3"}]


def test_bm25_mining_on_a_beir_folder_writes_jsonl(tmp_path):
    (tmp_path / "data" / "qrels").mkdir(parents=True)
    docs = {
        "a": "cats eat fish",
        "b": "cats sleep a lot",
        "c": "dogs eat meat",
        "d": "the stock market fell",
        "e": "cats and dogs play",
    }
    with open(tmp_path / "data" / "corpus.jsonl", "w") as f:
        for did, text in docs.items():
            f.write(json.dumps({"_id": did, "title": "", "text": text}) + "\n")
    with open(tmp_path / "data" / "queries.jsonl", "w") as f:
        f.write(json.dumps({"_id": "1", "text": "what do cats eat"}) + "\n")
    (tmp_path / "data" / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\n1\ta\t1\n")
    out = tmp_path / "out" / "triplets.jsonl"
    rows = mine_hard_negatives(
        tmp_path / "data", retriever="bm25", num_negatives=2, output_path=out
    )
    assert len(rows) == 1 and rows[0]["positive"] == "cats eat fish"
    assert set(rows[0]) == {"query", "positive", "negative_1", "negative_2"}
    assert rows[0]["negative_1"] != "cats eat fish"
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows
    # BM25 ranks documents sharing "cats"/"eat" first
    bm25 = BM25Scorer()
    bm25.fit(list(docs.values()))
    scores = bm25.score(["what do cats eat"])[0]
    assert scores[3] == 0.0 and scores[0] == scores.max()


def test_mining_rejects_bad_settings():
    kwargs = {"queries": {"q": "q"}, "corpus": {"d": "d"}, "qrels": {"q": {"d": 1}}}
    with pytest.raises(ValueError, match="range_min"):
        mine_hard_negatives(**kwargs, range_min=5, range_max=5)
    with pytest.raises(ValueError, match="num_negatives"):
        mine_hard_negatives(**kwargs, num_negatives=0)
    with pytest.raises(ValueError, match="unknown retriever"):
        mine_hard_negatives(**kwargs, retriever="nope")
    with pytest.raises(ValueError, match="nothing to mine"):
        mine_hard_negatives(queries={"q": "q"}, corpus={"d": "d"}, qrels={"q": {"x": 1}})
    with pytest.raises(ValueError, match="not both"):
        mine_hard_negatives("folder", **kwargs)


def test_colbert_scorer_matches_maxsim(tiny_model):
    from plait.training.scorers import ColBERTScorer

    docs = ["cats eat fish", "dogs bark, loudly", "a"]
    scorer = ColBERTScorer(tiny_model)
    scorer.fit(docs)
    got = scorer.score(["cats?", "dog noise"])
    q = tiny_model.encode(["cats?", "dog noise"], is_query=True)
    d = tiny_model.encode(docs, is_query=False)
    expected = np.array([[(qi @ dj.T).max(axis=1).sum() for dj in d] for qi in q])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_biencoder_scorer_ranks_the_obvious_document_first():
    from plait.training.scorers import BiEncoderScorer

    scorer = BiEncoderScorer()
    scorer.fit(["The stock market fell sharply today.", "Cats love to eat fish."])
    scores = scorer.score(["what food do cats like"])
    assert scores.shape == (1, 2) and scores[0, 1] > scores[0, 0]
