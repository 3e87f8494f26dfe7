"""The HTTP benchmark's load generator survives a connection the server resets: the request
is counted as dropped (an error) and the client goes on over a new connection; one the server
closed between requests (its keep-alive timeout, ``Connection: close``) is opened again
before the next request, which is answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from http_service import Connection, Run

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
LAST = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
REQUEST = ("POST", "/v1/agents/a/calls", b"{}", 1)
Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def _load_generator_against(serve: Serve) -> AsyncIterator[Connection]:
    """The load generator's connection to a throwaway server answering with ``serve``."""
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    connection = Connection("127.0.0.1", port, "token")
    await connection.open()
    try:
        yield connection
    finally:
        await connection.close()
        server.close()
        await server.wait_closed()


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

    run = Run()
    async with _load_generator_against(serve) as connection:
        for _ in range(4):
            await connection.ask(run, REQUEST, time.perf_counter())
    return run


def test_a_reset_connection_is_counted_and_the_client_goes_on() -> None:
    run = asyncio.run(_four_requests_with_the_second_reset())
    assert (run.requests, run.items) == (3, 3)
    assert (run.dropped, run.errors) == (1, 1)


async def _three_requests_each_on_a_connection_the_server_then_closes(
    answer: bytes, *, idle_until_closed: bool
) -> Run:
    """A server that answers one request per connection with ``answer`` and closes it; with
    ``idle_until_closed`` the client sends its next request only once it saw the close (idle
    past the server's keep-alive timeout, as a load generator starved of the cores is)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    run = Run()
    async with _load_generator_against(serve) as connection:
        for _ in range(3):
            await asyncio.wait_for(connection.ask(run, REQUEST, time.perf_counter()), 30)
            # The client's own view of the close is the point: no event of the server's says
            # when the client's loop has seen its FIN.
            while idle_until_closed and not _seen_closed(connection):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    return run


def _seen_closed(connection: Connection) -> bool:
    return connection.transport is not None and connection.transport.is_closing()


def test_a_connection_the_server_closed_while_idle_is_opened_again() -> None:
    """uvicorn closes a keep-alive connection idle for 5 s: the next request goes on a new
    one and is answered, not written to the closed one (which raised, ending the run)."""
    run = asyncio.run(
        _three_requests_each_on_a_connection_the_server_then_closes(OK, idle_until_closed=True)
    )
    assert (run.requests, run.items, run.errors) == (3, 3, 0)
    assert run.reopened == 2


def test_an_answer_that_says_connection_close_is_the_last_on_its_connection() -> None:
    """The next request does not race the server's close: it goes on a new connection."""
    run = asyncio.run(
        _three_requests_each_on_a_connection_the_server_then_closes(LAST, idle_until_closed=False)
    )
    assert (run.requests, run.items, run.errors, run.dropped) == (3, 3, 0, 0)
    assert run.reopened == 2
