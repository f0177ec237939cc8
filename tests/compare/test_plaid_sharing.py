"""compare trains PLAID's centroids once for 1, 2 and 4 bits: that must equal building each alone."""

from __future__ import annotations

import numpy as np
import pytest

from plait.indexes.plaid import PLAID, Codebook


def _clustered_documents(n_documents: int = 240, dim: int = 16) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(24, dim))
    documents = []
    for _ in range(n_documents):
        rows = centres[rng.integers(0, len(centres), rng.integers(5, 40))]
        rows = rows + 0.3 * rng.normal(size=rows.shape)
        documents.append((rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32))
    return documents


@pytest.mark.parametrize("nbits", [1, 2, 4])
def test_shared_centroids_give_the_index_built_alone(tmp_path, nbits):
    documents = _clustered_documents()
    ids = [f"d{i}" for i in range(len(documents))]
    shared = Codebook.train(documents, nbits=2)
    derived = Codebook.train(documents, nbits=nbits, quantizer=shared.quantizer)
    alone = PLAID(index_folder=tmp_path, index_name="alone", nbits=nbits)
    alone.add_documents(ids, documents)
    with_codebook = PLAID(index_folder=tmp_path, index_name="shared", codebook=derived)
    with_codebook.add_documents(ids, documents)
    assert derived.same_as(Codebook(alone._quantizer, alone._codec))
    queries = [documents[i][:8] for i in (0, 17, 99)]
    for a, b in zip(alone.search(queries, k=20), with_codebook.search(queries, k=20), strict=True):
        assert a.ids == b.ids
        np.testing.assert_array_equal(a.scores, b.scores)
