"""The peer's side of the benchmark: PyLate + fast-plaid, run with the peer venv.

    benchmarks/.work/peer-venv/bin/python benchmarks/peers/pylate_worker.py   (spoken to by run.py)

Operations (same shapes as ``plait_worker.py``): ``load_model`` (a PyLate-format folder, e.g. the
one plait's ``model.save`` wrote), ``encode``, ``load_data``, ``build`` (``pylate.indexes.PLAID``,
fast-plaid backend, default settings apart from ``nbits``), ``open_index``, ``search``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from protocol import load_embeddings, memory_kib, package_versions, serve, timed  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
logging.getLogger("pylate").setLevel(logging.ERROR)

state: dict[str, Any] = {}


def _compatible_copy(path: str) -> tuple[str, list[str]]:
    """A view of ``path`` whose ``sentence_bert_config.json`` keeps only the keys this
    sentence-transformers' ``Transformer`` accepts (newer releases write keys older ones reject).
    Returns the folder to load and the keys dropped (empty: ``path`` itself is used)."""
    import inspect
    import json

    from sentence_transformers.models import Transformer

    config_path = os.path.join(path, "sentence_bert_config.json")
    if not os.path.isfile(config_path):
        return path, []
    with open(config_path) as f:
        config = json.load(f)
    accepted = set(inspect.signature(Transformer.__init__).parameters)
    dropped = sorted(set(config) - accepted)
    if not dropped:
        return path, []
    copy = path.rstrip("/") + "-for-pylate"
    os.makedirs(copy, exist_ok=True)
    for root, _dirs, files in os.walk(path):
        target_root = os.path.join(copy, os.path.relpath(root, path))
        os.makedirs(target_root, exist_ok=True)
        for name in files:
            target = os.path.join(target_root, name)
            if os.path.lexists(target):
                os.remove(target)
            if os.path.join(root, name) != config_path:
                os.symlink(os.path.abspath(os.path.join(root, name)), target)
    with open(os.path.join(copy, "sentence_bert_config.json"), "w") as f:
        json.dump({k: v for k, v in config.items() if k in accepted}, f)
    return copy, dropped


def load_model(path: str) -> dict[str, Any]:
    from pylate import models

    folder, dropped = _compatible_copy(path)
    seconds, state["model"] = timed(lambda: models.ColBERT(model_name_or_path=folder, device="cpu"))
    return {
        "seconds": seconds,
        "dim": state["model"].get_sentence_embedding_dimension(),
        "dropped_config_keys": dropped,
    }


def encode(texts: list[str], is_query: bool, batch_size: int = 32, save: str | None = None) -> dict:
    model = state["model"]
    seconds, out = timed(
        lambda: model.encode(
            texts, is_query=is_query, batch_size=batch_size, show_progress_bar=False
        )
    )
    out = [np.asarray(m, dtype=np.float32) for m in out]
    if save:
        offsets = np.zeros(len(out) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(m) for m in out])
        np.savez(save, tokens=np.concatenate(out), offsets=offsets)
    return {"seconds": seconds, "texts": len(texts), "tokens": int(sum(len(m) for m in out))}


def load_data(folder: str, documents: bool = True) -> dict[str, int]:
    state["data"] = load_embeddings(folder, documents=documents)
    return memory_kib()


def _plaid(index_folder: str, index_name: str, **settings: Any) -> Any:
    from pylate import indexes

    return indexes.PLAID(
        index_folder=index_folder,
        index_name=index_name,
        show_progress=False,
        device="cpu",
        **settings,
    )


def build(index_folder: str, index_name: str, nbits: int) -> dict[str, Any]:
    data = state["data"]
    before = memory_kib()

    def run() -> Any:
        index = _plaid(index_folder, index_name, override=True, nbits=nbits)
        index.add_documents(documents_ids=data["ids"], documents_embeddings=data["documents"])
        return index

    seconds, _ = timed(run)
    return {"seconds": seconds, "before": before, "after": memory_kib()}


def open_index(index_folder: str, index_name: str) -> dict[str, Any]:
    seconds, state["index"] = timed(lambda: _plaid(index_folder, index_name))
    return {"seconds": seconds, **memory_kib()}


def search(k: int, indices: list[int], batched: bool) -> dict[str, Any]:
    index = state["index"]
    queries = state["data"]["queries"]
    seconds: list[float] = []
    ids: list[list[str]] = []
    scores: list[list[float]] = []
    groups = [indices] if batched else [[i] for i in indices]
    for group in groups:
        elapsed, results = timed(lambda g=group: index(queries[g], k=k))
        seconds.append(elapsed)
        for hits in results:
            ids.append([str(h["id"]) for h in hits])
            scores.append([float(h["score"]) for h in hits])
    return {"seconds": seconds, "ids": ids, "scores": scores, **memory_kib()}


def versions() -> dict[str, str]:
    return package_versions(
        ("pylate", "fast-plaid", "torch", "numpy", "transformers", "sentence-transformers")
    )


if __name__ == "__main__":
    serve(
        {
            "load_model": load_model,
            "encode": encode,
            "load_data": load_data,
            "build": build,
            "open_index": open_index,
            "search": search,
            "versions": versions,
        }
    )
