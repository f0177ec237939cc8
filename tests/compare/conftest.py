"""Fixtures for plait compare: a tiny BEIR folder, a tiny bi-encoder and a tiny cross-encoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

DOCUMENTS = {
    "d1": ("Cats", "Cats purr when they are content and sleep most of the day."),
    "d2": ("Dogs", "Dogs bark at strangers and love long walks in the park."),
    "d3": ("Vaccines", "Vaccines train the immune system to recognise a virus."),
    "d4": ("Antibiotics", "Antibiotics kill bacteria but do not work against viruses."),
    "d5": ("Rivers", "The Nile is the longest river in Africa and flows into the sea."),
    "d6": ("Mountains", "Mount Everest is the highest mountain above sea level."),
    "d7": ("Coffee", "Coffee contains caffeine, a stimulant that keeps people awake."),
    "d8": ("Tea", "Green tea has less caffeine than coffee and contains antioxidants."),
    "d9": ("Solar", "Solar panels turn sunlight into electricity without fuel."),
    "d10": ("Wind", "Wind turbines generate electricity when the wind blows."),
    "d11": ("Sleep", "Adults need seven to nine hours of sleep every night."),
    "d12": ("Exercise", "Regular exercise lowers blood pressure and improves mood."),
}
QUERIES = {
    "q1": "do antibiotics work against viruses",
    "q2": "which drink has more caffeine",
    "q3": "how is electricity made from the sun",
    "q4": "what is the highest mountain",
    "q5": "why do cats purr",
    "q6": "how many hours should adults sleep",
    "q7": "unjudged query about rivers",
}
QRELS = [
    ("q1", "d4", 1),
    ("q1", "d3", 1),
    ("q2", "d7", 1),
    ("q2", "d8", 1),
    ("q3", "d9", 1),
    ("q4", "d6", 1),
    ("q5", "d1", 1),
    ("q6", "d11", 1),
    ("q6", "d12", 0),
]


def write_beir(folder: Path, with_qrels: bool = True) -> Path:
    """Write the tiny collection as a BEIR folder (``qrels/test.tsv`` when ``with_qrels``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as handle:
        for doc_id, (title, text) in DOCUMENTS.items():
            handle.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w", encoding="utf-8") as handle:
        for query_id, text in QUERIES.items():
            handle.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    if with_qrels:
        (folder / "qrels").mkdir(exist_ok=True)
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t{g}" for q, d, g in QRELS]
        (folder / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def beir_writer():
    """The :func:`write_beir` function, for fixtures with a wider scope than ``tmp_path``."""
    return write_beir


@pytest.fixture
def tiny_beir(tmp_path: Path) -> Path:
    return write_beir(tmp_path / "tiny-beir")


@pytest.fixture
def tiny_unjudged(tmp_path: Path) -> Path:
    return write_beir(tmp_path / "tiny-unjudged", with_qrels=False)


@pytest.fixture(scope="session")
def tiny_biencoder_path(tiny_encoder_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sentence-transformers folder (tiny BERT + mean pooling)."""
    from sentence_transformers import SentenceTransformer

    folder = tmp_path_factory.mktemp("tiny-biencoder")
    SentenceTransformer(str(tiny_encoder_path), device="cpu").save(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_cross_encoder_path(
    tiny_encoder_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A tiny BERT sequence classifier with one output, loadable by ``CrossEncoder``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    config = BertConfig.from_pretrained(str(tiny_encoder_path), num_labels=1)
    torch.manual_seed(1)
    BertForSequenceClassification(config).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (tiny_encoder_path / name).is_file():
            shutil.copy(tiny_encoder_path / name, folder / name)
    return folder
