"""Fixtures of the storage tests: a real in-memory Chroma and a store on it."""

from __future__ import annotations

from typing import Any

import pytest

from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client


@pytest.fixture
def client() -> Any:
    """An in-memory Chroma client (shared state across the process: use ``prefix``)."""
    return ephemeral_client()


@pytest.fixture
def store(client: Any, prefix: str) -> ChromaOutcomeStore:
    """A Chroma outcome store of this test's own prefix."""
    return ChromaOutcomeStore(client, prefix=prefix)
