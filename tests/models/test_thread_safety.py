"""Concurrent query and document encodes must not change each other's truncation."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np


def test_concurrent_query_and_document_encodes_match_serial(tiny_model) -> None:
    long_doc = " ".join(f"word{i}" for i in range(150))
    query = "what does the long document say about " + " ".join(["x"] * 60)
    doc_ref = tiny_model.encode([long_doc], is_query=False)[0]
    query_ref = tiny_model.encode([query], is_query=True)[0]

    def work(i: int) -> np.ndarray:
        if i % 2:
            return tiny_model.encode([long_doc], is_query=False)[0]
        return tiny_model.encode([query], is_query=True)[0]

    with ThreadPoolExecutor(max_workers=4) as pool:
        outputs = list(pool.map(work, range(40)))
    for i, out in enumerate(outputs):
        ref = doc_ref if i % 2 else query_ref
        assert out.shape == ref.shape
        np.testing.assert_allclose(out, ref, atol=1e-5)
