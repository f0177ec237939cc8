"""Rerank given candidates by exact MaxSim."""

from plait.rank.rank import RerankResult, rerank

__all__ = ["RerankResult", "rerank"]
