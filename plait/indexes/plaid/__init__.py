"""PLAID index: k-means centroids + residual codec + inverted lists + crash-safe storage."""

from plait.indexes.plaid.centroids import CentroidQuantizer
from plait.indexes.plaid.codebook import Codebook
from plait.indexes.plaid.codec import ResidualCodec
from plait.indexes.plaid.index import PLAID
from plait.indexes.plaid.ivf import InvertedLists
from plait.indexes.plaid.search import PLAIDSearchParams

__all__ = [
    "PLAID",
    "PLAIDSearchParams",
    "CentroidQuantizer",
    "ResidualCodec",
    "InvertedLists",
    "Codebook",
]
