"""Saved folders use the sentence_bert_config.json form that PyLate 1.6 (sentence-transformers 5.3)
reads; checked by hand against PyLate 1.6 in benchmarks/.work/peer-venv (same embeddings)."""

import json
from pathlib import Path

import numpy as np

from plait.models import ColBERT


def test_saved_transformer_config_is_portable(tiny_model: ColBERT, tmp_path: Path) -> None:
    tiny_model.save(str(tmp_path / "m"))
    config = json.loads((tmp_path / "m" / "sentence_bert_config.json").read_text())
    assert set(config) == {"max_seq_length", "do_lower_case"}
    assert config["max_seq_length"] == tiny_model.max_seq_length
    reloaded = ColBERT(str(tmp_path / "m"))
    texts = ["portable checkpoints load everywhere"]
    np.testing.assert_array_equal(
        reloaded.encode(texts, is_query=False)[0], tiny_model.encode(texts, is_query=False)[0]
    )
