"""plait reproduces PyLate 1.6's own outputs on ../shared/fixtures/pylate (both checkpoint layouts)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from plait.models import ColBERT

ATOL = 1e-4


@pytest.fixture(scope="module", params=["tiny-colbert", "tiny-colbert-stanford"])
def fixture_model(request: pytest.FixtureRequest, pylate_fixtures: Path) -> ColBERT:
    return ColBERT(str(pylate_fixtures / request.param), device="cpu")


@pytest.fixture(scope="module")
def reference(pylate_fixtures: Path) -> dict[str, np.ndarray]:
    with np.load(pylate_fixtures / "reference.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def inputs(pylate_fixtures: Path) -> dict:
    return json.loads((pylate_fixtures / "inputs.json").read_text())


def _split(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [flat[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def _writable_copy(source: Path, target: Path) -> Path:
    """Copy a (read-only) fixture folder and make the copy writable."""
    shutil.copytree(source, target, copy_function=shutil.copyfile)
    target.chmod(0o755)
    return target


def _maxsim(query: np.ndarray, document: np.ndarray) -> float:
    return float((query @ document.T).max(axis=1).sum())


def test_settings_match_the_fixture(fixture_model: ColBERT, inputs: dict) -> None:
    assert fixture_model.query_length == inputs["query_length"] == 32
    assert fixture_model.document_length == inputs["document_length"] == 180
    assert fixture_model.do_query_expansion and not fixture_model.attend_to_expansion_tokens
    assert fixture_model.skiplist == inputs["skiplist_ids"]
    assert fixture_model.get_embedding_dimension() == 32


def test_query_input_ids(fixture_model: ColBERT, inputs: dict, reference: dict) -> None:
    features = fixture_model.tokenize(inputs["queries"], is_query=True)
    expected_ids = reference["query_input_ids"].copy()
    if fixture_model.query_prefix == "[unused0]":  # Stanford markers are existing tokens
        expected_ids[:, 1] = fixture_model.query_prefix_id
    np.testing.assert_array_equal(features["input_ids"].numpy(), expected_ids)
    np.testing.assert_array_equal(
        features["attention_mask"].numpy(), reference["query_attention_mask"]
    )


def test_document_input_ids_and_keep_mask(
    fixture_model: ColBERT, inputs: dict, reference: dict
) -> None:
    features = fixture_model.tokenize(inputs["documents"], is_query=False)
    ids = features["input_ids"].numpy()
    expected = reference["doc_input_ids_padded"].copy()
    if fixture_model.document_prefix == "[unused1]":
        expected[:, 1] = fixture_model.document_prefix_id
    np.testing.assert_array_equal(ids, expected)
    keep = features["attention_mask"].bool() & fixture_model.skiplist_mask(features["input_ids"])
    np.testing.assert_array_equal(keep.numpy(), reference["doc_keep_mask_padded"])


def test_query_embeddings(fixture_model: ColBERT, inputs: dict, reference: dict) -> None:
    queries = fixture_model.encode(inputs["queries"], is_query=True)
    assert all(q.dtype == np.float32 and q.shape == (32, 32) for q in queries)
    np.testing.assert_allclose(np.stack(queries), reference["query_embeddings"], atol=ATOL, rtol=0)


def test_document_embeddings(fixture_model: ColBERT, inputs: dict, reference: dict) -> None:
    documents = fixture_model.encode(inputs["documents"], is_query=False)
    expected = _split(reference["doc_embeddings_flat"], reference["doc_offsets"])
    assert [d.shape for d in documents] == [tuple(s) for s in inputs["doc_shapes"]]
    for ours, theirs in zip(documents, expected, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=ATOL, rtol=0)


def test_maxsim_scores(fixture_model: ColBERT, inputs: dict, reference: dict) -> None:
    queries = fixture_model.encode(inputs["queries"], is_query=True)
    documents = fixture_model.encode(inputs["documents"], is_query=False)
    scores = np.array([[_maxsim(q, d) for d in documents] for q in queries])
    np.testing.assert_allclose(scores, reference["scores"], atol=ATOL * 32, rtol=1e-5)


def test_pooled_documents(fixture_model: ColBERT, inputs: dict, reference: dict) -> None:
    pooled = fixture_model.encode(inputs["documents"], is_query=False, pool_factor=2)
    expected = _split(reference["doc_pool2_flat"], reference["doc_pool2_offsets"])
    for ours, theirs in zip(pooled, expected, strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours[0], theirs[0], atol=ATOL, rtol=0)  # protected [CLS]
        # Compare as sets of rows: each of ours has one match in theirs and vice versa.
        distance = np.abs(ours[:, None, :] - theirs[None, :, :]).max(axis=2)
        assert distance.min(axis=1).max() <= ATOL
        assert distance.min(axis=0).max() <= ATOL


def test_stanford_checkpoint_with_pytorch_bin_weights(
    tmp_path: Path, pylate_fixtures: Path, inputs: dict, reference: dict
) -> None:
    import torch
    from safetensors.torch import load_file

    folder = _writable_copy(pylate_fixtures / "tiny-colbert-stanford", tmp_path / "stanford-bin")
    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    model = ColBERT(str(folder), device="cpu")
    queries = model.encode(inputs["queries"], is_query=True)
    np.testing.assert_allclose(np.stack(queries), reference["query_embeddings"], atol=ATOL, rtol=0)


def test_stanford_checkpoint_without_metadata_uses_stanford_defaults(
    tmp_path: Path, pylate_fixtures: Path, inputs: dict, reference: dict
) -> None:
    folder = _writable_copy(pylate_fixtures / "tiny-colbert-stanford", tmp_path / "no-metadata")
    (folder / "artifact.metadata").unlink()
    model = ColBERT(str(folder), device="cpu")
    assert (model.query_prefix, model.document_prefix) == ("[unused0]", "[unused1]")
    documents = model.encode(inputs["documents"], is_query=False)
    expected = _split(reference["doc_embeddings_flat"], reference["doc_offsets"])
    for ours, theirs in zip(documents, expected, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=ATOL, rtol=0)
