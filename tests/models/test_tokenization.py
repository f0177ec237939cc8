"""Tokenisation helpers: input checks, marker insertion, truncation flags, padding."""

from __future__ import annotations

import numpy as np
import pytest

from plait.models.tokenization import check_texts, collate, skiplist_ids, tokenize_ids


def test_check_texts_accepts_strings_and_sequences() -> None:
    assert check_texts("a") == (["a"], True)
    assert check_texts(("a", "b")) == (["a", "b"], False)
    assert check_texts(np.array(["a", "b"])) == (["a", "b"], False)
    assert check_texts(t for t in ["x"]) == (["x"], False)


@pytest.mark.parametrize("bad", [b"bytes", {"a": 1}, 3.5])
def test_check_texts_rejects_other_types(bad: object) -> None:
    with pytest.raises(TypeError):
        check_texts(bad)


def test_tokenize_ids_inserts_marker_and_flags_truncation(tiny_model) -> None:
    tokenizer = tiny_model.tokenizer
    out = tokenize_ids(tokenizer, ["hello world", "word " * 50, ""], marker_id=7, length=10)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    assert out.ids[0][:2] == [cls, 7] and out.ids[0][-1] == sep and len(out.ids[0]) == 5
    assert len(out.ids[1]) == 10 and out.ids[1][-1] == sep
    assert out.ids[2] == [cls, 7, sep]
    assert out.truncated == [False, True, False]
    with pytest.raises(ValueError, match="at least 3"):
        tokenize_ids(tokenizer, ["a"], marker_id=7, length=2)


def test_collate_pads_to_fixed_width_and_attends_when_asked() -> None:
    batch = collate([[1, 2, 3]], pad_id=9, pad_to=5, attend_to_padding=True)
    assert batch["input_ids"].tolist() == [[1, 2, 3, 9, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 0, 0]]


def test_skiplist_maps_words_outside_the_vocabulary_to_unk_as_pylate(tiny_model) -> None:
    tokenizer = tiny_model.tokenizer
    ids = skiplist_ids(tokenizer, [".", "notasingletokenword"])
    assert tokenizer.convert_tokens_to_ids(".") in ids
    assert tokenizer.unk_token_id in ids  # PyLate: convert_tokens_to_ids of an unknown word
    assert len(ids) == 2
    assert tokenizer.unk_token_id not in skiplist_ids(tokenizer, [".", ","])


def test_a_custom_skiplist_with_an_unknown_word_drops_unk_tokens(tiny_model_path) -> None:
    from plait.models import ColBERT

    text = "caf\u2603 \u2603 rings"  # the snowman is not in the tiny vocabulary: [UNK]
    plain = ColBERT(str(tiny_model_path), skiplist_words=["."])
    custom = ColBERT(str(tiny_model_path), skiplist_words=[".", "notasingletokenword"])
    unk = plain.tokenizer.unk_token_id
    n_unk = plain.tokenize([text], is_query=False)["input_ids"][0].tolist().count(unk)
    assert n_unk >= 1
    rows = [m.encode([text], is_query=False)[0].shape[0] for m in (plain, custom)]
    assert rows[1] == rows[0] - n_unk


def test_surrounding_whitespace_is_stripped_before_tokenising(tiny_model) -> None:
    for is_query in (True, False):
        padded = tiny_model.encode(["  hello world\n", "\tsaturn "], is_query=is_query)
        clean = tiny_model.encode(["hello world", "saturn"], is_query=is_query)
        for a, b in zip(padded, clean, strict=True):
            assert a.shape == b.shape
            np.testing.assert_array_equal(a, b)
