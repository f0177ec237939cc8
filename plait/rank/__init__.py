"""Rerank given candidates by exact MaxSim."""

from plait.rank.rank import rerank

__all__ = ["rerank"]
