"""Shared fixtures: real Chroma in every mode — in memory, on disk, and a ``chroma run`` server.

``chroma_server`` is started once per session; tests that stop and restart a server use
``own_chroma_server`` so the shared one is never disturbed; ``slow`` is an in-memory Chroma
whose queries are held until released (a busy store). Every ``Toolwise`` built here gets
a unique collection prefix, because ``EphemeralClient`` instances in one process share state.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from toolwise import Toolwise
from toolwise.models import ToolOutcome
from toolwise.storage.clients import ephemeral_client
from toolwise.storage.health import StoreTimeouts

_READY_TIMEOUT = 60.0  # generous for a loaded CI machine; ready in ≈ 1 s here

MONDAY = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday morning, UTC


class FakeClock:
    """A callable UTC clock (``clock=`` of a view or a Toolwise); tests move it by hand."""

    def __init__(self, start: datetime = MONDAY) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta = timedelta(minutes=1)) -> datetime:
        self.now += delta
        return self.now


def _chroma_executable() -> str | None:
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else shutil.which("chroma")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """A real ``chroma run`` process; ``stop()``/``start()`` keep its port and data path."""

    def __init__(self, path: Path, port: int | None = None) -> None:
        executable = _chroma_executable()
        if executable is None:
            pytest.skip("the `chroma` CLI is not installed")
        self.executable = executable
        self.path = path
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and return once its heartbeat answers."""
        if self.running:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        self._log = (self.path.parent / f"chroma-{self.port}.log").open("ab")
        self._process = subprocess.Popen(
            [
                self.executable,
                "run",
                "--path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chroma run exited early; see {self._log.name}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        log_name = self._log.name
        self.stop()  # closes the log
        raise RuntimeError(f"chroma run not ready after {_READY_TIMEOUT} s; see {log_name}")

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections, the server never answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: the server answers again, requests that waited included."""
        if self.running:
            assert self._process is not None
            self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL, mid-whatever it was doing (frozen or not); ``start()`` brings it back."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers) and wait for it to exit."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a frozen server cannot act on SIGTERM
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """One ``chroma run`` server for the whole session; do not stop it from a test."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_chroma_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A ``chroma run`` server of this test's own, free to be stopped and restarted."""
    server = ChromaServer(tmp_path / "chroma-data")
    server.start()
    yield server
    server.stop()


class SilentServer:
    """A TCP listener that accepts every connection and never answers (a hung server)."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:  # closed
                return
            self._held.append(connection)  # kept open, never read, never answered

    def close(self) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """``silent_server.url``: accepts connections, never sends a byte back."""
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def module_chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A ``chroma run`` server for one test module, free to be frozen, killed and restarted;
    each test leaves it running (and thawed) for the next."""
    server = ChromaServer(tmp_path_factory.mktemp("module-chroma") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def prefix() -> str:
    """A collection prefix no other test uses (ephemeral clients share one in-memory store)."""
    return f"t{uuid.uuid4().hex[:12]}"


def count_recall_queries(tw: Toolwise, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every recall query ``tw``'s store is asked from now on (each still runs
    against Chroma)."""
    queries: list[str] = []
    for name in ("similar", "similar_within"):  # a brief with a budget asks the second
        real = getattr(tw.store, name)

        def counted(agent_id: str, text: str, *, _real: Any = real, **kwargs: Any) -> Any:
            queries.append(text)
            return _real(agent_id, text, **kwargs)

        monkeypatch.setattr(tw.store, name, counted)
    return queries


Peers = Callable[..., Toolwise]
"""``peer(name, **settings)`` -> a Toolwise of its own on the shared server."""


@pytest.fixture
def peer(chroma_server: ChromaServer, tmp_path: Path, prefix: str) -> Iterator[Peers]:
    """``peer(name)``: a Toolwise on the shared server and prefix, with a spool of its own."""
    made: list[Toolwise] = []

    def make(name: str, **settings: Any) -> Toolwise:
        tw = Toolwise(url=chroma_server.url, spool_dir=tmp_path / name, prefix=prefix, **settings)
        made.append(tw)
        return tw

    yield make
    for tw in made:
        tw.close()


@pytest.fixture
def ephemeral_tw(tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    tw = Toolwise(client=ephemeral_client(), spool_dir=tmp_path / "spool", prefix=prefix)
    yield tw
    tw.close()


@pytest.fixture
def tw(ephemeral_tw: Toolwise) -> Toolwise:
    """A toolwise of this test's own, on an in-memory Chroma (the suite's default)."""
    return ephemeral_tw


@pytest.fixture
def records(tw: Toolwise) -> Callable[..., list[ToolOutcome]]:
    """``records(agent_id="default", **filters)``: stored calls, oldest first."""

    def read(agent_id: str = "default", **filters: object) -> list[ToolOutcome]:
        tw.flush()
        found = tw.list_calls(agent_id, limit=1_000, **filters)  # type: ignore[arg-type]
        return sorted(found, key=lambda o: (o.timestamp, o.attempt))

    return read


@pytest.fixture
def persistent_tw(tmp_path: Path) -> Iterator[Toolwise]:
    tw = Toolwise(tmp_path / "store")
    yield tw
    tw.close()


@pytest.fixture
def server_tw(chroma_server: ChromaServer, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    tw = Toolwise(url=chroma_server.url, spool_dir=tmp_path / "spool", prefix=prefix)
    yield tw
    tw.close()


@pytest.fixture
def devops_store(tmp_path: Path) -> Path:
    """An embedded store with a few deploys of agent ``devops`` (what the CLI tests read)."""
    path = tmp_path / "store"
    with Toolwise(path) as tw:
        for i in range(4):
            tw.record(
                agent_id="devops",
                tool="kubectl_deploy",
                latency_ms=1_900 + i,
                task_type="production_deploy",
                cost=0.01,
            )
        tw.record(
            agent_id="devops",
            tool="ansible_run",
            outcome="failure",
            latency_ms=45_000,
            error_type="SSHTimeout",
            error_message="timed out",
            task_type="production_deploy",
        )
    return path


@pytest.fixture(
    params=["ephemeral", "persistent", pytest.param("server", marks=pytest.mark.server)]
)
def any_tw(request: pytest.FixtureRequest) -> Toolwise:
    """The same test against each kind of Chroma: in memory, on disk, over HTTP."""
    tw: Toolwise = request.getfixturevalue(f"{request.param}_tw")
    return tw


def _all_calls(tw: Toolwise, agent_id: str = "default", **filters: Any) -> list[ToolOutcome]:
    calls: list[ToolOutcome] = []
    while True:
        page = tw.list_calls(agent_id, limit=1_000, offset=len(calls), **filters)
        calls.extend(page)
        if len(page) < 1_000:
            return calls


@pytest.fixture
def all_calls() -> Callable[..., list[ToolOutcome]]:
    """``all_calls(tw, agent_id, **filters)``: every stored call, read through the paged API."""
    return _all_calls


def _eventually(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


_CHILD_PATIENCE = 60.0  # seconds; a hung child fails the test instead of hanging the suite

InChild = Callable[[Callable[[], None]], int]


def _in_child(body: Callable[[], None]) -> int:
    """Fork; run ``body`` in the child and exit with 0 if it returned, 1 if it raised."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through its exit code
        code = 1
        try:
            body()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + _CHILD_PATIENCE
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung")


@pytest.fixture
def in_child() -> InChild:
    """``in_child(body)``: fork (POSIX only), run ``body`` in the child; its exit code, 0 when
    ``body`` returned. A child still running after a minute (hung) is killed and fails the
    test."""
    if not hasattr(os, "fork"):
        pytest.skip("fork() is POSIX-only")
    return _in_child


def _exited(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


@pytest.fixture
def exited() -> Callable[[int], bool]:
    """``exited(pid)``: the process is gone — for tests that a child leaves no orphan."""
    return _exited


@pytest.fixture
def eventually() -> Callable[..., bool]:
    """``eventually(condition, timeout=30)``: poll until true; False if it never became so.

    For what a background thread does "soon": asserts on behaviour, never on how fast.
    """
    return _eventually


class _HeldQueries:
    """A real collection whose vector queries wait while ``held`` is set."""

    def __init__(self, collection: Any, client: SlowClient) -> None:
        self._collection, self._client = collection, client

    def query(self, **kwargs: Any) -> Any:
        client = self._client
        if client.held.is_set():
            with client.lock:
                client.waiting += 1
            client.entered.set()
            client.free.wait(timeout=60)
            with client.lock:
                client.waiting -= 1
        return self._collection.query(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


class SlowClient:
    """A real Chroma client (in-memory unless ``client`` is given, say one of a ``chroma run``
    server) whose queries can be held (a busy store): ``hold()``, ``release()``; ``entered``
    is set once a held query waits, ``waiting`` counts those waiting now. Everything else,
    heartbeats too, answers as usual."""

    def __init__(self, client: Any = None) -> None:
        self._client = ephemeral_client() if client is None else client
        self.held, self.free, self.entered = threading.Event(), threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.waiting = 0

    def hold(self) -> None:
        self.free.clear()
        self.entered.clear()
        self.held.set()

    def release(self) -> None:
        self.held.clear()
        self.free.set()

    def get_collection(self, *args: Any, **kwargs: Any) -> Any:
        return _HeldQueries(self._client.get_collection(*args, **kwargs), self)

    def get_or_create_collection(self, *args: Any, **kwargs: Any) -> Any:
        return _HeldQueries(self._client.get_or_create_collection(*args, **kwargs), self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def slow() -> Iterator[SlowClient]:
    client = SlowClient()
    yield client
    client.release()  # no query stays held after the test


def _slow_toolwise(
    slow: SlowClient, tmp_path: Path, prefix: str, recall: float
) -> Iterator[Toolwise]:
    timeouts = StoreTimeouts(recall=recall, probe_interval=0.05)
    tw = Toolwise(client=slow, spool_dir=tmp_path / "spool", prefix=prefix, timeouts=timeouts)
    yield tw
    slow.release()
    tw.close(timeout=5)


@pytest.fixture
def slow_tw(slow: SlowClient, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    """A toolwise whose recall gives up after 1 s (ample for a loaded machine)."""
    yield from _slow_toolwise(slow, tmp_path, prefix, recall=1.0)


@pytest.fixture
def busy_tw(slow: SlowClient, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    """A toolwise whose recall deadline (60 s) a held query does not reach: a busy store,
    not a failed one."""
    yield from _slow_toolwise(slow, tmp_path, prefix, recall=60.0)
