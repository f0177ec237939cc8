"""MaxSim (ColBERT) scoring: padded batches in torch, ragged documents in numpy.

Reference loop implementations live in :mod:`plait.scores.reference`.
"""

from plait.scores.colbert import colbert_kd_scores, colbert_scores, colbert_scores_pairwise, maxsim

__all__ = ["colbert_kd_scores", "colbert_scores", "colbert_scores_pairwise", "maxsim"]
