"""Fixtures of the storage tests: a real in-memory Chroma and a store on it, and a real
``chroma run`` server that outage tests freeze, kill and restart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from toolwise import Toolwise
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.health import StoreTimeouts

# Small, so a frozen server is noticed quickly; generous enough that a healthy server on a
# loaded 2-core machine (load 8 measured while other suites ran) is never taken for a frozen one.
FAST = StoreTimeouts(connect=1.0, read=5.0, recall=2.0, probe_interval=0.1)


@pytest.fixture
def client() -> Any:
    """An in-memory Chroma client (shared state across the process: use ``prefix``)."""
    return ephemeral_client()


@pytest.fixture
def store(client: Any, prefix: str) -> ChromaOutcomeStore:
    """A Chroma outcome store of this test's own prefix."""
    return ChromaOutcomeStore(client, prefix=prefix)


@pytest.fixture
def server(module_chroma_server: Any) -> Any:
    """This module's server: frozen, killed and restarted by its tests."""
    return module_chroma_server


@pytest.fixture
def outage_tw(server: Any, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    """A Toolwise on ``server`` with short timeouts; the server is up again afterwards."""
    tw = Toolwise(
        url=server.url,
        spool_dir=tmp_path / "spool",
        prefix=prefix,
        timeouts=FAST,
        max_backoff=0.2,
    )
    yield tw
    server.thaw()
    if not server.running:
        server.start()
    tw.close(timeout=5)
