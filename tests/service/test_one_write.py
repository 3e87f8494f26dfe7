"""``OneWriteProtocol``: uvicorn's protocol, each response reaching the socket in one write."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from toolwise.service.one_write import OneWriteProtocol

REQUEST = b"GET /x HTTP/1.1\r\nHost: test\r\n\r\n"


class RecordingTransport(asyncio.Transport):
    """A socket's transport that keeps every write it is given (a fake: no socket)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8765)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _plain(scope: Any, receive: Any, send: Any) -> None:
    """What every Starlette ``Response`` sends: the head, then the body."""
    headers = [(b"content-length", b"14"), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 202, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"accepted":1}'})


async def _streamed(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for part in (b"one", b"two"):
        await send({"type": "http.response.body", "body": part, "more_body": True})
        await asyncio.sleep(0)  # the next part comes in a later turn of the loop
    await send({"type": "http.response.body", "body": b""})


def _serve(app: Any, *requests: bytes) -> RecordingTransport:
    async def run() -> RecordingTransport:
        config = Config(app, lifespan="off", log_level="warning")
        config.load()
        protocol = OneWriteProtocol(config=config, server_state=ServerState(), app_state={})
        transport = RecordingTransport()
        protocol.connection_made(transport)
        for request in requests:
            protocol.data_received(request)
            for _ in range(20):  # let the app's task run and the joined write happen
                await asyncio.sleep(0)
        return transport

    return asyncio.run(run())


def test_a_response_is_written_once_head_and_body_together() -> None:
    transport = _serve(_plain, REQUEST)
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 202 Accepted")
    assert b"content-length: 14" in head.lower()
    assert body == b'{"accepted":1}'


def test_each_keep_alive_response_is_one_write() -> None:
    transport = _serve(_plain, REQUEST, REQUEST, REQUEST)
    assert len(transport.writes) == 3
    assert all(w.endswith(b'{"accepted":1}') for w in transport.writes)


def test_a_streamed_body_arrives_whole_and_in_order() -> None:
    """Parts sent in later turns are written then (joined only within a turn)."""
    transport = _serve(_streamed, REQUEST)
    sent = b"".join(transport.writes)
    assert sent.startswith(b"HTTP/1.1 200 OK")
    assert sent.endswith(b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n")
    assert len(transport.writes) == 3  # head with "one", then "two", then the end


def test_nothing_is_written_once_the_peer_is_gone() -> None:
    async def run() -> RecordingTransport:
        config = Config(_plain, lifespan="off", log_level="warning")
        config.load()
        protocol = OneWriteProtocol(config=config, server_state=ServerState(), app_state={})
        transport = RecordingTransport()
        protocol.connection_made(transport)
        protocol.data_received(REQUEST)
        transport.closed = True  # the client hung up before the loop's turn ended
        for _ in range(20):
            await asyncio.sleep(0)
        return transport

    assert asyncio.run(run()).writes == []


async def _large(scope: Any, receive: Any, send: Any) -> None:
    body = b"x" * 200_000
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def test_a_large_body_arrives_whole_after_its_head() -> None:
    """Past 64 KiB pending the write goes to the transport at once (so its back-pressure
    applies as before); the answer is the same bytes, in order."""
    transport = _serve(_large, REQUEST)
    assert len(transport.writes) == 1
    assert transport.writes[0].endswith(b"x" * 200_000)
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK")
