"""Building Chroma clients: embedded on disk (default), a ``chroma run`` server, or in memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from toolwise.errors import InvalidArgumentError

__all__ = ["check_url", "default_root", "ephemeral_client", "http_client", "persistent_client"]


def _settings() -> Any:
    from chromadb.config import Settings

    # Telemetry would try the network on every start; toolwise is offline by default.
    return Settings(anonymized_telemetry=False, allow_reset=False)


def default_root() -> Path:
    """``$TOOLWISE_PATH`` if set, else ``./.toolwise``: where the store and spool live."""
    return Path(os.environ.get("TOOLWISE_PATH") or ".toolwise")


def persistent_client(path: Path) -> Any:
    """An embedded Chroma storing under ``path`` (one process at a time per path)."""
    import chromadb

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=_settings())


def ephemeral_client() -> Any:
    """An in-memory Chroma, for tests and throwaway runs."""
    import chromadb

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


def http_client(url: str, headers: dict[str, str] | None = None) -> Any:
    """A client for a ``chroma run`` server at ``url`` (``http://host:port``)."""
    import chromadb

    host, port, ssl = check_url(url)
    return chromadb.HttpClient(host=host, port=port, ssl=ssl, headers=headers, settings=_settings())
