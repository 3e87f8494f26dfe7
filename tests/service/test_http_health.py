"""Liveness and readiness: ``/readyz`` reports the store's circuit breaker, and answers within
its timeout even when the store hangs."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.conftest import ChromaServer, SlowClient

from toolwise import Toolwise
from toolwise.errors import StoreUnavailableError
from toolwise.models import ToolOutcome
from toolwise.service import ToolwiseBackend, create_app
from toolwise.service.adapter import _BoundedCheck
from toolwise.storage.health import StoreTimeouts

# A frozen server is given up on after `read` (then a heartbeat within `connect`); generous
# enough that a healthy server on a loaded 2-core machine is never taken for a frozen one.
FAST = StoreTimeouts(connect=1.0, read=5.0, recall=2.0, probe_interval=0.1)


def test_healthz_says_the_process_is_up(client: TestClient) -> None:
    """``/healthz`` is 200 whenever the process serves."""
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_ready_with_a_reachable_store(client: TestClient) -> None:
    """``/readyz`` is 200 and reports the store reachable."""
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert (body["ready"], body["store"], body["breaker"]) == (True, "reachable", "closed")
    assert body["breaker_since"]
    assert body["seconds_since_failure"] is None


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
            assert response.json()["breaker"] == "open"
            assert response.json()["detail"]
            assert http.post("/v1/agents/devops/calls", json={"tool": "t"}).status_code == 202
    finally:
        tw.close(timeout=0.5)


@pytest.mark.server
def test_readyz_follows_the_breaker_of_a_frozen_server_and_recovers(
    own_chroma_server: ChromaServer, tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """A ``chroma run`` server frozen with SIGSTOP: ``/readyz`` answers (503, unhealthy)
    although the store never does; its own question opens the runtime's breaker, after which
    the answer comes from the breaker (state, how long since the last failure) without a
    store call; after SIGCONT it is ready again."""
    tw = Toolwise(url=own_chroma_server.url, spool_dir=tmp_path / "spool", timeouts=FAST)
    try:
        with TestClient(create_app(ToolwiseBackend(tw.runtime, probe_timeout=2.0))) as http:
            assert eventually(lambda: http.get("/readyz").status_code == 200)
            own_chroma_server.freeze()
            # The last good answer is reused for a second; then the check times out.
            assert eventually(lambda: http.get("/readyz").status_code == 503)
            assert http.get("/readyz").json()["store"] == "unreachable"
            assert eventually(lambda: http.get("/readyz").json()["breaker"] == "open")
            opened = http.get("/readyz")
            assert opened.status_code == 503
            body = opened.json()
            assert body["ready"] is False
            assert body["seconds_since_failure"] >= 0
            assert "circuit breaker is open" in body["detail"]
            assert not tw.store.health.healthy  # type: ignore[attr-defined]  # the runtime's own
            own_chroma_server.thaw()
            assert eventually(lambda: http.get("/readyz").status_code == 200)
            assert http.get("/readyz").json()["breaker"] == "closed"
    finally:
        own_chroma_server.thaw()
        tw.close(timeout=0.5)


def test_readyz_counts_slow_store_calls_and_stays_ready(
    slow: SlowClient, slow_tw: Toolwise, eventually: Callable[..., bool]
) -> None:
    """A recall query held past its deadline on a store that answers heartbeats: busy, not
    down — ``/readyz`` stays 200 with the breaker closed and counts the slow call."""
    tw = slow_tw
    tw.store.write([ToolOutcome(tool="deploy", outcome="failure", error_type="Timeout")])
    with TestClient(create_app(ToolwiseBackend(tw.runtime, probe_timeout=20.0))) as http:
        assert http.get("/readyz").json()["slow_calls"] == 0
        slow.hold()
        with pytest.raises(StoreUnavailableError):
            tw.store.similar("default", "deploy timed out", k=3, now=datetime.now(UTC))
        assert eventually(lambda: http.get("/readyz").json()["slow_calls"] == 1)
        response = http.get("/readyz")
        assert response.status_code == 200
        assert response.json()["breaker"] == "closed"


def test_a_probe_that_hangs_answers_not_reachable_within_its_timeout() -> None:
    """A store call that never returns (a frozen server) cannot hang readiness: the probe
    gives up after its timeout, and does not start a second stuck call while one waits."""
    release = threading.Event()
    calls: list[int] = []

    def frozen() -> None:
        calls.append(1)
        release.wait()

    probe = _BoundedCheck(frozen, timeout=0.2)
    try:
        first = probe.check()
        second = probe.check()
        assert first == (False, "the store did not answer within 0.2 s")
        assert second[0] is False
        assert "has not answered a check" in second[1]
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
