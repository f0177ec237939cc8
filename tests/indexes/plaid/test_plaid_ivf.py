"""Inverted lists against a dictionary-of-sets reference."""

from __future__ import annotations

import numpy as np

from plait.indexes.plaid.ivf import InvertedLists


def test_build_and_probe_match_reference():
    rng = np.random.default_rng(0)
    doclens = rng.integers(1, 20, size=60)
    codes = rng.integers(0, 30, size=int(doclens.sum()))
    ivf = InvertedLists.build(codes, doclens, 30)
    assert ivf.docs.dtype == np.uint16
    doc_of = np.repeat(np.arange(60), doclens)
    lists: dict[int, set[int]] = {c: set() for c in range(30)}
    for c, d in zip(codes, doc_of, strict=True):
        lists[int(c)].add(int(d))
    for c in range(30):
        assert ivf.docs[ivf.offsets[c] : ivf.offsets[c + 1]].tolist() == sorted(lists[c])
    cells = np.array([3, 7, 29])
    assert ivf.probe(cells).tolist() == sorted(set().union(*(lists[c] for c in cells)))
    assert ivf.probe(np.array([], dtype=np.int64)).tolist() == []
