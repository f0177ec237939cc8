"""Baselines that share the ColBERT retriever's API: BM25 (bm25s) and a single-vector bi-encoder."""

from plait.baselines.biencoder import BiEncoder, default_biencoder_path
from plait.baselines.bm25 import BM25

__all__ = ["BM25", "BiEncoder", "default_biencoder_path"]
