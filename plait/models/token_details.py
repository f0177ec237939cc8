"""``encode(..., output_value=None)``: every token's row with its id and keep-mask (PyLate 1.6).

The default output drops skiplisted and padding rows; this one keeps every token of each text and
says which rows the default keeps, so a caller can align embeddings with token ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

OUTPUT_VALUES = ("token_embeddings", None)
KEYS = ("token_embeddings", "input_ids", "attention_mask", "masks")


def check_output_value(output_value: Any, pool_factor: int) -> None:
    """Refuse an unknown ``output_value``, and ``None`` together with pooling.

    Parameters
    ----------
    output_value
        ``"token_embeddings"`` or ``None``.
    pool_factor
        The encode call's pooling factor.

    Raises
    ------
    ValueError
        Another ``output_value``, or ``None`` with ``pool_factor > 1``.
    """
    if output_value not in OUTPUT_VALUES:
        raise ValueError(
            f"output_value={output_value!r}: use 'token_embeddings' (the default) or None "
            "(every token with its input_ids, attention_mask and masks)"
        )
    if output_value is None and pool_factor > 1:
        raise ValueError(
            "output_value=None returns one row per token; pool_factor > 1 merges tokens, so "
            "the rows would no longer match the token ids: use one or the other"
        )


def token_details(
    embeddings: Tensor,
    features: dict[str, Tensor],
    keep: Tensor,
    ids: Sequence[Sequence[int]],
    expanded: bool,
) -> list[dict[str, Tensor]]:
    """Split a batch into one dict per text: its rows, ``input_ids``, ``attention_mask``, ``masks``.

    Parameters
    ----------
    embeddings
        ``(batch, length, dim)`` CPU embeddings of the batch.
    features
        The batch's tokenizer features (``input_ids``, ``attention_mask``).
    keep
        ``(batch, length)``: the rows the default output keeps.
    ids
        Each text's token ids (its own length, before batch padding).
    expanded
        Queries with ``[MASK]`` expansion: every one of the ``query_length`` rows is the text's.

    Returns
    -------
    list[dict[str, Tensor]]
        Per text, the entries cut to the text's own tokens (batch padding dropped).
    """
    input_ids = features["input_ids"].cpu()
    attention = features["attention_mask"].cpu()
    out = []
    for row, text_ids in enumerate(ids):
        n = embeddings.shape[1] if expanded else len(text_ids)
        out.append(
            {
                "token_embeddings": embeddings[row, :n],
                "input_ids": input_ids[row, :n],
                "attention_mask": attention[row, :n],
                "masks": keep[row, :n],
            }
        )
    return out


def details_output(
    rows: list[dict[str, Tensor]], single: bool, padding: bool, as_tensor: bool, pad_id: int
) -> dict[str, Any]:
    """Assemble PyLate's ``output_value=None`` dict from per-text rows.

    Parameters
    ----------
    rows
        One :func:`token_details` dict per text, in input order.
    single
        The input was one string: return single items, not lists of one.
    padding
        Pad every entry to the longest text, one ``(1, length, ...)`` slice per text (PyLate's).
    as_tensor
        Torch tensors (else numpy arrays).
    pad_id
        The token id that pads ``input_ids``.

    Returns
    -------
    dict[str, Any]
        ``token_embeddings``, ``input_ids``, ``attention_mask`` and ``masks``.
    """
    out: dict[str, list[Any]] = {key: [row[key] for row in rows] for key in KEYS}
    if padding and rows:
        pads = {"token_embeddings": 0.0, "input_ids": pad_id, "attention_mask": 0, "masks": False}
        for key in KEYS:
            padded = torch.nn.utils.rnn.pad_sequence(
                out[key], batch_first=True, padding_value=pads[key]
            )
            out[key] = list(padded.split(1, dim=0))
    if not as_tensor:
        out = {key: [value.numpy() for value in values] for key, values in out.items()}
    return {key: values[0] for key, values in out.items()} if single else out
