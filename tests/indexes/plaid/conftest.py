"""Fixtures of the PLAID tests (data generators live in ``plaid_data.py``)."""

from __future__ import annotations

import pytest
from plaid_data import Corpus, clustered_corpus


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return clustered_corpus()
