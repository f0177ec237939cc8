"""The seed's fine-tuning snippet runs with only the import and the model name changed."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def triplets_file(tmp_path):
    rows = [
        {
            "query": f"question {i} about topic {i}",
            "positive": f"topic {i} answer text",
            "negative": f"unrelated passage {i * 7}",
        }
        for i in range(8)
    ]
    path = tmp_path / "train_triplets.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf8")
    return path


def test_seed_finetuning_snippet(tiny_model_path, triplets_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the snippet uses relative paths
    # ---- the seed's code; changed: `pylate` -> `plait`, the model name, max_steps, report_to ----
    from datasets import load_dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    from plait import losses, models

    model = models.ColBERT(model_name_or_path=str(tiny_model_path))
    train_dataset = load_dataset("json", data_files=str(triplets_file), split="train")
    # Expected format: {"query": "...", "positive": "...", "negative": "..."}
    loss = losses.Contrastive(model=model)
    args = SentenceTransformerTrainingArguments(
        output_dir="./colbert_finetuned",
        num_train_epochs=3,
        per_device_train_batch_size=16,
        learning_rate=3e-6,
        max_steps=2,
        report_to="none",
    )
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train_dataset, loss=loss
    )
    trainer.train()
    # ---- end of the seed's code ----
    assert trainer.state.global_step == 2
    model.save(str(tmp_path / "saved"))
    reloaded = models.ColBERT(str(tmp_path / "saved"))
    assert reloaded.encode(["a query"], is_query=True)[0].shape == (reloaded.query_length, 16)


@pytest.mark.slow
def test_trainer_batches_tokenise_queries_as_queries(tiny_model_path, triplets_file, tmp_path):
    """What reaches the loss inside the stock trainer: query markers on column 0, doc markers after."""
    from datasets import load_dataset
    from sentence_transformers import (
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )

    from plait import losses, models
    from plait.losses.common import split_features

    model = models.ColBERT(str(tiny_model_path))
    seen = []

    class Spy(losses.Contrastive):
        def forward(self, sentence_features, labels=None):
            seen.append(split_features(sentence_features))
            return super().forward(sentence_features, labels)

    trainer = SentenceTransformerTrainer(
        model=model,
        args=SentenceTransformerTrainingArguments(
            output_dir=str(tmp_path / "out"),
            max_steps=1,
            per_device_train_batch_size=4,
            report_to="none",
        ),
        train_dataset=load_dataset("json", data_files=str(triplets_file), split="train"),
        loss=Spy(model=model),
    )
    trainer.train()
    query, documents = seen[0]
    assert (query["input_ids"][:, 1] == model.query_prefix_id).all()
    assert query["input_ids"].shape[1] == model.query_length
    for column in documents:
        assert (column["input_ids"][:, 1] == model.document_prefix_id).all()
