"""``toolwise serve`` as an operator runs it: a real process, a real socket, a clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.service.conftest import ServeProcess, serve_refused

from toolwise import Toolwise
from toolwise._write_path import REMOTE_BATCH
from toolwise.service.cli import SERVE_BATCH, write_options
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
    result = serve_refused(tmp_path / "store", "--host", "0.0.0.0", "--port", "1")
    assert result.returncode == 2
    assert "toolwise keys create" in result.stderr
    assert not (tmp_path / "store" / "chroma").exists()  # refused before opening anything


@pytest.mark.parametrize("port", ["70000", "0", "-1"])
def test_serve_refuses_a_port_it_cannot_listen_on_as_given(tmp_path: Path, port: str) -> None:
    """``--port 70000`` used to serve on port 4464 while printing 70000."""
    result = serve_refused(tmp_path / "store", "--port", port)
    assert result.returncode == 2
    assert "argument --port: expected a TCP port from 1 to 65535" in result.stderr
    assert not (tmp_path / "store" / "chroma").exists()


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--max-body-bytes", "-1", "toolwise: --max-body-bytes: Input should be greater than"),
        ("--batch-size", "0", "argument --batch-size: expected an integer >= 1"),
        ("--store-nice", "100", "argument --store-nice: expected an integer from 0 to 19"),
        ("--keep-alive", "0", "argument --keep-alive: expected whole seconds from 1 to 3600"),
        ("--keep-alive", "1.5", "argument --keep-alive: expected whole seconds from 1 to 3600"),
    ],
)
def test_serve_refuses_a_bad_number_in_one_line_before_opening_anything(
    tmp_path: Path, option: str, value: str, said: str
) -> None:
    """``--max-body-bytes -1`` printed pydantic's four-line error; ``--batch-size 0`` was
    refused only after the chroma child had started (its start-up line came first)."""
    result = serve_refused(tmp_path / "store", option, value)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert said in line
    assert not (tmp_path / "store" / "chroma").exists()


def _child_pid(server: ServeProcess) -> int | None:
    found = re.search(r"store in chroma child pid (\d+)", server.log_text)
    return int(found[1]) if found else None


_PATIENCE = 120.0  # a busy CI machine starts Chroma in seconds, not milliseconds


def _ready(server: ServeProcess) -> bool:
    try:
        return httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_serve_path_runs_its_chroma_in_a_child_and_stops_it(
    serve_process: Callable[..., ServeProcess], exited: Callable[[int], bool]
) -> None:
    """``--path`` starts a ``chroma run`` child for the directory; SIGTERM stops both."""
    server = serve_process()
    pid = _child_pid(server)
    assert pid is not None
    assert not exited(pid)
    server.stop(signal.SIGTERM)
    assert exited(pid)


def test_a_chroma_child_killed_while_serving_loses_no_accepted_call(
    serve_process: Callable[..., ServeProcess], tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """Calls accepted while the child is down wait in the spool; it is started again, and
    everything reaches the store before the server exits."""
    server = serve_process()
    pid = _child_pid(server)
    assert pid is not None
    url = f"{server.url}/v1/agents/devops/calls"
    assert httpx.post(url, json=[{"tool": "a"}] * 3, timeout=30).status_code == 202
    os.kill(pid, signal.SIGKILL)
    assert httpx.post(url, json=[{"tool": "b"}] * 4, timeout=30).status_code == 202
    assert eventually(lambda: "chroma child started again" in server.log_text, _PATIENCE), (
        "the child is restarted"
    )
    assert eventually(lambda: _ready(server), _PATIENCE), "the server is ready again"
    server.stop(signal.SIGTERM)
    with Toolwise(tmp_path / "store") as tw:
        assert tw.summary("devops").total_calls == 7


def test_a_killed_server_leaves_no_chroma_child(
    serve_process: Callable[..., ServeProcess],
    eventually: Callable[..., bool],
    exited: Callable[[int], bool],
) -> None:
    """SIGKILL gives the server no shutdown: the kernel's parent-death signal stops the child."""
    server = serve_process()
    pid = _child_pid(server)
    assert pid is not None
    server.stop(signal.SIGKILL)
    assert eventually(lambda: exited(pid), _PATIENCE), "the orphaned child exits"


def test_in_process_store_starts_no_child(
    serve_process: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    """``--in-process-store`` opens the directory's Chroma in the server process itself."""
    server = serve_process("--in-process-store")
    assert _child_pid(server) is None
    calls = [{"tool": "kubectl_deploy"}] * 2
    assert httpx.post(f"{server.url}/v1/agents/devops/calls", json=calls, timeout=30).is_success
    server.stop(signal.SIGTERM)
    with Toolwise(tmp_path / "store") as tw:
        assert tw.summary("devops").total_calls == 2


def test_serve_writes_a_server_in_batches_a_service_can_pause_for() -> None:
    """``serve`` writes to a server (or its store child) in batches of ``SERVE_BATCH``, half a
    library writer's, unless ``--batch-size`` says otherwise; in process, the runtime's own."""
    url = "http://127.0.0.1:8000"
    assert write_options(None, url) == {"batch_size": SERVE_BATCH, "url": url}
    assert write_options(300, url) == {"batch_size": 300, "url": url}
    assert write_options(None, None) == {}
    assert SERVE_BATCH < REMOTE_BATCH


def test_an_idle_keep_alive_connection_outlasts_a_client_pool(served: ServeProcess) -> None:
    """A connection idle for longer than a client pool keeps one (httpx: 5 s) is still open:
    the client closes it first, so a server close never crosses a request it has just sent
    (uvicorn's own default closed it at 5 s)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as conn:
        request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n\r\n".encode()
        conn.sendall(request)
        assert conn.recv(4096).startswith(b"HTTP/1.1 200")
        time.sleep(6)  # idle past uvicorn's 5 s
        conn.sendall(request)
        assert conn.recv(4096).startswith(b"HTTP/1.1 200")
