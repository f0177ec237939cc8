"""Write the tiny fast-plaid 1.7 index folders that tests/indexes/test_migrate.py migrates.

Run with the filter peers' venv (``bash benchmarks/setup_filter_peers.sh``), from the repository
root::

    benchmarks/.work/filter-peer-venv/bin/python benchmarks/peers/make_fast_plaid_fixture.py

For nbits 2 and 4 it builds a fast-plaid index over 80 clustered unit-norm documents (dim 32, seed
0) in ``tests/fixtures/fast_plaid/nbits<n>/index`` and records, in ``expected.json``, fast-plaid's
own answers for 6 queries at full probe settings (every centroid probed, every candidate scored):
top-10 document numbers and scores, and its decompressed embeddings of documents 0 and 79
(``embeddings.npz``). The raw embeddings fast-plaid keeps for small indexes (``embeddings.npy``,
a pickle) are deleted: a migration never reads them.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import fast_plaid
import numpy as np
import torch
from fast_plaid import search

OUT = Path("tests/fixtures/fast_plaid")


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def corpus(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    topics = unit(rng.normal(size=(16, 32)))
    docs = []
    for i in range(80):
        n = int(rng.integers(10, 22))
        centre = topics[i % 16]
        docs.append(unit(centre + 0.6 * rng.normal(size=(n, 32)) / np.sqrt(32) * 4))
    queries = np.stack(
        [unit(topics[q] + 0.6 * rng.normal(size=(8, 32)) / np.sqrt(32) * 4) for q in range(6)]
    )
    return docs, queries


def main() -> None:
    docs, queries = corpus()
    for nbits in (2, 4):
        folder = OUT / f"nbits{nbits}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        index = search.FastPlaid(index=str(folder / "index"), device="cpu")
        index.create([torch.from_numpy(d) for d in docs], nbits=nbits, seed=0)
        n_centroids = int(np.load(folder / "index" / "centroids.npy").shape[0])
        hits = index.search(
            torch.from_numpy(queries),
            top_k=10,
            n_ivf_probe=n_centroids,
            n_full_scores=len(docs),
            show_progress=False,
        )
        emb = index.get_embeddings([0, 79])
        np.savez(
            folder / "embeddings.npz", doc0=emb[0].float().numpy(), doc79=emb[1].float().numpy()
        )
        np.save(folder / "queries.npy", queries)
        expected = {
            "fast_plaid": fast_plaid.__version__ if hasattr(fast_plaid, "__version__") else "1.7",
            "nbits": nbits,
            "n_centroids": n_centroids,
            "top10": [[[int(d), float(s)] for d, s in row] for row in hits],
        }
        (folder / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
        index.close()
        for name in ("embeddings.npy", "plaid.lock", "buffer.npy"):
            path = folder / "index" / name
            if path.exists():
                os.remove(path)
        print(folder, sorted(p.name for p in (folder / "index").iterdir()))


if __name__ == "__main__":
    main()
