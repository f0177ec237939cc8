"""Embedding sets for the benchmark: SciFact (encoded once, cached) and synthetic clustered data.

Both are written in the layout of :func:`protocol.load_embeddings` under ``benchmarks/.work/data``.
A set is complete when its ``meta.json`` exists (written last), so an interrupted run re-creates it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import Worker


@dataclass
class EmbeddingSet:
    """An embedding set on disk and what the report needs to know about it."""

    name: str
    folder: Path
    meta: dict[str, Any]
    qrels: dict[str, dict[str, int]] | None = None

    @property
    def n_documents(self) -> int:
        return int(self.meta["documents"])

    @property
    def n_tokens(self) -> int:
        return int(self.meta["tokens"])

    @property
    def n_queries(self) -> int:
        return int(self.meta["queries"])


def _finish(folder: Path, meta: dict[str, Any]) -> None:
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))


def _existing(folder: Path) -> dict[str, Any] | None:
    meta_path = folder / "meta.json"
    return json.loads(meta_path.read_text()) if meta_path.is_file() else None


def model_fingerprint(model_folder: Path) -> str:
    """SHA-256 over the weights (``*.safetensors``) of a saved model folder, names and bytes.

    Settings that change embeddings without changing weights are caught by the spot check in
    :func:`scifact`, which re-encodes a few texts whenever a cached set is reused.
    """
    digest = hashlib.sha256()
    for path in sorted(model_folder.rglob("*.safetensors")):
        digest.update(str(path.relative_to(model_folder)).encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def scifact(path: Path, work: Path, worker: Worker, fingerprint: str) -> EmbeddingSet:
    """SciFact test split encoded by the model ``worker`` has loaded (cached per model fingerprint)."""
    from plait.evaluation import load_beir

    documents, queries, qrels = load_beir(path, "test")
    folder = work / "data" / f"scifact-{fingerprint[:12]}"
    meta = _existing(folder)
    if meta is not None and not _still_matches(folder, documents, queries, worker):
        print(
            f"{folder}: the cached embeddings differ from the model's; encoding again", flush=True
        )
        meta = None
    if meta is None:
        shutil.rmtree(folder, ignore_errors=True)
        print(
            f"encoding SciFact ({len(documents)} documents, {len(queries)} queries) once; "
            f"cached in {folder}",
            flush=True,
        )
        result = worker.call(
            "encode_set",
            timeout=3 * 3600,
            folder=str(folder),
            documents=[d["text"] for d in documents],
            ids=[d["id"] for d in documents],
            queries=[q["text"] for q in queries],
            query_ids=[q["id"] for q in queries],
        )
        meta = {
            "documents": len(documents),
            "tokens": result["tokens"],
            "queries": len(queries),
            "source": str(path),
            "model_fingerprint": fingerprint,
            "encode_seconds": result["seconds"],
        }
        _finish(folder, meta)
    return EmbeddingSet("SciFact", folder, meta, qrels)


def _still_matches(
    folder: Path,
    documents: list[dict[str, str]],
    queries: list[dict[str, str]],
    worker: Worker,
    n: int = 4,
    tolerance: float = 1e-4,
) -> bool:
    """Re-encode the first ``n`` documents and queries and compare them with the cached arrays."""
    tokens = np.load(folder / "tokens.npy", mmap_mode="r")
    offsets = np.load(folder / "offsets.npy")
    cached_queries = np.load(folder / "queries.npy", mmap_mode="r")
    probe = folder.parent / "spot-check.npz"
    for is_query, texts in ((False, documents[:n]), (True, queries[:n])):
        worker.call(
            "encode",
            timeout=600,
            texts=[t["text"] for t in texts],
            is_query=is_query,
            save=str(probe),
            fixed_queries=is_query,
        )
        fresh = np.load(probe)
        if is_query:
            expected = np.asarray(cached_queries[:n]).reshape(-1, cached_queries.shape[-1])
        else:
            expected = np.asarray(tokens[: offsets[n]])
        if fresh["tokens"].shape != expected.shape:
            return False
        if float(np.abs(fresh["tokens"] - expected).max()) > tolerance:
            return False
    return True


def cached_scifact(path: Path, folder: Path) -> EmbeddingSet:
    """An existing SciFact embedding set (e.g. from an earlier model), with the judgements of ``path``."""
    from plait.evaluation import load_beir

    meta = _existing(folder)
    if meta is None:
        raise ValueError(f"{folder}: not a complete embedding set (no meta.json)")
    _, _, qrels = load_beir(path, "test")
    return EmbeddingSet("SciFact", folder, meta, qrels)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def synthetic(
    n_documents: int,
    work: Path,
    *,
    n_queries: int = 100,
    dim: int = 128,
    n_centres: int = 4096,
    n_topics: int = 1024,
    centres_per_topic: int = 24,
    common_share: float = 0.2,
    noise: float = 0.6,
    seed: int = 0,
) -> EmbeddingSet:
    """Clustered token embeddings with topical documents (not uniform noise).

    ``n_centres`` unit cluster centres; 256 of them form a "common" pool (stop-word-like tokens
    every document shares). Each of ``n_topics`` topics owns ``centres_per_topic`` centres with
    Zipf-like weights. A document picks a topic and draws its tokens (length log-normal, median 60,
    clipped to [30, 200]): ``common_share`` from the common pool, the rest from its topic; each
    token is ``centre + noise * gaussian / sqrt(dim)``, L2-normalised. A query (32 tokens) is drawn
    the same way from the topic of a random document.
    """
    name = f"synth-{n_documents}-q{n_queries}-s{seed}"
    folder = work / "data" / name
    meta = _existing(folder)
    if meta is None:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        meta = _write_synthetic(
            folder,
            n_documents,
            n_queries,
            dim,
            n_centres,
            n_topics,
            centres_per_topic,
            common_share,
            noise,
            seed,
        )
        _finish(folder, meta)
    return EmbeddingSet(f"synthetic {n_documents // 1000}k", folder, meta)


def _write_synthetic(
    folder: Path,
    n_documents: int,
    n_queries: int,
    dim: int,
    n_centres: int,
    n_topics: int,
    centres_per_topic: int,
    common_share: float,
    noise: float,
    seed: int,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    centres = _unit(rng.standard_normal((n_centres, dim)))
    n_common = 256
    topics = rng.integers(n_common, n_centres, size=(n_topics, centres_per_topic))
    weights = 1.0 / np.arange(1, centres_per_topic + 1)
    weights /= weights.sum()
    lengths = np.clip(np.round(rng.lognormal(np.log(60), 0.5, n_documents)), 30, 200).astype(
        np.int64
    )
    offsets = np.zeros(n_documents + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    doc_topics = rng.integers(0, n_topics, n_documents)

    def draw(topic_of_rows: np.ndarray) -> np.ndarray:
        n = len(topic_of_rows)
        slot = rng.choice(centres_per_topic, size=n, p=weights)
        centre = topics[topic_of_rows, slot]
        common = rng.random(n) < common_share
        centre[common] = rng.integers(0, n_common, int(common.sum()))
        rows = centres[centre] + noise * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(
            dim
        )
        return _unit(rows)

    tokens = np.lib.format.open_memmap(
        folder / "tokens.npy", mode="w+", dtype=np.float32, shape=(int(offsets[-1]), dim)
    )
    chunk = 20_000
    for start in range(0, n_documents, chunk):
        stop = min(start + chunk, n_documents)
        rows_topic = np.repeat(doc_topics[start:stop], lengths[start:stop])
        tokens[offsets[start] : offsets[stop]] = draw(rows_topic)
    tokens.flush()
    del tokens
    query_sources = rng.integers(0, n_documents, n_queries)
    queries = draw(np.repeat(doc_topics[query_sources], 32)).reshape(n_queries, 32, dim)
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "queries.npy", queries)
    (folder / "ids.json").write_text(json.dumps([f"d{j}" for j in range(n_documents)]))
    (folder / "query_ids.json").write_text(json.dumps([f"q{i}" for i in range(n_queries)]))
    return {
        "documents": n_documents,
        "tokens": int(offsets[-1]),
        "queries": n_queries,
        "dim": dim,
        "n_centres": n_centres,
        "n_topics": n_topics,
        "noise": noise,
        "seed": seed,
        "generator": "benchmarks/embedding_sets.py:synthetic",
    }


def remove_index_folders(folder: Path) -> None:
    """Delete benchmark index folders (they live under ``benchmarks/.work/indexes``)."""
    if folder.exists() and folder.is_relative_to(Path(__file__).resolve().parent / ".work"):
        shutil.rmtree(folder)
    os.makedirs(folder, exist_ok=True)
