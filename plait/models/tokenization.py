"""ColBERT tokenisation: marker insertion, [MASK] query expansion, padding, skiplist ids.

The sequence for a text is ``[CLS] <marker> w1 .. wn [SEP]``: the tokenizer truncates the text to
``length - 1`` tokens (special tokens included) and the marker id is inserted at position 1, exactly
as PyLate 1.6 does. Queries with expansion are then padded to ``length`` with ``[MASK]``; the
padding gets attention 0 unless ``attend_to_expansion_tokens`` is set.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

_TOKENIZER_LOCK = threading.Lock()


@dataclass(frozen=True)
class TokenizedTexts:
    """Token ids per text (marker inserted, unpadded) and whether each text was truncated."""

    ids: list[list[int]]
    truncated: list[bool]


def check_texts(sentences: Any) -> tuple[list[str], bool]:
    """Validate ``sentences`` and return ``(texts, was_single_string)``.

    Raises
    ------
    TypeError
        ``sentences`` is not a string or a sequence of strings; the message names the position of
        the first bad item.
    """
    if isinstance(sentences, str):
        return [sentences], True
    if sentences is None:
        raise TypeError("sentences must be a string or a list of strings, got None")
    if isinstance(sentences, np.ndarray):
        sentences = sentences.tolist()
    if isinstance(sentences, (bytes, dict)) or not isinstance(sentences, Iterable):
        raise TypeError(
            f"sentences must be a string or a list of strings, got {type(sentences).__name__}"
        )
    texts = list(sentences)
    for position, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"sentences[{position}] is {type(text).__name__}, expected str "
                f"(value: {text!r:.60})"
            )
    return texts, False


def tokenize_ids(
    tokenizer: Any, texts: Sequence[str], marker_id: int | None, length: int
) -> TokenizedTexts:
    """Tokenise ``texts`` to at most ``length`` ids each, with ``marker_id`` at position 1.

    There is no marker when it is ``None``. Leading and trailing whitespace is stripped first, as
    sentence-transformers (and so PyLate) does: byte-level BPE tokenizers would otherwise turn a
    trailing newline into tokens of its own.
    """
    if length < 3:
        raise ValueError(f"sequence length must be at least 3 ([CLS] marker [SEP]), got {length}")
    if not texts:
        return TokenizedTexts([], [])
    # Fast tokenizers keep truncation settings as mutable state on the shared Rust object, so two
    # threads tokenising with different lengths (a query and a document) could truncate each
    # other's texts; one lock per process makes the call atomic.
    with _TOKENIZER_LOCK:
        encoded = tokenizer(
            [text.strip() for text in texts],
            add_special_tokens=True,
            truncation=True,
            max_length=length - 1 if marker_id is not None else length,
            padding=False,
            return_attention_mask=False,
            return_token_type_ids=False,
            return_overflowing_tokens=True,
        )
    rows: list[list[int]] = encoded["input_ids"]
    sample_of_row = encoded.get("overflow_to_sample_mapping")
    if sample_of_row is None:  # slow tokenizers: one row per text, overflow listed separately
        overflow = encoded.get("overflowing_tokens") or [[] for _ in rows]
        firsts, truncated = rows, [len(extra) > 0 for extra in overflow]
    else:
        firsts, truncated = [], []
        for row, sample in zip(rows, sample_of_row, strict=True):
            if sample == len(firsts):
                firsts.append(row)
                truncated.append(False)
            else:
                truncated[sample] = True
    if marker_id is None:
        return TokenizedTexts([list(row) for row in firsts], truncated)
    ids = [[*row[:1], marker_id, *row[1:]] for row in firsts]
    return TokenizedTexts(ids, truncated)


def collate(
    ids: Sequence[Sequence[int]],
    pad_id: int,
    pad_to: int | None = None,
    attend_to_padding: bool = False,
) -> dict[str, Tensor]:
    """Pad id lists into ``input_ids`` / ``attention_mask`` / ``token_type_ids`` tensors.

    ``pad_to`` fixes the width (queries with expansion); otherwise the longest row sets it.

    Examples
    --------
    >>> batch = collate([[101, 1, 102], [101, 1, 7, 102]], pad_id=103)
    >>> batch["input_ids"].tolist(), batch["attention_mask"].tolist()
    ([[101, 1, 102, 103], [101, 1, 7, 102]], [[1, 1, 1, 0], [1, 1, 1, 1]])
    """
    width = max((len(row) for row in ids), default=0)
    if pad_to is not None:
        width = max(width, pad_to)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(ids), width), dtype=torch.long)
    for position, row in enumerate(ids):
        input_ids[position, : len(row)] = torch.as_tensor(row, dtype=torch.long)
        attention[position, : len(row)] = 1
    if attend_to_padding:
        attention.fill_(1)
    return {
        "input_ids": input_ids,
        "attention_mask": attention,
        "token_type_ids": torch.zeros_like(input_ids),
    }


def token_id(tokenizer: Any, token: str) -> int | None:
    """Return the id of ``token`` in the vocabulary, or ``None`` when it is unknown."""
    found = tokenizer.convert_tokens_to_ids(token)
    if found is None or (found == tokenizer.unk_token_id and token != tokenizer.unk_token):
        return None
    return int(found)


def skiplist_ids(tokenizer: Any, words: Iterable[str]) -> list[int]:
    """Return the ids of the skiplist words, looked up as single tokens exactly as PyLate 1.6 does.

    PyLate uses ``convert_tokens_to_ids``: a word the vocabulary lacks maps to the unknown token,
    so ``[UNK]`` tokens are skipped from documents too. Models trained with PyLate were trained
    that way, so their document embeddings only match PyLate's with the same rule.
    """
    ids = {tokenizer.convert_tokens_to_ids(word) for word in words}
    return sorted(int(found) for found in ids if found is not None)


def expansion_token_id(tokenizer: Any) -> int:
    """Return the query-expansion (and padding) token: ``[MASK]``, else EOS, else the pad token.

    This is PyLate's order: encoders have a mask token, decoders an EOS.
    """
    for candidate in (tokenizer.mask_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id):
        if candidate is not None:
            return int(candidate)
    raise ValueError(
        "the tokenizer has neither a mask token nor a pad token to expand queries with"
    )
