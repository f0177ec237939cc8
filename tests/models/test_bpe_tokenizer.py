"""A byte-level BPE family (RoBERTa-style, as ModernBERT's tokenizer): surrounding whitespace is
stripped before tokenising, as sentence-transformers and so PyLate do (issue 23). On a BPE
tokenizer a trailing newline is a token of its own ('Ċ'), so without the strip the same text would
get one more document vector and different embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

CORPUS = [
    "hello world",
    "the patient has no history of cardiac disease.\n",
    "rings of saturn!",
    "bread needs flour, water and yeast",
] * 5


@pytest.fixture(scope="module")
def bpe_model(tmp_path_factory: pytest.TempPathFactory):
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import RobertaProcessing
    from transformers import RobertaConfig, RobertaModel, RobertaTokenizerFast

    from plait.models import ColBERT

    folder = tmp_path_factory.mktemp("tiny-roberta")
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        CORPUS, vocab_size=300, min_frequency=2, special_tokens=specials, show_progress=False
    )
    bpe.post_processor = RobertaProcessing(
        ("</s>", bpe.token_to_id("</s>")), ("<s>", bpe.token_to_id("<s>"))
    )
    bpe.save(str(folder / "tokenizer.json"))
    tokenizer = RobertaTokenizerFast(
        tokenizer_file=str(folder / "tokenizer.json"),
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )
    tokenizer.save_pretrained(folder)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=300,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    RobertaModel(config).save_pretrained(folder)
    return ColBERT(str(folder), embedding_size=16, device="cpu")


def test_the_tokenizer_makes_a_newline_token(bpe_model) -> None:
    tokens = bpe_model.tokenizer.tokenize("hello world\n")
    assert tokens[-1] == "Ċ"  # the premise: without stripping, whitespace changes the tokens


@pytest.mark.parametrize("is_query", [True, False])
def test_surrounding_whitespace_changes_nothing(bpe_model, is_query: bool) -> None:
    padded = bpe_model.encode(
        ["hello world\n", "  rings of saturn!\t", "\nbread\n\n"], is_query=is_query
    )
    clean = bpe_model.encode(["hello world", "rings of saturn!", "bread"], is_query=is_query)
    for a, b in zip(padded, clean, strict=True):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_inner_whitespace_is_kept(bpe_model) -> None:
    one = bpe_model.encode(["hello world"], is_query=False)[0]
    two = bpe_model.encode(["hello\nworld"], is_query=False)[0]
    assert one.shape != two.shape or not np.array_equal(one, two)


def test_the_model_saves_and_reloads(bpe_model, tmp_path: Path) -> None:
    from plait.models import ColBERT

    bpe_model.save(str(tmp_path / "saved"))
    again = ColBERT(str(tmp_path / "saved"), device="cpu")
    np.testing.assert_allclose(
        again.encode(["rings of saturn!\n"], is_query=False)[0],
        bpe_model.encode(["rings of saturn!"], is_query=False)[0],
        atol=1e-6,
    )
