"""One Chroma client under a guard: connected on first use, bounded, health-checked, fork-aware."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from toolwise.errors import StoreError
from toolwise.storage.clients import apply_timeouts, close_client, import_chromadb
from toolwise.storage.guard import GuardedClient, StoreGuard
from toolwise.storage.health import StoreHealth, StoreTimeouts

__all__ = ["ChromaConnection", "is_remote"]


class ChromaConnection:
    """A Chroma client whose every round trip goes through a :class:`StoreGuard`.

    Args:
        client: a Chroma client, or a zero-argument factory for one, called on first use and
            again (by the health probe) after a failure, so a server that is down when the app
            starts does not stop it.
        timeouts: the guard's deadlines; an HTTP client also gets them as socket timeouts.
        owns_client: :meth:`close` closes a given client too. Every client the factory makes
            is closed; any other is the caller's, who may still be using it.

    Thread-safe.
    """

    def __init__(self, client: Any, timeouts: StoreTimeouts, *, owns_client: bool = False) -> None:
        self.timeouts = timeouts
        # The clients close() closes, made (or given to own) in process _owner. Its lock is
        # never held across a call to Chroma: a connect hung on a frozen server holds _lock.
        self._owned: list[Any] = [client] if owns_client and not callable(client) else []
        self._owner = os.getpid()
        self._closed = False
        self._owned_lock = threading.Lock()
        self.guard = StoreGuard(timeouts, probe=self._probe)
        self._factory: Callable[[], Any] | None = client if callable(client) else None
        self._client: GuardedClient | None = None
        self._lock = threading.Lock()
        self.max_batch = 1_000  # rows per Chroma call; read from the client once connected
        if not callable(client):
            self._client = GuardedClient(apply_timeouts(client, timeouts), self.guard)
            self.max_batch = _read_max_batch(client)
        self._unusable = ""  # why this process cannot use the client (set after a fork)

    @property
    def health(self) -> StoreHealth:
        return self.guard.health

    @property
    def client(self) -> GuardedClient:
        """The client; connects on first use.

        Raises:
            StoreUnavailableError: the store is unhealthy, or connecting failed.
            StoreError: this process cannot use the store (see :meth:`after_fork`).
        """
        if self._unusable:
            raise StoreError(self._unusable)
        client = self._client
        if client is None:
            client = self._connect(self.guard.call)
        return client

    def _connect(self, run: Callable[[Callable[[], Any]], Any]) -> GuardedClient:
        """Make the client with the factory (through ``run``), one caller at a time."""
        with self._lock:
            if self._client is None:
                assert self._factory is not None
                # Imported before the deadline starts: a first import takes seconds on a busy
                # machine (9 s measured at load 8), which is not the server being slow.
                import_chromadb()

                made, self.max_batch = run(self._make)  # raises while the server is down
                self._client = GuardedClient(made, self.guard)
            return self._client

    def _make(self) -> tuple[Any, int]:
        assert self._factory is not None
        made = apply_timeouts(self._factory(), self.timeouts)
        with self._owned_lock:
            closed = self._closed
            if not closed:
                self._owned.append(made)
        if closed:  # a connect given up on, that ended after close(): nobody else closes it
            close_client(made)
            raise StoreError("the outcome store was closed")
        return made, _read_max_batch(made)

    def _probe(self) -> None:
        """One health check (run by the guard, bounded): connect, or a heartbeat."""
        client = self._client
        if client is None:
            self._connect(lambda call: call())
        else:
            client.unguarded.heartbeat()

    def after_fork(self) -> bool:
        """In a forked child: fresh locks and workers, and whether this process can use the
        store at all. A server's HTTP client can (a factory makes a new one on first use);
        embedded Chroma cannot — its native core hangs in a forked child — so every call then
        raises :class:`~toolwise.errors.StoreError` at once instead of hanging the agent."""
        self._lock = threading.Lock()
        self._owned_lock = threading.Lock()
        self._owned, self._owner = [], os.getpid()  # the parent's clients are the parent's
        self.guard.after_fork()
        client = self._client
        remote = client is not None and is_remote(client.unguarded)
        if self._factory is not None and (client is None or remote):
            self._client = None  # made again on first use, in this process
            return True
        if remote:
            return True
        self._unusable = (
            "embedded Chroma cannot be used in a process forked after it was opened; "
            "create the Toolwise after the fork (e.g. in a worker start-up hook) or use "
            "Toolwise(url=...) with a `chroma run` server"
        )
        return False

    def close(self) -> None:
        """Stop the guard, and close every client this process made for the connection (or
        was given to own); safe to call again. An embedded client holds its SQLite and index
        files until closed (about 15 descriptors per path: a process opening stores one after
        another ran out of them). Afterwards the connection raises
        :class:`~toolwise.errors.StoreError` if it closed its client.

        Never in a forked child that did not make the client: stopping embedded Chroma's
        native core waits for its worker threads, which were the parent's and do not exist in
        the child, forever (seen: a futex wait under Chroma's ``del self.bindings``). The
        child's copies of the descriptors end with the child.
        """
        self.guard.close()
        with self._owned_lock:
            owned, self._owned = self._owned, []
            self._closed = True
            if owned and not self._unusable:
                self._unusable = "the outcome store was closed"
        if os.getpid() != self._owner:  # forked without after_fork(): the parent's clients
            return
        for client in owned:
            close_client(client)


def _read_max_batch(client: Any) -> int:
    try:
        return max(1, min(int(client.get_max_batch_size()), 5_000))
    except Exception:  # older clients, or a server that went away again
        return 1_000


def is_remote(client: Any) -> bool:
    """True for a client that talks HTTP to a server (usable from a forked child)."""
    try:
        return str(client.get_settings().chroma_api_impl).endswith("FastAPI")
    except Exception:  # not a chromadb client we know: assume it is not fork-safe
        return False
