"""Retrievers: a model and an index wired together."""

from plait.retrieve.colbert import ColBERT
from plait.retrieve.pipeline import RerankPipeline

__all__ = ["ColBERT", "RerankPipeline"]
