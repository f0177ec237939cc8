"""encode(compute_dtype="bfloat16"): the opt-in faster mode stays close to float32 and well formed."""

from __future__ import annotations

import numpy as np
import pytest

from plait.models import ColBERT

TEXTS = ["a short document about cats", "Vaccines train the immune system to recognise a virus."]


@pytest.mark.parametrize("is_query", [True, False])
def test_bfloat16_is_close_to_float32(tiny_model: ColBERT, is_query: bool) -> None:
    full = tiny_model.encode(TEXTS, is_query=is_query)
    fast = tiny_model.encode(TEXTS, is_query=is_query, compute_dtype="bfloat16")
    for a, b in zip(full, fast, strict=True):
        assert b.dtype == np.float32 and b.shape == a.shape
        np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
        assert float((a * b).sum(axis=1).min()) > 0.98
        assert not np.array_equal(a, b)  # it really ran in bfloat16


def test_float32_is_the_default_and_unchanged(tiny_model: ColBERT) -> None:
    default = tiny_model.encode(TEXTS, is_query=False)
    explicit = tiny_model.encode(TEXTS, is_query=False, compute_dtype="float32")
    for a, b in zip(default, explicit, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unknown_compute_dtype_is_named(tiny_model: ColBERT) -> None:
    with pytest.raises(ValueError, match="compute_dtype='float16'"):
        tiny_model.encode(TEXTS, compute_dtype="float16")
