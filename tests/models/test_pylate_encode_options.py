"""PyLate 1.6's encode(output_value=None) and similarity_fn_name on plait's ColBERT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from plait.models import ColBERT
from plait.scores import SimilarityFunction

DOCUMENTS = [
    "Document about apples, and their nutritional benefits.",
    "bananas!",
    "Cherries (and antioxidants) are red; so are some apples.",
]
QUERIES = ["fruits and nutrition?", "berries"]


@pytest.mark.parametrize("is_query", [False, True])
def test_unfiltered_output_masks_back_to_the_default(tiny_model: ColBERT, is_query: bool) -> None:
    texts = QUERIES if is_query else DOCUMENTS
    default = tiny_model.encode(texts, is_query=is_query, batch_size=2)
    details = tiny_model.encode(texts, is_query=is_query, batch_size=2, output_value=None)
    assert set(details) == {"token_embeddings", "input_ids", "attention_mask", "masks"}
    tokenized = tiny_model.tokenize(texts, is_query=is_query)
    for i, (matrix, emb, ids, attention, mask) in enumerate(
        zip(
            default,
            *(details[k] for k in ("token_embeddings", "input_ids", "attention_mask", "masks")),
            strict=True,
        )
    ):
        assert emb.shape[0] == ids.shape[0] == attention.shape[0] == mask.shape[0]
        assert mask.dtype == np.bool_
        np.testing.assert_allclose(emb[mask], matrix, atol=1e-6)
        real = int(tokenized["attention_mask"][i].sum())
        expected_ids = tokenized["input_ids"][i][: len(ids)].numpy()
        np.testing.assert_array_equal(ids, expected_ids)
        if not is_query:  # documents: every token of the text, punctuation rows masked out
            assert len(ids) == real and mask.sum() < len(ids)
            skip = set(tiny_model.skiplist)
            assert [t not in skip for t in ids.tolist()] == mask.tolist()
        else:  # expanded queries: all query_length rows, all kept
            assert len(ids) == tiny_model.query_length and mask.all()


def test_unfiltered_output_shapes_single_padding_and_tensors(tiny_model: ColBERT) -> None:
    one = tiny_model.encode(DOCUMENTS[0], is_query=False, output_value=None)
    assert one["token_embeddings"].ndim == 2 and one["input_ids"].ndim == 1
    np.testing.assert_allclose(
        one["token_embeddings"][one["masks"]], tiny_model.encode(DOCUMENTS[0], is_query=False)
    )
    padded = tiny_model.encode(DOCUMENTS, is_query=False, output_value=None, padding=True)
    widths = {value.shape[1] for values in padded.values() for value in values}
    assert len(widths) == 1 and all(v.shape[0] == 1 for v in padded["input_ids"])
    assert not padded["masks"][1][0, -1]  # the short text's padding is never kept
    tensors = tiny_model.encode(
        DOCUMENTS, is_query=False, output_value=None, convert_to_tensor=True
    )
    assert isinstance(tensors["token_embeddings"][0], torch.Tensor)
    assert tiny_model.encode([], is_query=False, output_value=None)["input_ids"] == []


def test_output_value_checks(tiny_model: ColBERT) -> None:
    with pytest.raises(ValueError, match="output_value"):
        tiny_model.encode(DOCUMENTS, is_query=False, output_value="sentence_embedding")
    with pytest.raises(ValueError, match="pool_factor"):
        tiny_model.encode(DOCUMENTS, is_query=False, output_value=None, pool_factor=2)
    explicit = tiny_model.encode(DOCUMENTS, is_query=False, output_value="token_embeddings")
    for a, b in zip(explicit, tiny_model.encode(DOCUMENTS, is_query=False), strict=True):
        np.testing.assert_array_equal(a, b)


def test_similarity_fn_name_is_maxsim(tiny_model_path: Path) -> None:
    model = ColBERT(str(tiny_model_path), device="cpu", similarity_fn_name="MaxSim")
    assert model.similarity_fn_name == "MaxSim"
    model.similarity_fn_name = SimilarityFunction.MAXSIM
    assert model.similarity_fn_name == "MaxSim"
    with pytest.raises(ValueError, match="MaxSim"):
        model.similarity_fn_name = "cosine"
    with pytest.raises(ValueError, match="MaxSim"):
        ColBERT(str(tiny_model_path), device="cpu", similarity_fn_name="dot")
    assert ColBERT(str(tiny_model_path), device="cpu").similarity_fn_name == "MaxSim"
