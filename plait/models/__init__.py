"""ColBERT models: loading, tokenisation, encoding, token pooling and the offline default model.

Loading reads PyLate/sentence-transformers folders, Stanford checkpoints, Hugging Face encoders and
hub names.
"""

from plait.models.colbert import ColBERT
from plait.models.dense import Dense
from plait.models.loading import ModelNotFoundError

__all__ = ["ColBERT", "Dense", "ModelNotFoundError"]
