"""``plait.retrieve.RerankPipeline`` (tests kept with compare, which owns the pipeline)."""

from __future__ import annotations

import numpy as np
import pytest

from plait import retrieve
from plait.baselines import BM25

TEXTS = [
    "cats purr when content",
    "dogs bark at strangers",
    "vaccines train the immune system",
    "antibiotics kill bacteria not viruses",
    "the nile is a long river",
    "coffee contains caffeine",
    "tea has less caffeine than coffee",
    "solar panels make electricity",
    "wind turbines spin",
]
IDS = [f"d{i}" for i in range(len(TEXTS))]
QUERIES = ["caffeine in coffee and tea", "bacteria and viruses", "river nile", "zebra xylophone"]


def reference(model, first_stage, query: str, candidates: int) -> list[tuple[str, float]]:
    """Slow reference: MaxSim by explicit loops over the first stage's candidates."""
    ids = [hit["id"] for hit in first_stage.retrieve([query], top_k=candidates)[0]]
    q = model.encode([query], is_query=True)[0]
    scored = []
    for doc_id in ids:
        d = model.encode([TEXTS[IDS.index(doc_id)]], is_query=False)[0]
        scored.append((doc_id, sum(max(float(qt @ dt) for dt in d) for qt in q)))
    return sorted(scored, key=lambda t: -t[1])


@pytest.mark.parametrize("cache", [True, False])
def test_matches_reference_maxsim_over_first_stage_candidates(tiny_model, cache):
    pipeline = retrieve.RerankPipeline(
        BM25(), model=tiny_model, candidates=4, cache_embeddings=cache
    )
    pipeline.index(TEXTS, IDS)
    results = pipeline.retrieve(QUERIES, top_k=3)
    for query, hits in zip(QUERIES, results, strict=True):
        expected = reference(tiny_model, pipeline.first_stage, query, 4)[:3]
        assert [h["id"] for h in hits] == [doc_id for doc_id, _ in expected]
        np.testing.assert_allclose(
            [h["score"] for h in hits], [s for _, s in expected], rtol=1e-4, atol=1e-4
        )
    assert results[-1] == []  # BM25 shares no term with the last query: nothing to re-rank
    assert (len(pipeline._embeddings) > 0) == cache


def test_returns_at_most_the_candidates_and_only_them(tiny_model):
    pipeline = retrieve.RerankPipeline(BM25(), model=tiny_model, candidates=2).index(TEXTS, IDS)
    first = {h["id"] for h in pipeline.first_stage.retrieve([QUERIES[0]], top_k=2)[0]}
    hits = pipeline.retrieve(QUERIES[0], k=10)[0]
    assert len(hits) == 2 and {h["id"] for h in hits} == first
    assert hits[0]["score"] >= hits[1]["score"]


class _NoDocumentEncoding:
    """Encodes queries with the real model; fails if asked to encode documents."""

    def __init__(self, model):
        self.model = model

    def encode(self, texts, is_query=True, **kwargs):
        assert is_query, "documents must come from the provided embeddings"
        return self.model.encode(texts, is_query=True, **kwargs)


def test_provided_document_embeddings_are_used(tiny_model):
    pipeline = retrieve.RerankPipeline(BM25(), model=_NoDocumentEncoding(tiny_model), candidates=5)
    pipeline.index(TEXTS, IDS)
    pipeline.add_documents_embeddings(IDS, tiny_model.encode(TEXTS, is_query=False))
    expected = retrieve.RerankPipeline(pipeline.first_stage, model=tiny_model, candidates=5)
    expected.index(TEXTS, IDS, index_first_stage=False)
    got, want = pipeline.retrieve(QUERIES, top_k=5), expected.retrieve(QUERIES, top_k=5)
    assert [[h["id"] for h in r] for r in got] == [[h["id"] for h in r] for r in want]


def test_bad_input_is_named(tiny_model):
    with pytest.raises(TypeError, match="first_stage must be a retriever"):
        retrieve.RerankPipeline(object(), model=tiny_model)
    with pytest.raises(ValueError, match="candidates must be a positive integer"):
        retrieve.RerankPipeline(BM25(), model=tiny_model, candidates=0)
    pipeline = retrieve.RerankPipeline(BM25(), model=tiny_model).index(TEXTS, IDS)
    with pytest.raises(ValueError, match="duplicate document id 'd0'"):
        pipeline.index(["again"], ["d0"])
    with pytest.raises(KeyError, match="not indexed in this pipeline"):
        pipeline.add_documents_embeddings(["nope"], [np.zeros((2, 16), np.float32)])
    with pytest.raises(ValueError, match="1 document ids but 2 embedding matrices"):
        pipeline.add_documents_embeddings(["d0"], [np.zeros((2, 16), np.float32)] * 2)
    with pytest.raises(TypeError, match="needs query texts"):
        pipeline.retrieve([np.zeros((4, 16), np.float32)])
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        pipeline.retrieve(["cats"], top_k=0)
    empty = retrieve.RerankPipeline(BM25(), model=tiny_model)
    assert empty.retrieve(["cats"]) == [[]]
