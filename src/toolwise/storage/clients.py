"""Building Chroma clients: embedded on disk (default), a ``chroma run`` server, or in memory."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from toolwise.errors import InvalidArgumentError, StoreUnavailableError

if TYPE_CHECKING:
    from toolwise.storage.health import StoreTimeouts

__all__ = [
    "apply_timeouts",
    "check_url",
    "close_client",
    "default_root",
    "ephemeral_client",
    "http_client",
    "import_chromadb",
    "persistent_client",
    "unchecked_overrides",
]

log = logging.getLogger("toolwise.storage")


_PATCH_LOCK = threading.Lock()


@contextmanager
def unchecked_overrides() -> Iterator[None]:
    """While it lasts, the ``overrides`` package's ``@override`` marks a method and checks
    nothing (then it is put back).

    Chroma decorates ~160 of its own methods with ``@override``, which at import time
    disassembles the calling frame and compares signatures with the base class: ~0.15 s of
    CPU of every cold start (measured: importing chromadb 0.72 s of CPU with the checks,
    0.60 s without; making an embedded client, which loads its backend, 0.075 s and 0.035 s),
    to find mistakes in Chroma's own classes that its release already ruled out. Used only
    around importing chromadb and the backend its client loads (:func:`import_chromadb`); a
    class defined elsewhere meanwhile is checked less, never built differently.
    """
    module: Any = sys.modules.get("overrides.overrides")
    if module is None:
        try:
            import overrides.overrides  # noqa: F401  (chromadb's own dependency)
        except ImportError:  # a Chroma without it: nothing to turn off
            yield
            return
        module = sys.modules["overrides.overrides"]
    package: Any = sys.modules["overrides"]
    names = ("override", "overrides")
    if not all(
        callable(getattr(owner, name, None)) for owner in (package, module) for name in names
    ):
        yield  # another version of the package: leave it alone, checks and all
        return
    with _PATCH_LOCK:
        saved = (package.override, package.overrides, module.override, module.overrides)
        package.override = package.overrides = module.override = module.overrides = _marked
        try:
            yield
        finally:
            package.override, package.overrides, module.override, module.overrides = saved


def _marked(method: Any = None, **_: Any) -> Any:
    """``@override`` without its checks: the method, marked as the package marks it (its
    ``EnforceOverrides`` metaclass looks for the mark)."""
    if method is None:  # @override(check_signature=...)
        return _marked
    with suppress(AttributeError):  # a builtin or slotted object: the package fails too
        method.__override__ = True
    return method


_EMBEDDED = ("chromadb.api.rust",)
_HTTP = ("chromadb.api.fastapi", "chromadb.telemetry.product.posthog")


def import_chromadb(*backends: str) -> Any:
    """The ``chromadb`` module, with the ``backends`` a client will load, imported under
    :func:`unchecked_overrides` the first time. Only imports run under it: a client is made
    after (an HTTP client's constructor talks to the server, which may never answer)."""
    missing = [name for name in ("chromadb", *backends) if name not in sys.modules]
    if missing:
        with unchecked_overrides():
            for name in missing:
                try:
                    importlib.import_module(name)
                except ImportError:  # a backend of another Chroma version: made unpatched
                    if name == "chromadb":
                        raise
    return sys.modules["chromadb"]


def _settings(**more: Any) -> Any:
    from chromadb.config import Settings

    # Telemetry would try the network on every start; toolwise is offline by default.
    return Settings(anonymized_telemetry=False, allow_reset=False, **more)


def default_root() -> Path:
    """``$TOOLWISE_PATH`` if set, else ``./.toolwise``: where the store and spool live."""
    return Path(os.environ.get("TOOLWISE_PATH") or ".toolwise")


def persistent_client(path: Path) -> Any:
    """An embedded Chroma storing under ``path`` (one process at a time per path).

    The path is made absolute first: Chroma caches one client per path *string* in-process, so
    ``./.toolwise`` opened again after a ``chdir`` would reach the first directory's store.
    """
    chromadb = import_chromadb(*_EMBEDDED)
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_settings())


def ephemeral_client() -> Any:
    """An in-memory Chroma, for tests and throwaway runs."""
    chromadb = import_chromadb(*_EMBEDDED)
    return chromadb.EphemeralClient(settings=_settings())


def check_url(url: str) -> tuple[str, int, bool]:
    """``(host, port, ssl)`` of a server ``url``, checked without connecting.

    Call it where the url is given: :func:`http_client` may run much later, in the writer
    thread, where a malformed url could only be retried forever.

    Raises:
        InvalidArgumentError: not ``http(s)://host[:port]``.
    """
    try:
        parsed = urlparse(url)
        port = parsed.port  # raises ValueError for a port out of range or not a number
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidArgumentError("url", url, "must look like http://host:port") from exc
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidArgumentError("url", url, "must look like http://host:port")
    ssl = parsed.scheme == "https"
    return parsed.hostname, port or (443 if ssl else 8000), ssl


def http_client(
    url: str, headers: dict[str, str] | None = None, timeouts: StoreTimeouts | None = None
) -> Any:
    """A client for a ``chroma run`` server at ``url`` (``http://host:port``).

    Chroma's client makes its first requests in its constructor, before a timeout can be set
    on it, and waits forever on a frozen server; so a heartbeat with ``timeouts`` goes first
    (a down or frozen server fails it within ``timeouts.connect``), and the client then gets
    ``timeouts`` on its HTTP session (:func:`apply_timeouts`).

    Raises:
        httpx.HTTPError: the heartbeat could not be sent (the server is down or frozen).
        StoreUnavailableError: something answered the heartbeat with an HTTP error: not a
            ``chroma run`` server (say, ``toolwise serve``'s port), or a proxy whose Chroma
            is down.
    """
    import httpx

    from toolwise.storage.health import StoreTimeouts

    timeouts = timeouts or StoreTimeouts()
    host, port, ssl = check_url(url)
    scheme = "https" if ssl else "http"
    response = httpx.get(
        f"{scheme}://{host}:{port}/api/v2/heartbeat",
        headers=headers,
        timeout=httpx.Timeout(timeouts.connect),
        verify=ssl,  # plain http: no CA bundle to load (0.1-0.3 s per client)
    )
    if response.is_error:  # else httpx.HTTPStatusError reached the caller of a read raw
        raise StoreUnavailableError(
            f"{url} answered {response.status_code} to Chroma's heartbeat "
            "(/api/v2/heartbeat): is it a `chroma run` server?"
        )
    # Plain http: no certificate to verify, so Chroma's HTTP sessions need not load a CA
    # bundle (0.1-0.3 s each, two per client: part of every cold start).
    more = {} if ssl else {"chroma_server_ssl_verify": False}
    chromadb = import_chromadb(*_HTTP)
    client = chromadb.HttpClient(
        host=host, port=port, ssl=ssl, headers=headers, settings=_settings(**more)
    )
    return apply_timeouts(client, timeouts)


def apply_timeouts(client: Any, timeouts: StoreTimeouts) -> Any:
    """Give an HTTP Chroma client socket timeouts (it has none); returns ``client``.

    toolwise's own deadlines already bound every call; these let a call that was given up on
    end too (its worker thread waits no longer than ``timeouts.max_read``). Chroma offers no
    setting, so this reaches its ``httpx.Client`` (``client._server._session``); embedded
    clients, and clients of other shapes, are returned as they are.
    """
    session = getattr(getattr(client, "_server", None), "_session", None)
    httpx = sys.modules.get("httpx")
    if httpx is None or not isinstance(session, httpx.Client):
        return client
    # max_read, not read: a busy server sends nothing until its answer is ready, and the
    # guard decides (by heartbeat) whether to wait that long.
    session.timeout = httpx.Timeout(timeouts.max_read, connect=timeouts.connect)
    return client


def close_client(client: Any) -> None:
    """Release what a Chroma client holds; never raises (a shutdown must go on).

    ``client.close()`` is Chroma's way: an embedded client's native store stops, once no
    other open client in the process shares its path, and lets go of its SQLite and index
    files (its own threads do, moments later). Chroma 1.5 leaves an HTTP client's ``httpx``
    sessions open, its own and its admin client's (each keeps a pooled socket to the
    server), so they are closed here too; nothing is sent, so a frozen server cannot hold
    this up.
    """
    try:
        client.close()
    except Exception as exc:  # a client of another shape, or already half gone
        log.debug("toolwise: closing the Chroma client failed: %s", exc)
    httpx = sys.modules.get("httpx")
    if httpx is None:  # no HTTP client was ever made
        return
    for owner in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(owner, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            with suppress(Exception):
                session.close()
