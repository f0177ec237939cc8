"""Training helpers: the ColBERT collator, distillation data, hard-negative mining, the train loop."""

from plait.training.collator import ColBERTCollator, column_role, tokenize_for_trainer
from plait.training.kd import KDProcessing

__all__ = ["ColBERTCollator", "KDProcessing", "column_role", "tokenize_for_trainer"]
