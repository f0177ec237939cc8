"""The collator: roles by column name, and the stock trainer's collator giving the same loss."""

from __future__ import annotations

import pytest
import torch
from sentence_transformers.base.data_collator import BaseDataCollator

from plait import losses
from plait.models import ColBERT
from plait.training import ColBERTCollator, KDProcessing, column_role

ROWS = [
    {"query": "what do cats eat?", "positive": "Cats eat fish.", "negative": "Dogs bark."},
    {"query": "sky colour", "positive": "The sky is blue.", "negative": "Grass is green!"},
]


@pytest.fixture
def model(tiny_model_path):
    m = ColBERT(str(tiny_model_path), device="cpu")
    m.eval()
    return m


def test_column_roles():
    assert column_role("query") == column_role("anchor") == "query"
    assert column_role("positive") == column_role("negative_3") == "document"
    assert column_role("documents") == "document"
    assert column_role("query_id") == column_role("document_ids") == "skip"


def test_colbert_collator_tokenises_by_role(model):
    batch = ColBERTCollator(model.tokenize)(ROWS)
    queries = model.tokenize([r["query"] for r in ROWS], is_query=True)
    documents = model.tokenize([r["negative"] for r in ROWS], is_query=False)
    assert torch.equal(batch["query_input_ids"], queries["input_ids"])
    assert batch["query_input_ids"].shape[1] == model.query_length
    assert torch.equal(batch["negative_input_ids"], documents["input_ids"])
    assert (batch["positive_input_ids"][:, 1] == model.document_prefix_id).all()


def test_colbert_collator_needs_a_query_column(model):
    with pytest.raises(ValueError, match="no query column"):
        ColBERTCollator(model.tokenize)([{"positive": "a", "negative": "b"}])


def collect(batch):
    """sentence-transformers' collect_features: group keys by column prefix, in column order."""
    from sentence_transformers.base.trainer import BaseTrainer

    return BaseTrainer.collect_features(None, dict(batch))


def test_stock_trainer_collator_gives_the_same_loss(model):
    """The trainer's own collator (built from model.preprocess, no column roles) and ours agree."""
    stock = BaseDataCollator(preprocess_fn=model.preprocess)(ROWS)
    ours = ColBERTCollator(model.tokenize)(ROWS)
    loss = losses.Contrastive(model=model)
    with torch.no_grad():
        a = loss(*collect(stock)).item()
        b = loss(*collect(ours)).item()
    assert a == pytest.approx(b, rel=1e-6)


def test_preprocess_with_a_task_tokenises_once(model):
    queries = model.preprocess(["a query"], task="query")
    assert queries["input_ids"].shape[1] == model.query_length
    assert not any(key.startswith("query.") for key in queries)
    documents = model.preprocess(["a doc"], task="document")
    assert documents["input_ids"][0, 1] == model.document_prefix_id
    with pytest.raises(ValueError, match="unknown task"):
        model.preprocess(["a"], task="image")
    with pytest.raises(TypeError, match="expected str"):
        model.preprocess([3])


def test_kd_processing_and_collation_feed_distillation(model):
    kd = KDProcessing(
        queries={"q1": "cats food", "q2": "sky"},
        documents={"d1": "Cats eat fish.", "d2": "Dogs bark.", "d3": "Blue sky."},
        n_ways=2,
    )
    rows = [
        kd.map({"query_id": "q1", "document_ids": ["d1", "d2", "d3"], "scores": [3.0, 1.0, 0.0]}),
        kd.map({"query_id": "q2", "document_ids": ["d3", "d2"], "scores": [2.0, 0.5]}),
    ]
    assert rows[0]["documents"] == ["Cats eat fish.", "Dogs bark."]
    batch = ColBERTCollator(model.tokenize)(rows)
    assert batch["label"].shape == (2, 2)
    assert batch["documents_input_ids"].shape[0] == 4
    with torch.no_grad():
        value = losses.Distillation(model=model)(*collect(batch))
    assert torch.isfinite(value)
    with pytest.raises(KeyError, match="q9"):
        kd.map({"query_id": "q9", "document_ids": ["d1"], "scores": [1.0]})
