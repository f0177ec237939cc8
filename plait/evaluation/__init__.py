"""Evaluation: BEIR folders, ranx metrics, one code path to score any retriever."""

from plait.evaluation.beir import (
    BeirFormatError,
    available_splits,
    load_beir,
    load_corpus,
    load_qrels,
)
from plait.evaluation.metrics import DEFAULT_METRICS, evaluate
from plait.evaluation.runner import EvaluationResult, evaluate_beir, evaluate_retriever

__all__ = [
    "DEFAULT_METRICS",
    "BeirFormatError",
    "EvaluationResult",
    "available_splits",
    "evaluate",
    "evaluate_beir",
    "evaluate_retriever",
    "load_beir",
    "load_corpus",
    "load_qrels",
]
