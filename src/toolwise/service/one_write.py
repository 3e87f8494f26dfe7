"""Send each HTTP response in one write to the socket, not one for the head and one per body.

uvicorn writes a response's status line and headers as soon as the app sends
``http.response.start``, and the body as a second write when it sends ``http.response.body``
— two ``send`` system calls on the server, and on loopback (or any connection where the
client is waiting) two segments the client wakes up for. :class:`OneWriteProtocol` is
uvicorn's own httptools protocol with its transport wrapped so that writes made in one turn
of the event loop are joined and written once at the end of it (``call_soon``): a small
response — every ``POST calls`` answer — costs one system call. Nothing waits longer than
that turn, flow control is the real transport's (what is pending is written at once past
64 KiB, so a large or streamed body meets the transport's back-pressure as before), and
closing writes what is pending first.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWriteProtocol"]

_WRITE_AT = 64 * 1_024  # pending bytes written without waiting for the end of the turn


class _JoinedWrites:
    """A transport whose writes in one loop turn reach the real transport as one write."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))
        self._size += len(data)
        if self._size >= _WRITE_AT:
            self.flush()

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Write what is pending now (a no-op when nothing is, or the peer is gone)."""
        pending, self._pending, self._size = self._pending, [], 0
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending, self._size = [], 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # everything else is the real transport's
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing each response once (``uvicorn.Config(http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        joined = _JoinedWrites(transport, self.loop)
        super().connection_made(joined)  # type: ignore[arg-type]
