"""MaxSim (ColBERT) scoring: padded batches in torch, ragged documents in numpy.

Reference loop implementations live in :mod:`plait.scores.reference`.
"""

from plait.scores.colbert import (
    ColBERTScores,
    colbert_kd_scores,
    colbert_scores,
    colbert_scores_pairwise,
    maxsim,
)
from plait.scores.similarity import SimilarityFunction

__all__ = [
    "ColBERTScores",
    "SimilarityFunction",
    "colbert_kd_scores",
    "colbert_scores",
    "colbert_scores_pairwise",
    "maxsim",
]
