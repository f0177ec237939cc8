"""Token pooling (pool_factor) against hand-checked cases; PyLate agreement is in test_pylate_fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from plait.models.pooling import pool_embeddings


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def test_duplicated_rows_collapse_to_the_originals() -> None:
    basis = _unit(np.random.default_rng(0).normal(size=(4, 8)))
    rows = np.concatenate([basis[:1], basis[[1, 1, 2, 2, 3, 3]]])
    pooled = pool_embeddings(rows, pool_factor=2)
    assert pooled.shape == (4, 8)
    np.testing.assert_array_equal(pooled[0], basis[0])
    found = {int(np.argmax(basis @ row)) for row in pooled[1:]}
    assert found == {1, 2, 3}
    np.testing.assert_allclose(np.sort(pooled[1:], axis=0), np.sort(basis[1:], axis=0), atol=1e-6)


@pytest.mark.parametrize(
    ("n_rows", "factor", "protected"), [(10, 2, 1), (9, 3, 1), (7, 4, 0), (5, 10, 2)]
)
def test_row_counts(n_rows: int, factor: int, protected: int) -> None:
    rows = _unit(np.random.default_rng(n_rows).normal(size=(n_rows, 6)))
    pooled = pool_embeddings(rows, pool_factor=factor, protected_tokens=protected)
    rest = n_rows - protected
    assert pooled.shape == (protected + max(rest // factor, 1), 6)
    np.testing.assert_array_equal(pooled[:protected], rows[:protected])
    # every pooled row is a mean of input rows, so it lies inside their bounding box
    assert (pooled >= rows.min(axis=0) - 1e-6).all() and (pooled <= rows.max(axis=0) + 1e-6).all()


def test_factor_one_and_tiny_inputs_are_unchanged() -> None:
    rows = _unit(np.random.default_rng(1).normal(size=(3, 4)))
    assert pool_embeddings(rows, pool_factor=1) is rows
    np.testing.assert_array_equal(pool_embeddings(rows[:2], pool_factor=2), rows[:2])


@pytest.mark.parametrize(("factor", "protected"), [(0, 1), (2, -1)])
def test_bad_arguments(factor: int, protected: int) -> None:
    with pytest.raises(ValueError):
        pool_embeddings(np.zeros((3, 2), dtype=np.float32), factor, protected)


def _loop_reference(rows: np.ndarray, factor: int, protected: int = 1) -> np.ndarray:
    """The straightforward per-cluster loop (PyLate's formulation) the vectorised means replace."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    head, rest = rows[:protected], rows[protected:]
    distances = 1.0 - rest.astype(np.float64) @ rest.astype(np.float64).T
    np.fill_diagonal(distances, 0.0)
    distances = np.clip((distances + distances.T) / 2, 0.0, None)
    tree = linkage(squareform(distances, checks=False), method="ward")
    labels = fcluster(tree, t=max(len(rest) // factor, 1), criterion="maxclust")
    means = [rest[labels == label].mean(axis=0) for label in np.unique(labels)]
    return np.concatenate([head, np.stack(means)])


def test_pool_many_matches_the_per_document_loop() -> None:
    from plait.models.pooling import pool_many

    rng = np.random.default_rng(7)
    documents = [_unit(rng.normal(size=(n, 16))) for n in (2, 3, 17, 40, 181)]
    for factor in (2, 3):
        many = pool_many(documents, factor)
        for document, pooled in zip(documents, many, strict=True):
            expected = _loop_reference(document, factor) if len(document) > 2 else document
            assert pooled.shape == expected.shape and pooled.dtype == np.float32
            np.testing.assert_allclose(pooled, expected, atol=1e-6)
            np.testing.assert_array_equal(pooled, pool_embeddings(document, factor))
    assert pool_many(documents, 1) == documents
