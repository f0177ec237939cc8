"""ColBERT model: loading formats, save -> load, tokenisation contract, encode semantics."""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import pytest
import torch

from plait.models import ColBERT, Dense
from plait.models.dense import PYLATE_DENSE_REF

TEXTS = [
    "A short one.",
    "ColBERT keeps one vector per token, and scores with MaxSim!",
    "x",
    "Late interaction retrieval: precise, but it costs storage (about 30x).",
    "",
    "the patient has no history of cardiac disease",
]


def _reference_encode(model: ColBERT, text: str, is_query: bool) -> np.ndarray:
    """Slow reference: one text at a time, masks applied by hand from tokenize/forward."""
    features = model.tokenize([text], is_query=is_query)
    model.eval()
    with torch.inference_mode():
        embeddings = model.forward(dict(features))["token_embeddings"][0]
    if is_query and model.do_query_expansion:
        keep = torch.ones(embeddings.shape[0], dtype=torch.bool)
    else:
        keep = features["attention_mask"][0].bool()
        if not is_query:
            keep &= model.skiplist_mask(features["input_ids"])[0]
    return embeddings[keep].numpy()


def test_plain_hf_encoder_gets_markers_and_projection(tiny_encoder_path: Path) -> None:
    model = ColBERT(str(tiny_encoder_path), embedding_size=24, device="cpu")
    assert isinstance(model[1], Dense) and model.get_embedding_dimension() == 24
    tokenizer = model.tokenizer
    assert model.query_prefix_id == tokenizer.convert_tokens_to_ids("[Q] ") == 30522
    assert model.document_prefix_id == tokenizer.convert_tokens_to_ids("[D] ") == 30523
    assert model[0].auto_model.get_input_embeddings().weight.shape[0] == len(tokenizer) == 30524
    again = ColBERT(str(tiny_encoder_path), embedding_size=24, device="cpu")
    for left, right in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(left, right)  # fresh projection and marker rows are seeded


def test_fresh_projection_default_size(tiny_encoder_path: Path) -> None:
    assert ColBERT(str(tiny_encoder_path), device="cpu").get_embedding_dimension() == 128


def test_saved_folder_is_pylate_layout(tiny_model_path: Path) -> None:
    modules = json.loads((tiny_model_path / "modules.json").read_text())
    assert [m["type"] for m in modules] == [
        "sentence_transformers.models.Transformer",
        PYLATE_DENSE_REF,
    ]
    config = json.loads((tiny_model_path / "config_sentence_transformers.json").read_text())
    assert config["model_type"] == "ColBERT"
    assert config["query_prefix"] == "[Q] " and config["document_prefix"] == "[D] "
    assert config["skiplist_words"] == list(string.punctuation)
    dense = json.loads((tiny_model_path / "1_Dense" / "config.json").read_text())
    assert dense == {
        "in_features": 64,
        "out_features": 16,
        "bias": False,
        "activation_function": "torch.nn.modules.linear.Identity",
        "use_residual": False,
    }


def test_save_load_round_trip_keeps_settings_and_outputs(
    tmp_path: Path, tiny_model_path: Path
) -> None:
    model = ColBERT(
        str(tiny_model_path),
        query_length=12,
        document_length=20,
        attend_to_expansion_tokens=True,
        skiplist_words=["!", ","],
        device="cpu",
    )
    model.save(str(tmp_path / "saved"))
    loaded = ColBERT(str(tmp_path / "saved"), device="cpu")
    for key in ("query_length", "document_length", "attend_to_expansion_tokens", "skiplist_words"):
        assert getattr(loaded, key) == getattr(model, key)
    assert loaded.query_prefix_id == model.query_prefix_id
    for is_query in (True, False):
        before = model.encode(TEXTS, is_query=is_query)
        after = loaded.encode(TEXTS, is_query=is_query)
        for left, right in zip(before, after, strict=True):
            np.testing.assert_array_equal(left, right)
    overridden = ColBERT(str(tmp_path / "saved"), query_length=16, device="cpu")
    assert overridden.query_length == 16 and overridden.document_length == 20


def test_embedding_size_on_a_projected_checkpoint_adds_a_projection(tiny_model_path: Path) -> None:
    model = ColBERT(str(tiny_model_path), embedding_size=8, device="cpu")
    assert len(model) == 3 and model.get_embedding_dimension() == 8
    assert model.encode(["hello"])[0].shape == (32, 8)


def test_empty_prefix_means_no_marker(tiny_model_path: Path) -> None:
    model = ColBERT(str(tiny_model_path), document_prefix="", device="cpu")
    assert model.document_prefix_id is None
    ids = model.tokenize(["hello world"], is_query=False)["input_ids"][0].tolist()
    assert len(ids) == 4 and ids[1] != model.query_prefix_id  # [CLS] hello world [SEP]
    assert model.encode(["hello world"], is_query=False)[0].shape == (4, 16)


def test_tokenize_contract(tiny_model: ColBERT) -> None:
    queries = tiny_model.tokenize(["hello world", ""], is_query=True)
    assert set(queries) == {"input_ids", "attention_mask", "token_type_ids"}
    assert queries["input_ids"].shape == (2, 32)
    mask_id = tiny_model.tokenizer.mask_token_id
    ids = queries["input_ids"][1].tolist()
    assert ids[:3] == [tiny_model.tokenizer.cls_token_id, tiny_model.query_prefix_id, 102]
    assert ids[3:] == [mask_id] * 29
    assert queries["attention_mask"][1].tolist() == [1, 1, 1] + [0] * 29
    docs = tiny_model.tokenize(["hello, world", "a"], is_query=False)
    assert docs["input_ids"][0, 1] == tiny_model.document_prefix_id
    assert docs["input_ids"].shape == (2, 6)  # [CLS] [D] hello , world [SEP]
    keep = tiny_model.skiplist_mask(docs["input_ids"])
    assert keep.dtype == torch.bool and keep[0].tolist() == [True, True, True, False, True, True]


def test_encode_restores_training_modes(tiny_model_path: Path) -> None:
    model = ColBERT(str(tiny_model_path), device="cpu")
    modes = [module.training for module in model.modules()]
    model.encode(["hello"])
    assert [module.training for module in model.modules()] == modes


def test_forward_normalises_token_embeddings(tiny_model: ColBERT) -> None:
    features = tiny_model.tokenize(TEXTS[:3], is_query=False)
    with torch.no_grad():
        out = tiny_model(features)["token_embeddings"]
    assert out.shape == (*features["input_ids"].shape, 16)
    torch.testing.assert_close(out.norm(dim=-1), torch.ones(out.shape[:2]))


@pytest.mark.parametrize("is_query", [True, False])
def test_batched_encode_matches_one_at_a_time(tiny_model: ColBERT, is_query: bool) -> None:
    batched = tiny_model.encode(TEXTS, is_query=is_query, batch_size=4)
    singles = tiny_model.encode(TEXTS, is_query=is_query, batch_size=1)
    for text, left, right in zip(TEXTS, batched, singles, strict=True):
        np.testing.assert_allclose(left, right, atol=1e-5)
        np.testing.assert_allclose(left, _reference_encode(tiny_model, text, is_query), atol=1e-5)
        assert left.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(left, axis=1), 1.0, atol=1e-5)


def test_documents_drop_padding_and_punctuation(tiny_model: ColBERT) -> None:
    docs = tiny_model.encode(["hello, world!", "hello world"], is_query=False)
    assert [d.shape for d in docs] == [(5, 16), (5, 16)]  # [CLS] [D] hello world [SEP]
    queries = tiny_model.encode(["hello, world!", "hi"], is_query=True)
    assert [q.shape for q in queries] == [(32, 16), (32, 16)]


def test_without_query_expansion_queries_are_not_padded(tiny_model_path: Path) -> None:
    model = ColBERT(str(tiny_model_path), do_query_expansion=False, device="cpu")
    queries = model.encode(["hello world", "a much longer query than the first one"])
    assert queries[0].shape == (5, 16)
    assert queries[1].shape[0] > 5


def test_attend_to_expansion_tokens_changes_outputs(
    tiny_model: ColBERT, tiny_model_path: Path
) -> None:
    attending = ColBERT(str(tiny_model_path), attend_to_expansion_tokens=True, device="cpu")
    assert attending.tokenize(["hi"])["attention_mask"].all()
    assert not np.allclose(attending.encode(["hi"])[0], tiny_model.encode(["hi"])[0])


def test_output_types(tiny_model: ColBERT) -> None:
    single = tiny_model.encode("hello world", is_query=False)
    assert isinstance(single, np.ndarray) and single.shape == (5, 16)
    tensors = tiny_model.encode(["a b", "c"], is_query=False, convert_to_tensor=True)
    assert all(isinstance(t, torch.Tensor) for t in tensors)
    padded = tiny_model.encode(["a b", "c"], is_query=False, padding=True)
    assert padded.shape == (2, 5, 16) and not padded[1, 4].any()
    np.testing.assert_array_equal(tiny_model.encode_query(["a"])[0], tiny_model.encode(["a"])[0])
    np.testing.assert_array_equal(
        tiny_model.encode_document(["a"])[0], tiny_model.encode(["a"], is_query=False)[0]
    )


def test_pool_factor_reduces_documents_only(tiny_model: ColBERT) -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    full = tiny_model.encode([text], is_query=False)[0]
    pooled = tiny_model.encode([text], is_query=False, pool_factor=2)[0]
    assert pooled.shape == (1 + (full.shape[0] - 1) // 2, 16)
    np.testing.assert_array_equal(pooled[0], full[0])
    query = tiny_model.encode([text], is_query=True, pool_factor=2)[0]
    assert query.shape == (32, 16)


def test_pylate_call_forms(tiny_model: ColBERT) -> None:
    nested = tiny_model.encode([["a b", "c"], ["d"]], is_query=False)
    assert [len(group) for group in nested] == [2, 1]
    np.testing.assert_array_equal(nested[1][0], tiny_model.encode(["d"], is_query=False)[0])
    raw = tiny_model.encode(["a b"], is_query=False, normalize_embeddings=False)[0]
    unit = tiny_model.encode(["a b"], is_query=False)[0]
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), unit, atol=1e-6)
    prompted = tiny_model.encode(["b"], is_query=False, prompt="a ")[0]
    np.testing.assert_allclose(prompted, tiny_model.encode(["a b"], is_query=False)[0], atol=1e-6)
    ids = tiny_model.tokenize(["a, b"], is_query=False)["input_ids"]
    assert tiny_model.skiplist_mask(ids, skiplist=tiny_model.skiplist).tolist() == (
        tiny_model.skiplist_mask(ids).tolist()
    )
    assert tiny_model.skiplist_mask(ids, skiplist=[]).all()
    assert tiny_model.tokenize(["a"], is_query=False, pad=True)["input_ids"].shape == (1, 180)


def test_load_staticmethod_returns_colbert(tiny_model_path: Path) -> None:
    assert isinstance(ColBERT.load(str(tiny_model_path)), ColBERT)


def test_preprocess_hook_maps_tasks(tiny_model: ColBERT) -> None:
    as_query = tiny_model.preprocess(["hi there"], task="query")
    as_document = tiny_model.preprocess(["hi there"], task="document")
    assert as_query["input_ids"][0, 1] == tiny_model.query_prefix_id
    assert as_document["input_ids"][0, 1] == tiny_model.document_prefix_id


def test_hub_name_is_loaded_from_the_local_cache(tmp_path: Path, tiny_model_path: Path) -> None:
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "cache" / "models--someone--tiny-colbert"
    snapshot = repo / "snapshots" / revision
    snapshot.parent.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    import shutil

    shutil.copytree(tiny_model_path, snapshot)
    model = ColBERT("someone/tiny-colbert", cache_folder=str(tmp_path / "cache"), device="cpu")
    assert model.get_embedding_dimension() == 16


def test_minilm_hub_name_uses_the_packaged_copy_offline(tmp_path: Path) -> None:
    from plait.models.default import base_model_folder
    from plait.models.loading import resolve_folder

    folder = resolve_folder("sentence-transformers/all-MiniLM-L6-v2", cache_folder=str(tmp_path))
    assert folder == base_model_folder()


def _copy_with_modules(source: Path, target: Path, edit) -> Path:
    import shutil

    shutil.copytree(source, target)
    modules = json.loads((target / "modules.json").read_text())
    edit(modules)
    (target / "modules.json").write_text(json.dumps(modules))
    return target


def test_sentence_transformers_dense_in_a_colbert_folder(
    tmp_path: Path, tiny_model: ColBERT, tiny_model_path: Path
) -> None:
    def to_st_dense(modules: list) -> None:
        modules[1]["type"] = "sentence_transformers.models.Dense"

    folder = _copy_with_modules(tiny_model_path, tmp_path / "st-dense", to_st_dense)
    model = ColBERT(str(folder), device="cpu")
    assert len(model) == 2
    np.testing.assert_array_equal(model.encode(TEXTS)[1], tiny_model.encode(TEXTS)[1])


def test_unknown_module_in_a_colbert_folder(tmp_path: Path, tiny_model_path: Path) -> None:
    def add_pooling(modules: list) -> None:
        modules.append({"idx": 2, "name": "2", "path": "2_Pool", "type": "x.Pooling"})

    folder = _copy_with_modules(tiny_model_path, tmp_path / "odd", add_pooling)
    with pytest.raises(ValueError, match="unsupported module 'x.Pooling'"):
        ColBERT(str(folder), device="cpu")


def test_similarity_is_maxsim(tiny_model: ColBERT) -> None:
    queries = tiny_model.encode(TEXTS[:3])
    documents = tiny_model.encode(TEXTS, is_query=False)
    scores = tiny_model.similarity(queries, documents)
    expected = [[float((q @ d.T).max(axis=1).sum()) for d in documents] for q in queries]
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-5, atol=1e-5)
    padded = tiny_model.encode(TEXTS, is_query=False, padding=True)
    np.testing.assert_allclose(tiny_model.similarity(queries, padded).numpy(), expected, atol=1e-5)
    pairwise = tiny_model.similarity_pairwise(queries, documents[:3])
    np.testing.assert_allclose(pairwise.numpy(), np.diag(np.array(expected)[:, :3]), atol=1e-5)
    assert tiny_model.similarity(queries[0], [np.zeros((0, 16), np.float32)]).tolist() == [[0.0]]


def test_saved_folder_loads_in_sentence_transformers_multi_vector_encoder(
    tiny_model: ColBERT, tiny_model_path: Path
) -> None:
    from sentence_transformers import MultiVectorEncoder

    other = MultiVectorEncoder(str(tiny_model_path), device="cpu")
    for ours, theirs in zip(
        tiny_model.encode(TEXTS[:3]), other.encode_query(TEXTS[:3]), strict=True
    ):
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-5)
    documents = other.encode_document(TEXTS[:3])
    for ours, theirs in zip(tiny_model.encode(TEXTS[:3], is_query=False), documents, strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs), atol=1e-5)
