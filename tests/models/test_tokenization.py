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


def test_skiplist_ignores_words_outside_the_vocabulary(tiny_model) -> None:
    tokenizer = tiny_model.tokenizer
    ids = skiplist_ids(tokenizer, [".", "notasingletokenword", tokenizer.unk_token])
    assert tokenizer.convert_tokens_to_ids(".") in ids
    assert tokenizer.unk_token_id in ids  # only because [UNK] itself was listed
    assert len(ids) == 2
