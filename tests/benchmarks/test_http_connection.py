"""The HTTP benchmark's load generator survives a connection the server resets: the request
is counted as dropped (an error) and the client goes on over a new connection."""

from __future__ import annotations

import asyncio
import time

from http_service import Connection, Run

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


async def _four_requests_with_the_second_reset() -> Run:
    answered = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        while not reader.at_eof():
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            answered += 1
            if answered == 2:
                writer.transport.abort()  # a reset, as a server under load may send
                return
            writer.write(OK)
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = Connection("127.0.0.1", port, "token")
    await connection.open()
    run = Run()
    for _ in range(4):
        await connection.ask(run, ("POST", "/v1/agents/a/calls", b"{}", 1), time.perf_counter())
    await connection.close()
    server.close()
    await server.wait_closed()
    return run


def test_a_reset_connection_is_counted_and_the_client_goes_on() -> None:
    run = asyncio.run(_four_requests_with_the_second_reset())
    assert (run.requests, run.items) == (3, 3)
    assert (run.dropped, run.errors) == (1, 1)
