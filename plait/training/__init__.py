"""Training helpers: the ColBERT collator, distillation data, hard-negative mining, the train loop."""

from plait.training.collator import ColBERTCollator, column_role, tokenize_for_trainer
from plait.training.kd import KDProcessing
from plait.training.mining import mine_hard_negatives, write_jsonl

__all__ = [
    "ColBERTCollator",
    "KDProcessing",
    "column_role",
    "mine_hard_negatives",
    "tokenize_for_trainer",
    "write_jsonl",
]
