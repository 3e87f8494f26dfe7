"""Liveness and readiness: ``/readyz`` answers within its timeout even when the store hangs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import ChromaServer

from toolwise import Toolwise
from toolwise.service import ToolwiseBackend, create_app
from toolwise.service.adapter import _StoreProbe


def test_healthz_says_the_process_is_up(client: TestClient) -> None:
    """``/healthz`` is 200 whenever the process serves."""
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_ready_with_a_reachable_store(client: TestClient) -> None:
    """``/readyz`` is 200 and reports the store reachable."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["ready"] is True
    assert response.json()["store"] == "reachable"


@pytest.mark.server
def test_readyz_is_503_when_the_store_is_down(
    own_chroma_server: ChromaServer, tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """With the ``chroma run`` server stopped, ``/readyz`` is 503 and says why; recording
    still answers 202 (the call waits in the spool)."""
    tw = Toolwise(url=own_chroma_server.url, spool_dir=tmp_path / "spool", max_backoff=0.1)
    try:
        with TestClient(create_app(ToolwiseBackend(tw.runtime, probe_timeout=20.0))) as http:
            assert http.get("/readyz").status_code == 200
            own_chroma_server.stop()
            assert eventually(lambda: http.get("/readyz").status_code == 503)
            response = http.get("/readyz")
            assert response.json()["ready"] is False
            assert response.json()["detail"]
            assert http.post("/v1/agents/devops/calls", json={"tool": "t"}).status_code == 202
    finally:
        tw.close(timeout=0.5)


def test_a_probe_that_hangs_answers_not_reachable_within_its_timeout() -> None:
    """A store call that never returns (a frozen server) cannot hang readiness: the probe
    gives up after its timeout, and does not start a second stuck call while one waits."""
    release = threading.Event()
    calls: list[int] = []

    def frozen() -> None:
        calls.append(1)
        release.wait()

    probe = _StoreProbe(frozen, timeout=0.2)
    try:
        first = probe.check()
        second = probe.check()
        assert first == (False, "the store did not answer within 0.2 s")
        assert second[0] is False
        assert "has not returned" in second[1]
        assert len(calls) == 1
    finally:
        release.set()


def test_reads_of_an_unreachable_store_are_a_503(tmp_path: Path) -> None:
    """A read that needs a store that refuses connections answers 503, never 500."""
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    tw = Toolwise(url=url, spool_dir=tmp_path / "spool", max_backoff=0.1)
    try:
        with TestClient(create_app(ToolwiseBackend(tw.runtime, probe_timeout=5.0))) as http:
            response = http.get("/v1/agents/devops/calls")
            assert response.status_code == 503
            assert response.json()["error"] == "store_unavailable"
            assert response.headers["retry-after"]
    finally:
        tw.close(timeout=0.5)
