"""Server fixtures: small exact indexes with known embeddings and TestClients over them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_helpers import random_documents

from plait.indexes import Exact
from plait.server import Limits, create_app


@pytest.fixture
def disk_index(tmp_path: Path) -> Exact:
    index = Exact(index_folder=tmp_path, index_name="served")
    ids, docs = random_documents(20)
    index.add_documents(ids, docs)
    return index


@pytest.fixture
def client(disk_index: Exact) -> Iterator[TestClient]:
    """Embeddings-only server over a 20-document on-disk exact index (lifespan run: lock held)."""
    with TestClient(
        create_app(disk_index, limits=Limits(max_k=50, max_texts=8, max_chars=200))
    ) as c:
        yield c


@pytest.fixture
def text_client(tiny_model, tmp_path: Path) -> Iterator[TestClient]:
    """Server with the tiny model over an empty on-disk exact index."""
    index = Exact(index_folder=tmp_path, index_name="texts")
    with TestClient(create_app(index, tiny_model, limits=Limits(max_texts=8, max_chars=200))) as c:
        yield c
