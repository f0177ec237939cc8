"""PLAIDConfig: the settings an index was built with are saved and come back (issue 24, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plait.indexes.plaid import PLAID, Codebook
from plait.indexes.plaid.config import PLAIDConfig


def _docs(n: int = 60, dim: int = 16, seed: int = 0) -> tuple[list[str], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    docs = [
        rng.standard_normal((int(rng.integers(3, 9)), dim)).astype(np.float32) for _ in range(n)
    ]
    return [f"d{i}" for i in range(n)], [d / np.linalg.norm(d, axis=1, keepdims=True) for d in docs]


def _stored(index: PLAID) -> dict:
    return json.loads((Path(index.path) / "manifest.json").read_text())["settings"]["config"]


def test_settings_are_saved_and_come_back(tmp_path: Path) -> None:
    ids, docs = _docs()
    index = PLAID(tmp_path, "idx", nbits=4, kmeans_niters=2, seed=5, n_centroids=8, ndocs=300)
    index.add_documents(ids, docs)
    assert isinstance(index.path, Path) and index.path == tmp_path / "idx"
    assert _stored(index)["kmeans_niters"] == 2 and _stored(index)["ndocs"] == 300
    reopened = PLAID(tmp_path, "idx")
    assert (
        reopened.config
        == index.config
        == PLAIDConfig(nbits=4, kmeans_niters=2, seed=5, n_centroids=8, ndocs=300)
    )
    assert reopened.default_params.ndocs == 300 and reopened.nbits == 4


def test_constructor_arguments_override_and_are_saved_by_the_next_write(tmp_path: Path) -> None:
    ids, docs = _docs()
    PLAID(tmp_path, "idx", seed=5, n_centroids=8).add_documents(ids[:40], docs[:40])
    other = PLAID(tmp_path, "idx", seed=9, ncells=3)
    assert (
        other.config.seed == 9
        and other.config.n_centroids == 8
        and other.default_params.ncells == 3
    )
    assert _stored(other)["seed"] == 5  # nothing written yet
    other.add_documents(ids[40:], docs[40:])
    assert _stored(other)["seed"] == 9 and PLAID(tmp_path, "idx").config.ncells == 3


def test_retrain_takes_pylate_names_and_saves_them(tmp_path: Path) -> None:
    ids, docs = _docs()
    index = PLAID(tmp_path, "idx", n_centroids=8, kmeans_niters=1)
    index.add_documents(ids, docs)
    originals = dict(zip(ids, docs, strict=True))
    index.retrain(originals, kmeans_niters=3, n_centroids=4)
    assert index.config.kmeans_niters == 3 and index.stats["n_centroids"] == 4
    assert PLAID(tmp_path, "idx").config.n_centroids == 4
    index.retrain(originals, niters=2)  # the old name still works
    assert index.config.kmeans_niters == 2
    with pytest.raises(TypeError, match="kmeans_niters"):
        index.retrain(originals, bogus=1)
    assert len(index) == len(ids)


def test_the_same_settings_train_the_same_codebook(tmp_path: Path) -> None:
    ids, docs = _docs()
    index = PLAID(tmp_path, "idx", n_centroids=8, kmeans_niters=2, seed=3)
    index.add_documents(ids, docs)
    codebook = Codebook.train(docs, **index.config.training())
    assert codebook.same_as(Codebook(index.quantizer, index.codec))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kmeans_niters": -1}, "kmeans_niters"),
        ({"n_centroids": 0}, "n_centroids"),
        ({"max_points_per_centroid": 0}, "max_points_per_centroid"),
        ({"nbits": 3}, "nbits"),
        ({"ndocs": 0}, "ndocs"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_written(
    tmp_path: Path, kwargs, message
) -> None:
    with pytest.raises(ValueError, match=message):
        PLAID(tmp_path, "idx", **kwargs)
    assert not (tmp_path / "idx").exists()


def test_a_damaged_config_names_the_manifest(tmp_path: Path) -> None:
    from plait.indexes.base import CorruptIndexError
    from plait.indexes.storage import IndexFolder

    index = PLAID(tmp_path, "idx")
    manifest = dict(index.manifest)
    manifest["settings"] = dict(manifest["settings"], config={"kmeans_niters": "many"})
    folder = IndexFolder(index.path)
    with folder.writer_lock():
        folder.commit(manifest, base=dict(index.manifest))
    with pytest.raises(CorruptIndexError, match="settings.config"):
        PLAID(tmp_path, "idx")


def test_pylate_thread_and_memory_arguments(tmp_path: Path, monkeypatch) -> None:
    """PyLate's ``num_threads`` caps the search threads; ``low_memory`` (GPU VRAM) is accepted."""
    from plait.indexes.plaid import index as plaid_index

    ids, docs = _docs()
    index = PLAID(tmp_path, "idx", n_centroids=8, kmeans_niters=1, num_threads=1, low_memory=True)
    index.add_documents(ids, docs)
    pools = []
    original = plaid_index.worker_pool
    monkeypatch.setattr(
        plaid_index, "worker_pool", lambda name, n: pools.append(n) or original(name, n)
    )
    one_thread = index.search(docs[:4], k=3)
    assert pools == []  # one thread: no pool
    default = PLAID(tmp_path, "idx").search(docs[:4], k=3)
    assert [r.ids for r in one_thread] == [r.ids for r in default]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="num_threads"):
            PLAID(tmp_path, "idx", num_threads=bad)
