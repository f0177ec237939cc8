"""Compiled hot paths, each beside the reference implementation it is tested against."""

from plait.kernels.maxsim import (
    maxsim_scores,
    maxsim_scores_reference,
    maxsim_search,
    pack_queries,
    top_k,
)
from plait.kernels.threads import get_num_threads, set_num_threads

__all__ = [
    "get_num_threads",
    "maxsim_scores",
    "maxsim_scores_reference",
    "maxsim_search",
    "pack_queries",
    "set_num_threads",
    "top_k",
]
