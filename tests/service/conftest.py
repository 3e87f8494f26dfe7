"""Fixtures for the HTTP service: the app over a real toolwise (in-memory Chroma), keys, and a
real ``toolwise serve`` process for the tests that need a socket (Node, the browser).

Helpers are handed out as fixtures (not imported) so the tests need no package layout.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from fastapi.testclient import TestClient

from toolwise import Toolwise
from toolwise.service import KeyRing, ToolwiseBackend, create_app
from toolwise.service.state import ServiceConfig

_READY_TIMEOUT = 60.0


@pytest.fixture
def backend(tw: Toolwise) -> ToolwiseBackend:
    # A loaded CI machine can take seconds to answer the readiness probe of a healthy store;
    # the tests of an unresponsive store give their own short timeout.
    return ToolwiseBackend(tw.runtime, probe_timeout=30.0)


# Briefs wait for the store's recall, so a test's first brief shows it on a loaded machine
# too; the server's recall budget has its own tests (test_http_recall_budget.py).
WAITING = ServiceConfig(recall_budget=None)


@pytest.fixture
def client(backend: ToolwiseBackend) -> Iterator[TestClient]:
    """The app without keys (as on loopback), over this test's own toolwise."""
    with TestClient(create_app(backend, config=WAITING)) as http:
        yield http


@pytest.fixture
def key_ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path / "keys.json")


@pytest.fixture
def secured(backend: ToolwiseBackend, key_ring: KeyRing) -> Iterator[TestClient]:
    """The app with API keys required (create them with ``key_ring``)."""
    key_ring.create(admin=True, label="makes the ring non-empty")
    with TestClient(create_app(backend, keys=key_ring, config=WAITING)) as http:
        yield http


@pytest.fixture
def bearer() -> Callable[[str], dict[str, str]]:
    """``bearer(token)``: the header that presents a key."""
    return lambda token: {"Authorization": f"Bearer {token}"}


@pytest.fixture
def record_calls(client: TestClient) -> Callable[..., list[str]]:
    """``record_calls(agent, *calls)``: POST them as one batch; the ids."""

    def post(agent: str, *calls: dict[str, Any]) -> list[str]:
        response = client.post(f"/v1/agents/{agent}/calls", json=list(calls))
        assert response.status_code == 202, response.text
        ids: list[str] = response.json()["ids"]
        return ids

    return post


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_refused(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``toolwise serve --path store *args`` run to its end, for arguments it must refuse
    (it exits before serving anything)."""
    return subprocess.run(
        [sys.executable, "-m", "toolwise.cli", "serve", "--path", str(store), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class ServeProcess:
    """A real ``toolwise serve`` process on a free loopback port."""

    def __init__(self, path: Path, *extra: str) -> None:
        self.path = path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def log_text(self) -> str:
        log = self.path.parent / f"serve-{self.port}.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def start(self) -> None:
        self._log = (self.path.parent / f"serve-{self.port}.log").open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "toolwise.cli", "serve", "--path", str(self.path)),
                *("--port", str(self.port), "--log-level", "info", *self._extra),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"toolwise serve exited early:\n{self.log_text}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"toolwise serve not ready:\n{self.log_text}")

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the server and wait for it to exit; its exit code."""
        process, self.process = self.process, None
        code = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(sig)
                try:
                    code = process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            else:
                code = process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code


class ServedWithKeys(ServeProcess):
    """A ``toolwise serve`` that requires keys: ``admin`` for all, ``devops`` and
    ``node_agent`` for one agent each."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        ring = KeyRing(path / "keys.json")
        self.admin = ring.create(admin=True, label="tests")[1]
        self.devops = ring.create(["devops"], label="tests")[1]
        self.node_agent = ring.create(["node-agent"], label="tests")[1]


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedWithKeys]:
    """One ``toolwise serve`` process for the session, on its own embedded store, with keys
    (starting one costs seconds: tests share it, each on agents of its own)."""
    server = ServedWithKeys(tmp_path_factory.mktemp("serve") / "store")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """``serve_process(*extra_args)``: a server of this test's own, stopped at the end."""
    started: list[ServeProcess] = []

    def start(*extra: str, path: Path | None = None) -> ServeProcess:
        server = ServeProcess(path or tmp_path / "store", *extra)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
