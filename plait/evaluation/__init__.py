"""Evaluation: BEIR folders, trec_eval metrics (pytrec_eval), one code path to score any retriever."""

from plait.evaluation.beir import (
    BeirFormatError,
    available_splits,
    load_beir,
    load_corpus,
    load_qrels,
)
from plait.evaluation.metrics import DEFAULT_METRICS, evaluate
from plait.evaluation.runner import EvaluationResult, evaluate_beir, evaluate_retriever

_EVALUATORS = (
    "ColBERTInformationRetrievalEvaluator",
    "ColBERTTripletEvaluator",
    "PyLateInformationRetrievalEvaluator",
)

__all__ = [
    *_EVALUATORS,
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


def __getattr__(name: str):  # evaluators import sentence-transformers: load them on first use
    if name in _EVALUATORS:
        from plait.evaluation import evaluators

        return getattr(evaluators, name)
    raise AttributeError(f"module 'plait.evaluation' has no attribute {name!r}")
