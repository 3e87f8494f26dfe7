"""Closing a store lets go of what toolwise opened for it: the files of an embedded Chroma,
the sockets of a server's client. A long-lived process (a server, a test worker) opens and
closes many; one once passed 1,024 open descriptors. A client the caller gave stays theirs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import ChromaServer, InChild
from tests.storage.conftest import FAST

from toolwise import Toolwise
from toolwise.cli import main
from toolwise.errors import StoreError, StoreUnavailableError
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import ephemeral_client, persistent_client
from toolwise.storage.health import StoreTimeouts

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="reads this process's descriptors in /proc"
)


def _open_descriptors() -> list[str]:
    """What each of this process's descriptors points at (a path, ``socket:[inode]``...)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # closed meanwhile (the listing's own descriptor, say)
            continue
    return found


def _files_under(root: Path) -> list[str]:
    """The files under ``root`` this process has open."""
    return [target for target in _open_descriptors() if target.startswith(f"{root}{os.sep}")]


def _connections_to(port: int) -> int:
    """This process's TCP connections to ``port`` on this machine."""
    sockets = {
        target.removeprefix("socket:[").removesuffix("]")
        for target in _open_descriptors()
        if target.startswith("socket:[")
    }
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:  # sl local remote st ... uid timeout inode
                fields = row.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                count += remote_port == port and fields[9] in sockets
    return count


def _use(tw: Toolwise) -> None:
    tw.record(tool="deploy", outcome="success", agent_id="ops", task="deploy the api")
    assert tw.flush(timeout=30)
    tw.recommend("deploy the api", ["deploy", "rollback"], agent_id="ops")


class CountingClient:
    """A real in-memory Chroma client that counts the calls to ``close`` (and keeps
    answering: the in-memory store is shared by every such client of the process)."""

    def __init__(self) -> None:
        self._client = ephemeral_client()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_a_closed_toolwise_keeps_no_file_of_its_store_open(
    tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """Chroma's SQLite and index files (about 15 descriptors per path) are let go (by
    Chroma's own threads, moments after the close)."""
    for n in range(3):
        tw = Toolwise(tmp_path / f"store-{n}")
        _use(tw)
        assert _files_under(tmp_path / f"store-{n}" / "chroma")
        tw.close()
    assert eventually(lambda: _files_under(tmp_path) == [])


def test_a_path_opened_again_after_a_close_works_and_keeps_no_files(
    tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """Each open gets a working store on the same files; none stays open afterwards."""
    for n in range(3):
        with Toolwise(tmp_path) as tw:
            _use(tw)
            assert len(tw.list_calls("ops")) == n + 1
    assert eventually(lambda: _files_under(tmp_path / "chroma") == [])


async def test_an_async_toolwise_keeps_no_file_of_its_store_open(
    tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """``async with Toolwise(...)`` closes it (off the event loop) as ``close()`` does."""
    async with Toolwise(tmp_path) as tw:
        await tw.arecord(tool="deploy", outcome="success", agent_id="ops", task="deploy")
        assert await tw.aflush(timeout=30)
    assert eventually(lambda: _files_under(tmp_path / "chroma") == [])


def test_a_cli_command_keeps_no_file_of_the_store_open(
    tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """Each ``toolwise`` command opens the store and lets go of it when done."""
    with Toolwise(tmp_path) as tw:
        _use(tw)
    assert eventually(lambda: _files_under(tmp_path / "chroma") == [])
    assert main(["calls", "--path", str(tmp_path), "--agent", "ops"]) == 0
    assert eventually(lambda: _files_under(tmp_path / "chroma") == [])


@pytest.mark.server
def test_a_closed_toolwise_keeps_no_connection_to_its_server(
    own_chroma_server: ChromaServer, tmp_path: Path
) -> None:
    """The HTTP client's pooled sockets are closed with it."""
    port = own_chroma_server.port
    for n in range(3):
        tw = Toolwise(url=own_chroma_server.url, spool_dir=tmp_path / f"spool-{n}")
        _use(tw)
        assert _connections_to(port) > 0
        tw.close()
    assert _connections_to(port) == 0


@pytest.mark.server
def test_a_toolwise_closes_and_lets_go_while_its_server_is_frozen(
    own_chroma_server: ChromaServer, tmp_path: Path
) -> None:
    """A frozen server answers nothing: close gives up on the rest, keeps it spooled, and
    still closes its sockets (even one a write is waiting on)."""
    tw = Toolwise(url=own_chroma_server.url, spool_dir=tmp_path / "spool", timeouts=FAST)
    _use(tw)
    own_chroma_server.freeze()
    tw.record(tool="deploy", outcome="failure", agent_id="ops", task="deploy the api")
    assert not tw.close(timeout=1)
    assert _connections_to(own_chroma_server.port) == 0


def test_a_client_given_by_the_caller_stays_open(tmp_path: Path) -> None:
    """``Toolwise(client=...)``: the client is the caller's, and is never closed."""
    client = CountingClient()
    tw = Toolwise(client=client, spool_dir=tmp_path / "spool")
    _use(tw)
    tw.close()
    assert client.closed == 0
    assert client.heartbeat() > 0


def test_a_persistent_client_given_by_the_caller_keeps_working(tmp_path: Path) -> None:
    """Chroma shares one store per path in a process: toolwise's close of its own client
    on that path leaves the caller's working."""
    client = persistent_client(tmp_path / "chroma")
    with Toolwise(tmp_path) as tw:
        _use(tw)
    with Toolwise(client=client, spool_dir=tmp_path / "spool") as tw:
        assert len(tw.list_calls("ops")) == 1
    assert client.heartbeat() > 0
    client.close()


def test_an_owned_client_is_closed_once_however_often_the_store_closes() -> None:
    """Closing twice is safe; the store then says it is closed instead of failing inside
    Chroma."""
    client = CountingClient()
    store = ChromaOutcomeStore(client, prefix="closing-twice", owns_client=True)
    store.close()
    store.close()
    assert client.closed == 1
    with pytest.raises(StoreError, match="closed"):
        store.count("ops")


def test_a_connect_that_ends_after_close_is_closed_too(
    eventually: Callable[..., bool],
) -> None:
    """A server that answered only after the store gave up on it and closed: the client
    made then is closed at once (nothing else would)."""
    made: list[CountingClient] = []
    answer = threading.Event()

    def connect() -> CountingClient:
        answer.wait(timeout=60)
        made.append(CountingClient())
        return made[-1]

    timeouts = StoreTimeouts(connect=0.1, read=0.1, max_read=0.2, probe_interval=0.05)
    store = ChromaOutcomeStore(connect, prefix="late-connect", timeouts=timeouts)
    with pytest.raises(StoreUnavailableError):
        store.count("ops")
    store.close()
    answer.set()
    assert eventually(lambda: len(made) >= 1 and all(c.closed for c in made))
    assert all(c.closed == 1 for c in made)


def test_a_forked_child_closing_the_store_leaves_the_parents_client_alone(
    tmp_path: Path, in_child: InChild, eventually: Callable[..., bool]
) -> None:
    """Embedded Chroma's native core blocks forever when stopped in a forked child: the
    child's close returns, and the parent's store still answers."""
    store = ChromaOutcomeStore(persistent_client(tmp_path), prefix="forked", owns_client=True)
    assert store.count("ops") == 0  # the native client is warm when the fork happens
    assert in_child(store.close) == 0
    assert store.count("ops") == 0
    store.close()
    assert eventually(lambda: _files_under(tmp_path) == [])
