"""plait: late-interaction (ColBERT) retrieval with a PyLate-compatible API."""

__version__ = "0.1.0"
