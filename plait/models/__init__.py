"""ColBERT models: loading (PyLate/sentence-transformers folders, Stanford checkpoints, Hugging Face
encoders, hub names), tokenisation, encoding, token pooling and the offline default model."""

from plait.models.colbert import ColBERT
from plait.models.dense import Dense
from plait.models.loading import ModelNotFoundError

__all__ = ["ColBERT", "Dense", "ModelNotFoundError"]
