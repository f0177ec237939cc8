"""Recognise index folders written by other engines, to name them in errors (never to read them).

A PyLate user who swaps the import and keeps ``index_folder=...`` points plait at a folder that
holds a PyLate (Voyager, fast-plaid, Stanford PLAID), fast-plaid or Stanford ColBERT index. plait
refuses to write there (:meth:`plait.indexes.storage.IndexFolder.check_creatable`); this module
turns the file names into words for that error, and :func:`remedy` says how to move to plait
(``plait migrate-index`` converts fast-plaid based folders, :mod:`plait.indexes.migrate`). Nothing
here opens a file.
"""

from __future__ import annotations

from collections.abc import Iterable

# (what it is, file names any of which identify it); checked in order, the first match wins
_SIGNATURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("a PyLate Voyager index", ("index.voyager", "document_ids_to_embeddings.pkl")),
    ("a PyLate PLAID index (fast-plaid backend)", ("fast_plaid_index",)),
    ("a PyLate PLAID index", ("documents_ids_to_plaid_ids.pkl", "plaid_ids_to_documents_ids.pkl")),
    ("a Stanford ColBERT (PLAID) index", ("plan.json", "ivf.pid.pt", "centroids.pt", "buckets.pt")),
    ("a fast-plaid index", ("ivf_lengths.npy", "avg_residual.npy", "cluster_threshold.npy")),
)


def describe(names: Iterable[str]) -> str | None:
    """Describe the folder holding ``names`` (``"a fast-plaid index"``), or return ``None``.

    ``None`` means the names match no engine plait knows.
    """
    found = set(names)
    for what, markers in _SIGNATURES:
        if found.intersection(markers):
            return what
    return None


_MIGRATABLE = ("a PyLate PLAID index (fast-plaid backend)", "a fast-plaid index")


def remedy(engine: str, path: object) -> str:
    """Return what to do with a folder that holds ``engine`` (a :func:`describe` answer)."""
    if engine in _MIGRATABLE:
        return (
            f"convert it without re-encoding: plait migrate-index {path} NEW_FOLDER "
            "(plait.indexes.migrate.migrate_index)"
        )
    return "index the documents again with plait into another folder"
