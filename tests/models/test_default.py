"""The offline default model: MiniLM weights, seeded 128-d projection, optional packaged delta."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from plait.models import ColBERT, Dense
from plait.models import default as default_model
from plait.models.loading import PROJECTION_SEED

TEXTS = ["the patient has no history of cardiac disease", "patients with cardiac conditions"]


@pytest.fixture(scope="module")
def default_pair() -> tuple[ColBERT, ColBERT]:
    rng_before = torch.random.get_rng_state()
    first = ColBERT(device="cpu")
    second = ColBERT(device="cpu")
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # global RNG untouched
    return first, second


def test_default_model_is_deterministic(default_pair: tuple[ColBERT, ColBERT]) -> None:
    first, second = default_pair
    for is_query in (True, False):
        left = first.encode(TEXTS, is_query=is_query)
        right = second.encode(TEXTS, is_query=is_query)
        for a, b in zip(left, right, strict=True):
            np.testing.assert_array_equal(a, b)
    assert left[0].shape[1] == 128 and left[0].dtype == np.float32


def test_default_projection_is_a_function_of_the_seed(
    default_pair: tuple[ColBERT, ColBERT],
) -> None:
    model = default_pair[0]
    if (default_model.DELTA_FOLDER / default_model.DELTA_WEIGHTS).is_file():
        pytest.skip("a packaged delta replaces the seeded projection")
    expected = Dense.fresh(384, 128, seed=PROJECTION_SEED).linear.weight
    torch.testing.assert_close(model[1].linear.weight, expected, rtol=0, atol=0)


def test_default_model_settings(default_pair: tuple[ColBERT, ColBERT]) -> None:
    model = default_pair[0]
    assert len(model) == 2 and isinstance(model[1], Dense)  # MiniLM's pooling/normalize dropped
    # the packaged delta's recorded settings win over PyLate's defaults (32 tokens, expansion)
    settings = {"query_length": 32, "document_length": 180, "do_query_expansion": True}
    settings.update(default_model.delta_settings())
    for name, value in settings.items():
        assert getattr(model, name) == value, name
    assert model.tokenizer.convert_tokens_to_ids("[Q] ") == model.query_prefix_id == 30522
    assert model.tokenizer.convert_tokens_to_ids("[D] ") == model.document_prefix_id == 30523
    # [CLS] [Q] hello [SEP], padded with [MASK] to query_length when expanding
    expected = settings["query_length"] if settings["do_query_expansion"] else 4
    assert model.encode(["hello"])[0].shape == (expected, 128)


def test_delta_round_trip(tmp_path: Path, tiny_model_path: Path) -> None:
    trained = ColBERT(str(tiny_model_path), device="cpu")
    with torch.no_grad():
        trained[1].linear.weight.mul_(-2.0)
        embeddings = trained[0].auto_model.get_input_embeddings().weight
        embeddings[trained.query_prefix_id] += 1.0
    default_model.save_delta(trained, ["1.linear.weight"], folder=tmp_path)
    target = ColBERT(str(tiny_model_path), device="cpu")
    assert not np.allclose(target.encode(TEXTS)[0], trained.encode(TEXTS)[0])
    assert default_model.apply_delta(target, folder=tmp_path)
    for a, b in zip(target.encode(TEXTS), trained.encode(TEXTS), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not default_model.apply_delta(target, folder=tmp_path / "absent")
    assert not default_model.apply_delta(target, explicit_embedding_size=99, folder=tmp_path)


@pytest.mark.slow  # a child process importing torch and transformers
def test_fresh_model_is_identical_in_another_process(tiny_encoder_path: Path) -> None:
    script = (
        "import sys, hashlib, numpy as np; from plait.models import ColBERT; "
        "m = ColBERT(sys.argv[1], device='cpu'); "
        "e = np.concatenate(m.encode(['cardiac disease', 'no history'], is_query=False)); "
        "print(hashlib.sha256(e.tobytes()).hexdigest())"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tiny_encoder_path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    here = ColBERT(str(tiny_encoder_path), device="cpu")
    local = np.concatenate(here.encode(["cardiac disease", "no history"], is_query=False))
    assert result.stdout.strip().splitlines()[-1] == hashlib.sha256(local.tobytes()).hexdigest()


def test_float16_delta_is_applied(tmp_path: Path, tiny_model_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    trained = ColBERT(str(tiny_model_path), device="cpu")
    with torch.no_grad():
        trained[1].linear.weight.mul_(0.5)
    default_model.save_delta(trained, ["1.linear.weight"], folder=tmp_path)
    weights = tmp_path / default_model.DELTA_WEIGHTS
    save_file({k: v.half() for k, v in load_file(str(weights)).items()}, str(weights))
    target = ColBERT(str(tiny_model_path), device="cpu")
    assert default_model.apply_delta(target, folder=tmp_path)
    assert target[1].linear.weight.dtype == torch.float32
    torch.testing.assert_close(
        target[1].linear.weight, trained[1].linear.weight, atol=1e-3, rtol=1e-3
    )


def test_delta_that_does_not_fit_is_rejected(tmp_path: Path, tiny_model: ColBERT) -> None:
    from safetensors.torch import save_file

    save_file({"1.linear.weight": torch.zeros(3, 3)}, str(tmp_path / default_model.DELTA_WEIGHTS))
    with pytest.raises(ValueError, match="does not fit"):
        default_model.apply_delta(tiny_model, folder=tmp_path)


def test_low_rank_delta_round_trip(tmp_path: Path, tiny_model_path: Path) -> None:
    trained = ColBERT(str(tiny_model_path), device="cpu")
    name = next(
        k for k, v in trained.state_dict().items() if "encoder.layer.0" in k and v.ndim == 2
    )
    base = trained.state_dict()[name].clone()
    generator = torch.Generator().manual_seed(0)
    out_features, in_features = base.shape
    change = torch.randn(out_features, 2, generator=generator) @ torch.randn(
        2, in_features, generator=generator
    )
    with torch.no_grad():
        trained.state_dict()[name].add_(0.05 * change)
    up, down = default_model.low_rank_difference(trained.state_dict()[name], base, rank=2)
    assert up.shape == (out_features, 2) and down.shape == (2, in_features)
    default_model.save_delta(trained, [], folder=tmp_path, low_rank={name: (up, down)})
    target = ColBERT(str(tiny_model_path), device="cpu")
    assert not np.allclose(target.encode(TEXTS)[0], trained.encode(TEXTS)[0], atol=1e-4)
    assert default_model.apply_delta(target, folder=tmp_path)
    torch.testing.assert_close(target.state_dict()[name], trained.state_dict()[name])
    for a, b in zip(target.encode(TEXTS), trained.encode(TEXTS), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_low_rank_difference_keeps_the_largest_directions() -> None:
    generator = torch.Generator().manual_seed(1)
    base = torch.randn(6, 5, generator=generator)
    big = torch.outer(torch.randn(6, generator=generator), torch.randn(5, generator=generator))
    small = 1e-3 * torch.randn(6, 5, generator=generator)
    up, down = default_model.low_rank_difference(base + 10 * big + small, base, rank=1)
    torch.testing.assert_close(up @ down, 10 * big, atol=2e-2, rtol=0)
    with pytest.raises(ValueError, match="rank"):
        default_model.low_rank_difference(base, base, rank=6)


def test_low_rank_delta_with_half_a_pair_is_rejected(tmp_path: Path, tiny_model: ColBERT) -> None:
    from safetensors.torch import save_file

    save_file({"x.weight:up": torch.zeros(3, 1)}, str(tmp_path / default_model.DELTA_WEIGHTS))
    with pytest.raises(ValueError, match="needs both"):
        default_model.apply_delta(tiny_model, folder=tmp_path)
