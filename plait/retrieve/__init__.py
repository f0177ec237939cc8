"""Retrievers: a model and an index wired together."""

from plait.retrieve.colbert import ColBERT

__all__ = ["ColBERT"]
