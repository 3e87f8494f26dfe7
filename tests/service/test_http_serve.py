"""``toolwise serve`` as an operator runs it: a real process, a real socket, a clean stop."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from tests.service.conftest import ServeProcess

from toolwise import Toolwise
from toolwise.storage.spool import inspect_spool


def test_a_stopped_server_has_stored_every_accepted_call(
    serve_process: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    """SIGTERM drains the spool into the store before the process exits.

    uvicorn re-raises the signal once shut down, so the exit status is SIGTERM's (systemd and
    Kubernetes count that as a clean stop)."""
    server = serve_process()
    calls = [{"tool": "kubectl_deploy", "latency_ms": i} for i in range(200)]
    response = httpx.post(f"{server.url}/v1/agents/devops/calls", json=calls, timeout=30)
    assert response.status_code == 202
    assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "draining the spool" in server.log_text
    directories, rejected = inspect_spool(tmp_path / "store" / "spool")
    assert [d.records for d in directories if d.records] == []
    assert rejected == 0
    with Toolwise(tmp_path / "store") as tw:
        assert tw.summary("devops").total_calls == 200


def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    """No key configured: ``--host 0.0.0.0`` exits 2 saying how to create one."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "toolwise.cli", "serve", "--path", str(tmp_path / "store")),
            *("--host", "0.0.0.0", "--port", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "toolwise keys create" in result.stderr
    assert not (tmp_path / "store" / "chroma").exists()  # refused before opening anything
