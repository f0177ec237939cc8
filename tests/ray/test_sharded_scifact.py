"""Acceptance (issue 9): a 4-shard index over SciFact on a local Ray cluster returns the same top-10
ids and scores (within 1e-5) as one PLAID index built with the same codebook, for every test query.

Uses the offline default model. In CI the corpus is SciFact's first ``PLAIT_SCIFACT_DOCS`` documents
(default 400: real text, a minute to encode on two cores); the whole corpus (5,183 documents, a
few minutes more) runs from ``benchmarks/ray_scifact.py``, which sets ``PLAIT_SCIFACT_DOCS=all``.
Skipped without ../shared/data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from plait.distributed import ShardedPLAID, shard_of
from plait.indexes import PLAID

ray = pytest.importorskip("ray")
SCIFACT = Path(__file__).resolve().parents[3] / "shared" / "data" / "scifact"
N_SHARDS = 4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scifact(tmp_path_factory):
    """``(ids, document embeddings, query embeddings)`` of SciFact's corpus and test queries."""
    if not SCIFACT.is_dir():
        pytest.skip(f"{SCIFACT} not available")
    from plait.evaluation.beir import load_beir
    from plait.models import ColBERT

    documents, queries, _ = load_beir(SCIFACT)
    size = os.environ.get("PLAIT_SCIFACT_DOCS", "400")
    documents = documents if size == "all" else documents[: int(size)]
    cache = tmp_path_factory.mktemp("scifact-embeddings")
    model = ColBERT()
    docs = model.encode(
        [d["text"] for d in documents], is_query=False, batch_size=32, show_progress_bar=False
    )
    lens = np.array([len(d) for d in docs])
    np.save(cache / "tokens.npy", np.concatenate(docs))
    np.save(cache / "lens.npy", lens)
    del docs
    tokens = np.load(cache / "tokens.npy", mmap_mode="r")
    starts = np.r_[0, np.cumsum(lens)[:-1]]
    embeddings = [tokens[s : s + n] for s, n in zip(starts, lens, strict=True)]
    query_embeddings = model.encode(
        [q["text"] for q in queries], is_query=True, show_progress_bar=False
    )
    return [d["id"] for d in documents], embeddings, query_embeddings


def test_four_shards_on_ray_equal_one_plaid_index(scifact, tmp_path):
    ids, docs, queries = scifact
    ShardedPLAID(tmp_path, "sharded", n_shards=N_SHARDS).add_documents(ids, docs)
    order = [p for s in range(N_SHARDS) for p, i in enumerate(ids) if shard_of(i, N_SHARDS) == s]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with ShardedPLAID(tmp_path, "sharded", backend="ray", timeout_s=600) as sharded:
            assert len(sharded) == len(ids) and all(n > 0 for n in sharded.shard_counts().values())
            single = PLAID(tmp_path, "single", codebook=sharded.codebook)
            single.add_documents([ids[p] for p in order], [docs[p] for p in order])
            got = sharded.search(queries, k=10)
            expected = single.search(queries, k=10)
    finally:
        ray.shutdown()
    assert len(got) == len(expected) == len(queries) == 300
    for query, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert a.ids == b.ids, f"query {query}"
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-5, err_msg=f"query {query}")
        assert len(a) == 10 and not a.partial
