"""Bad input to the model gives a clear error or a documented result, never a torch traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from plait.models import ColBERT, ModelNotFoundError


def test_empty_list_returns_empty_list(tiny_model: ColBERT) -> None:
    assert tiny_model.encode([]) == []
    assert tiny_model.encode([], is_query=False, pool_factor=2) == []


@pytest.mark.parametrize(
    ("sentences", "message"),
    [
        (None, "got None"),
        (["fine", None], r"sentences\[1\] is NoneType"),
        (["fine", "fine", 3], r"sentences\[2\] is int"),
        (["ok", ["nested"]], r"sentences\[1\] is list"),
        (42, "got int"),
    ],
)
def test_non_strings_raise_type_error_naming_the_position(
    tiny_model: ColBERT, sentences: object, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        tiny_model.encode(sentences)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=message):
        tiny_model.tokenize(sentences)  # type: ignore[arg-type]


def test_empty_string_encodes_to_special_and_marker_tokens(tiny_model: ColBERT) -> None:
    document = tiny_model.encode([""], is_query=False)[0]
    assert document.shape == (3, 16)  # [CLS] [D] [SEP]
    query = tiny_model.encode([""], is_query=True)[0]
    assert query.shape == (32, 16)  # [CLS] [Q] [SEP] + 29 x [MASK]
    assert np.isfinite(query).all() and np.isfinite(document).all()


def test_long_document_is_truncated_with_one_warning(
    tiny_model_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = ColBERT(str(tiny_model_path), document_length=40, device="cpu")
    long_text = "lorem ipsum dolor sit amet " * 4000  # about 100k characters
    assert len(long_text) >= 100_000
    with caplog.at_level(logging.WARNING, logger="plait.models"):
        first = model.encode([long_text, "short"], is_query=False)
        model.encode([long_text], is_query=False)
        model.encode([long_text], is_query=False, batch_size=1)
    assert first[0].shape == (40, 16)
    warnings = [r for r in caplog.records if "truncated" in r.getMessage()]
    assert len(warnings) == 1 and "document_length=40" in warnings[0].getMessage()


def test_long_query_is_truncated_to_query_length(tiny_model: ColBERT) -> None:
    assert tiny_model.encode(["word " * 500])[0].shape == (32, 16)


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"batch_size": -3}, {"pool_factor": 0}])
def test_bad_numbers_raise_value_error(tiny_model: ColBERT, kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        tiny_model.encode(["text"], **kwargs)


def test_unknown_keyword_is_rejected(tiny_model: ColBERT) -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        tiny_model.encode(["text"], is_qeury=False)  # type: ignore[call-arg]


def test_unsupported_precision(tiny_model: ColBERT) -> None:
    with pytest.raises(ValueError, match="precision"):
        tiny_model.encode(["text"], precision="int8")


def test_missing_local_path_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match="does not exist") as error:
        ColBERT(str(missing))
    assert str(missing) in str(error.value)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        ColBERT("./no/such/model")


def test_model_name_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="model_name_or_path must be"):
        ColBERT(123)  # type: ignore[arg-type]


def test_file_instead_of_folder(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="is a file"):
        ColBERT(str(path))


def test_folder_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="not a model folder"):
        ColBERT(str(tmp_path))


def test_uncached_hub_name_offline_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="offline") as error:
        ColBERT("lightonai/colbertv2.0", cache_folder=str(tmp_path))
    assert "local model folder" in str(error.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"query_length": 2},
        {"document_length": "long"},
        {"query_prefix": 5},
        {"do_query_expansion": "yes"},
        {"skiplist_words": "abc"},
        {"embedding_size": 0},
        {"document_length": 600},
    ],
)
def test_bad_settings_raise_value_error(tiny_model_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ColBERT(str(tiny_model_path), device="cpu", **kwargs)
