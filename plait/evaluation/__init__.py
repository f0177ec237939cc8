"""Evaluation: BEIR folders, trec_eval metrics (pytrec_eval), one code path to score any retriever."""

from typing import TYPE_CHECKING

from plait.evaluation.beir import (
    BeirFormatError,
    available_splits,
    load_beir,
    load_corpus,
    load_qrels,
)
from plait.evaluation.metrics import DEFAULT_METRICS, evaluate
from plait.evaluation.negation import (
    NegationResult,
    NegationTriple,
    evaluate_negation,
    load_negation_triples,
)
from plait.evaluation.runner import EvaluationResult, evaluate_beir, evaluate_retriever

if TYPE_CHECKING:  # the classes themselves for type checkers; at run time __getattr__ loads them
    from plait.evaluation.evaluators import (
        ColBERTInformationRetrievalEvaluator,
        ColBERTTripletEvaluator,
        PyLateInformationRetrievalEvaluator,
    )

_EVALUATORS = (
    "ColBERTInformationRetrievalEvaluator",
    "ColBERTTripletEvaluator",
    "PyLateInformationRetrievalEvaluator",
)

__all__ = [
    "ColBERTInformationRetrievalEvaluator",
    "ColBERTTripletEvaluator",
    "PyLateInformationRetrievalEvaluator",
    "DEFAULT_METRICS",
    "BeirFormatError",
    "EvaluationResult",
    "NegationResult",
    "NegationTriple",
    "available_splits",
    "evaluate",
    "evaluate_beir",
    "evaluate_negation",
    "evaluate_retriever",
    "load_beir",
    "load_corpus",
    "load_negation_triples",
    "load_qrels",
]


# evaluators import sentence-transformers: load them on first use
def __getattr__(name: str) -> type:
    if name in _EVALUATORS:
        from plait.evaluation import evaluators

        return getattr(evaluators, name)
    raise AttributeError(f"module 'plait.evaluation' has no attribute {name!r}")
