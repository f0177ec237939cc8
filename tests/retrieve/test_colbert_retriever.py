"""plait.retrieve.ColBERT: the seed's text API and PyLate's embedding API."""

from __future__ import annotations

import numpy as np
import pytest

from plait import indexes, retrieve
from plait.indexes import DuplicateIdError
from plait.scores.reference import maxsim_reference

COLLECTION = [
    "The patient has no history of cardiac disease.",
    "Overfitting in transformers is caused by insufficient regularization.",
    "Transformer architecture uses self attention mechanisms.",
    "Bananas and apples are healthy fruits.",
    "",
]
IDS = ["cardio", "overfit", "attention", "fruit", "empty"]


@pytest.fixture
def retriever(tiny_model, tmp_path):
    index = indexes.Exact(index_path=tmp_path, index_name="docs", override=True)
    return retrieve.ColBERT(index=index, model=tiny_model).index(
        collection=COLLECTION, document_ids=IDS, batch_size=2
    )


def test_seed_text_api_matches_brute_force(retriever, tiny_model):
    queries = ["what causes transformer overfitting", "patients with cardiac conditions"]
    results = retriever.retrieve(queries=queries, top_k=3)
    assert len(results) == 2 and all(len(r) == 3 for r in results)
    docs = tiny_model.encode(COLLECTION, is_query=False)
    for query, result in zip(tiny_model.encode(queries, is_query=True), results, strict=True):
        want = sorted(
            ((maxsim_reference(query, d), i) for i, d in zip(IDS, docs, strict=True)),
            key=lambda t: -t[0],
        )[:3]
        assert [r["id"] for r in result] == [i for _, i in want]
        np.testing.assert_allclose([r["score"] for r in result], [s for s, _ in want], rtol=1e-4)
        assert set(result[0]) == {"id", "score"} and isinstance(result[0]["score"], float)


def test_embedding_api_and_subset(retriever, tiny_model):
    embeddings = tiny_model.encode(["healthy fruits", "self attention"], is_query=True)
    by_text = retriever.retrieve(["healthy fruits", "self attention"], k=4)
    by_embeddings = retriever.retrieve(queries_embeddings=embeddings, k=4)
    assert by_text == by_embeddings
    single = retriever.retrieve(queries_embeddings=embeddings[0], k=2)
    assert len(single) == 1 and single[0] == by_text[0][:2]
    restricted = retriever.retrieve(
        queries_embeddings=embeddings, k=5, subset=["fruit", "cardio", "nope"]
    )
    assert all({r["id"] for r in hits} == {"fruit", "cardio"} for hits in restricted)
    per_query = retriever.retrieve(embeddings, k=5, subset=[["attention"], ["fruit"]])
    assert [[r["id"] for r in hits] for hits in per_query] == [["attention"], ["fruit"]]
    assert retriever.retrieve("healthy fruits", k=4) == by_text[:1]
    assert retriever.retrieve([], k=3) == []
    batched = retriever.retrieve(["healthy fruits", "self attention"], k=4, batch_size=1)
    assert batched == by_text


def test_index_rejects_bad_input_before_encoding(tiny_model, tmp_path):
    class NoEncode:
        def encode(self, *args, **kwargs):
            raise AssertionError("encoded before validating")

    index = indexes.Exact(index_folder=None)
    retriever = retrieve.ColBERT(index, model=NoEncode())
    with pytest.raises(ValueError, match="2 documents but document_ids has 1"):
        retriever.index(["a", "b"], ["1"])
    with pytest.raises(ValueError, match="empty"):
        retriever.index([], [])
    with pytest.raises(TypeError, match=r"collection\[1\]"):
        retriever.index(["a", None], ["1", "2"])
    with pytest.raises(TypeError, match="list of document texts"):
        retriever.index("a single string", ["1"])
    with pytest.raises(DuplicateIdError, match="duplicate"):
        retriever.index(["a", "b"], ["1", "1"])
    with pytest.raises(TypeError, match="strings"):
        retriever.index(["a"], [1])
    index.add_documents(["1"], [np.ones((2, 16), np.float32)])
    with pytest.raises(DuplicateIdError, match="already indexed"):
        retriever.index(["a"], ["1"])


def test_replace_reindexes_a_document(retriever, tiny_model):
    retriever.index(["bananas apples fruits"], ["cardio"], replace=True)
    assert len(retriever.document_index) == 5
    stored = retriever.document_index.get_documents_embeddings(["cardio"])[0]
    np.testing.assert_allclose(
        stored, tiny_model.encode("bananas apples fruits", is_query=False), atol=1e-6
    )


def test_retrieve_errors(retriever):
    with pytest.raises(ValueError, match="disagree"):
        retriever.retrieve(["x"], k=3, top_k=5)
    with pytest.raises(ValueError, match="not both"):
        retriever.retrieve(["x"], queries_embeddings=[np.ones((2, 16))])
    with pytest.raises(TypeError, match="all texts"):
        retriever.retrieve(["x", np.ones((2, 16))])
    with pytest.raises(ValueError, match="k must be"):
        retriever.retrieve(["x"], k=0)
    with pytest.raises(ValueError, match="dimension"):
        retriever.retrieve(queries_embeddings=[np.ones((2, 7), np.float32)])
    with pytest.raises(TypeError, match="plait index"):
        retrieve.ColBERT(index="not an index")


def test_default_model_is_loaded_lazily(monkeypatch, tiny_model):
    import plait.models

    loads = []

    def fake_default(*args, **kwargs):
        loads.append(args)
        return tiny_model

    monkeypatch.setattr(plait.models, "ColBERT", fake_default)
    retriever = retrieve.ColBERT(indexes.Exact(index_folder=None))
    retriever.document_index.add_documents(["d"], [np.ones((3, 16), np.float32)])
    assert (
        retriever.retrieve(queries_embeddings=[np.ones((2, 16), np.float32)], k=1)[0][0]["id"]
        == "d"
    )
    assert loads == []  # the embedding API never loads a model
    assert retriever.retrieve(["text query"], k=1)[0][0]["id"] == "d"
    assert loads == [()]


def test_retrieve_can_return_the_stored_texts_and_metadata(tiny_model, tmp_path):
    index = indexes.Exact(index_path=tmp_path, index_name="docs")
    meta = [{"year": 2000 + i} for i in range(len(IDS))]
    retriever = retrieve.ColBERT(index=index, model=tiny_model)
    retriever.index(collection=COLLECTION, document_ids=IDS, metadata=meta)
    plain = retriever.retrieve(["patients with cardiac conditions"], k=3)
    full = retriever.retrieve(["patients with cardiac conditions"], k=3, return_documents=True)
    assert [h["id"] for h in full[0]] == [h["id"] for h in plain[0]]
    for hit in full[0]:
        position = IDS.index(hit["id"])
        assert hit["text"] == COLLECTION[position] and hit["metadata"] == {"year": 2000 + position}
    reopened = retrieve.ColBERT(
        index=indexes.Exact(index_path=tmp_path, index_name="docs"), model=tiny_model
    )
    again = reopened.retrieve(["patients with cardiac conditions"], k=3, return_documents=True)
    assert again == full
    bare = retrieve.ColBERT(index=indexes.Exact(index_folder=None), model=tiny_model)
    bare.index(collection=COLLECTION[:2], document_ids=IDS[:2], store_texts=False)
    assert all(
        h["text"] is None and h["metadata"] == {}
        for h in bare.retrieve(["x"], k=2, return_documents=True)[0]
    )
