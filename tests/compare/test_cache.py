"""The encoding cache: a second run reads the corpus encodings and reports the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from plait.compare import CompareSettings, load_compare_data, run_compare
from plait.compare.cache import EncodingCache, encoder_fingerprint


def test_round_trip_and_keys(tmp_path):
    cache = EncodingCache(tmp_path)
    texts = ["a", "b", "c"]
    matrices = [np.full((n, 4), n, np.float32) for n in (1, 3, 2)]
    assert cache.load("colbert", "fp", texts) is None
    cache.save("colbert", "fp", texts, matrices, {"encode_s": 1.5})
    loaded, meta = cache.load("colbert", "fp", texts)
    assert meta == {"encode_s": 1.5}
    for got, want in zip(loaded, matrices, strict=True):
        np.testing.assert_array_equal(got, want)
    assert cache.load("colbert", "other model", texts) is None
    assert cache.load("colbert", "fp", ["a", "b", "changed"]) is None


def test_fingerprint_follows_the_encoder():
    first = encoder_fingerprint(lambda texts: [np.ones((2, 3))], "m")
    assert first == encoder_fingerprint(lambda texts: [np.ones((2, 3)) + 1e-7], "m")
    assert first != encoder_fingerprint(lambda texts: [np.ones((2, 3)) * 2], "m")
    assert first != encoder_fingerprint(lambda texts: [np.ones((2, 3))], "another name")


@pytest.mark.slow  # two compare runs
def test_second_run_reads_the_cache_and_matches(
    tmp_path, tiny_beir, tiny_model_path, tiny_biencoder_path
):
    settings = CompareSettings(
        model=str(tiny_model_path),
        bi_encoder=str(tiny_biencoder_path),
        systems=("biencoder", "colbert", "biencoder+colbert"),
        latency_queries=1,
        rerank_latency_queries=0,
        cache=str(tmp_path / "cache"),
    )
    data = load_compare_data(tiny_beir)
    first = run_compare(data, settings)
    snapshots = []
    second = run_compare(data, settings, on_update=snapshots.append)
    assert first.settings["cached_encodings"] == []
    assert second.settings["cached_encodings"] == ["Bi-encoder", "ColBERT"]
    assert second.settings["colbert_encode_s"] == first.settings["colbert_encode_s"]
    for a, b in zip(first.systems, second.systems, strict=True):
        assert a.name == b.name and a.metrics == b.metrics and a.index_bytes == b.index_bytes
    assert second.get("biencoder").build_s >= first.get("biencoder").build_s
    # the partial result after each configuration (biencoder, colbert, biencoder+colbert)
    assert [[sys.name for sys in snap.systems] for snap in snapshots] == [
        ["biencoder"],
        ["biencoder", "colbert"],
        ["biencoder", "colbert", "biencoder+colbert"],
    ]
