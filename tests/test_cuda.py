"""The GPU path against the CPU path: the same numbers on ``cuda`` as on the CPU.

Skipped where torch sees no CUDA device (CI has none); run on a GPU machine with
``pytest tests/test_cuda.py``. Each test computes one thing both ways and compares.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from plait import losses
from plait.indexes import Exact
from plait.kernels.maxsim import maxsim_scores, pack_queries
from plait.models import ColBERT
from plait.rank import rerank
from plait.scores import colbert_scores

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")

QUERIES = ["what do cats eat?", "how fast is a cheetah", "why is the sky blue"]
DOCUMENTS = [
    "Cats eat meat, fish and dry food.",
    "A cheetah runs up to 110 km/h!",
    "Rayleigh scattering makes the sky blue.",
    "Dogs bark at night.",
    "Turtles are slow, and live long.",
    "The sea is deep and salty.",
]


@pytest.fixture
def models(tiny_model_path):
    """The tiny checkpoint on the CPU and on the GPU, in eval mode."""
    cpu = ColBERT(str(tiny_model_path), device="cpu").eval()
    gpu = ColBERT(str(tiny_model_path), device="cuda").eval()
    return cpu, gpu


def ragged(rng: np.random.Generator, n: int, dim: int = 16) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        x = rng.standard_normal((int(rng.integers(1, 40)), dim)).astype(np.float32)
        out.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    return out


def test_encode_on_cuda_matches_cpu(models):
    cpu, gpu = models
    assert gpu.device.type == "cuda"
    for is_query, texts in ((True, QUERIES), (False, DOCUMENTS)):
        a = cpu.encode(texts, is_query=is_query, batch_size=2)
        b = gpu.encode(texts, is_query=is_query, batch_size=2)
        for x, y in zip(a, b, strict=True):
            assert x.shape == y.shape
            np.testing.assert_allclose(x, y, atol=2e-5)


def test_maxsim_kernel_on_cuda_matches_numba():
    rng = np.random.default_rng(0)
    documents = ragged(rng, 300)
    tokens = np.concatenate(documents)
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in documents])])
    queries = ragged(rng, 5)
    cpu = maxsim_scores(queries, tokens, offsets, backend="numba")
    gpu = maxsim_scores(queries, tokens, offsets, device="cuda", block_bytes=1 << 16)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-4)
    subset = rng.permutation(300)[:40]
    np.testing.assert_allclose(
        maxsim_scores(queries, tokens, offsets, documents=subset, device="cuda"),
        cpu[:, subset],
        rtol=1e-5,
        atol=1e-4,
    )
    assert pack_queries(queries)[0].shape[0] == sum(len(q) for q in queries)


def test_colbert_scores_on_cuda_match_cpu():
    generator = torch.Generator().manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(4, 7, 16, generator=generator), dim=-1)
    d = torch.nn.functional.normalize(torch.randn(9, 11, 16, generator=generator), dim=-1)
    mask = torch.ones(9, 11, dtype=torch.long)
    mask[:, 8:] = 0
    cpu = colbert_scores(q, d, documents_mask=mask)
    gpu = colbert_scores(q.cuda(), d.cuda(), documents_mask=mask.cuda())
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)


def test_exact_index_and_rerank_on_cuda_match_cpu(tmp_path):
    rng = np.random.default_rng(1)
    documents = ragged(rng, 200)
    ids = [f"d{i}" for i in range(200)]
    queries = ragged(rng, 4)
    cpu_index = Exact(index_folder=str(tmp_path), index_name="cpu")
    cpu_index.add_documents(ids, documents)
    gpu_index = Exact(index_folder=str(tmp_path), index_name="cpu", device="cuda")
    cpu_hits = cpu_index.search(queries, k=10)
    gpu_hits = gpu_index.search(queries, k=10)
    for a, b in zip(cpu_hits, gpu_hits, strict=True):
        assert a.ids == b.ids
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-5, atol=1e-4)
    candidates = [ids[:50], ids[100:130], ids[5:25], ids[150:]]
    candidate_embeddings = [documents[:50], documents[100:130], documents[5:25], documents[150:]]
    on_cpu = rerank(candidates, queries, candidate_embeddings)
    on_gpu = rerank(candidates, queries, candidate_embeddings, device="cuda")
    for a, b in zip(on_cpu, on_gpu, strict=True):
        assert [r["id"] for r in a] == [r["id"] for r in b]
        np.testing.assert_allclose(
            [r["score"] for r in a], [r["score"] for r in b], rtol=1e-5, atol=1e-4
        )


def test_losses_on_cuda_match_cpu_and_train(models):
    cpu, gpu = models
    gpu_feats = []
    cpu_feats = []
    for model, out in ((cpu, cpu_feats), (gpu, gpu_feats)):
        feats = [model.tokenize(QUERIES, is_query=True)]
        feats += [model.tokenize(DOCUMENTS[:3], is_query=False)]
        feats += [model.tokenize(DOCUMENTS[3:], is_query=False)]
        out.extend({k: v.to(model.device) for k, v in f.items()} for f in feats)
    with torch.no_grad():
        a = losses.Contrastive(model=cpu)(cpu_feats).item()
        b = losses.Contrastive(model=gpu)(gpu_feats).item()
        c = losses.CachedContrastive(model=gpu, mini_batch_size=2)(gpu_feats).item()
    assert b == pytest.approx(a, rel=1e-4)
    assert c == pytest.approx(a, rel=1e-4)
    loss = losses.Contrastive(model=gpu)
    optimizer = torch.optim.AdamW(gpu.parameters(), lr=3e-3)
    values = []
    for _ in range(5):
        optimizer.zero_grad()
        value = loss(gpu_feats)
        value.backward()
        optimizer.step()
        values.append(value.item())
    assert values[-1] < values[0] * 0.9, values


def test_train_runs_on_cuda_and_saves_a_model_the_cpu_loads(tiny_model_path, tmp_path):
    from plait.training.train import TrainConfig, train

    path = tmp_path / "triplets.jsonl"
    with open(path, "w") as f:
        for i in range(8):
            row = {
                "query": QUERIES[i % 3],
                "positive": DOCUMENTS[i % 3],
                "negative": DOCUMENTS[3 + i % 3],
            }
            f.write(json.dumps(row) + "\n")
    out = tmp_path / "model"
    result = train(
        TrainConfig(
            data=str(path),
            output=str(out),
            model=str(tiny_model_path),
            batch_size=4,
            max_steps=3,
            show_progress_bar=False,
        )
    )
    assert result.steps == 3
    loaded = ColBERT(str(out), device="cpu")
    on_gpu = ColBERT(str(out), device="cuda")
    np.testing.assert_allclose(
        loaded.encode(QUERIES, is_query=True)[0],
        on_gpu.encode(QUERIES, is_query=True)[0],
        atol=2e-5,
    )


def test_frozen_lower_layers_on_cuda_train_only_the_top_and_the_markers(tiny_model_path):
    """The trainer moves the model to the GPU after freezing: the marker-row gradient mask must
    follow it (it was left on the CPU once, and training with trainable_layers failed on CUDA)."""
    from plait.training.train import freeze_lower_layers

    model = ColBERT(str(tiny_model_path), device="cpu")
    freeze_lower_layers(model, 1)
    model.to("cuda")
    features = {k: v.cuda() for k, v in model.tokenize(QUERIES, is_query=True).items()}
    model(features)["token_embeddings"].sum().backward()
    encoder = model[0].auto_model
    words = encoder.get_input_embeddings().weight
    assert words.grad.device.type == "cuda"
    assert words.grad.abs().sum(dim=1).nonzero().flatten().tolist() == [model.query_prefix_id]
    assert all(p.grad is None for p in encoder.encoder.layer[0].parameters())
    assert all(p.grad is not None for p in encoder.encoder.layer[1].parameters())
