"""Answer a well-formed ``POST /v1/agents/{agent}/calls`` before FastAPI routes it.

Recording one call costs ~0.2 ms of the server's CPU; FastAPI's routing, dependency
resolution and body handling around it cost more than that, and on a busy two-core machine
that overhead is the latency tail of the service's hottest request. :class:`ShortPath`
recognises the request and runs the route's own checks with the route's own functions — the
key and agent checks (:func:`~toolwise.service.auth.writable_agent`), the body schema
(``CallsBody``, parsed as FastAPI parses it), the recording helpers of
:mod:`~toolwise.service.routes_calls` — and sends the route's answer, byte for byte.

Whatever it does not fully accept falls through, untouched, to the route: no or a refused
key, another agent, a body that is chunked, large or not ``application/json``, invalid JSON,
a field the schema refuses, a big batch, a query string, an ``Authorization`` header it does
not read exactly as FastAPI's ``HTTPBearer`` would. Refusals, their error bodies and the
OpenAPI document come from one place, the route. Once the calls are being recorded, a
failure is answered by the app's own exception handlers, as it is on the route: a field the
record builder refuses (it builds each record once, as it spools it: the ``422`` the route's
handler gives), a spool that cannot be written (``503``), a bug (the catch-all's ``500``, then
raised to the server, as Starlette's error middleware does).

It sits in front of FastAPI's whole middleware stack (:func:`first`), not among the app's
middleware: the layers FastAPI puts around every request (its error and telemetry
middleware, its body limit) and a ``Request`` with FastAPI's bearer dependency cost about
as much CPU as recording the call (measured in process: ~25 µs of ~130 µs per request).
"""

from __future__ import annotations

import inspect
import json
import re
from collections import deque
from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toolwise.service.auth import writable_agent
from toolwise.service.routes_calls import (
    accepted_response,
    fields_of,
    is_small,
    store_calls,
)
from toolwise.service.schemas import CallIn, CallsBody
from toolwise.service.state import ServiceState

__all__ = ["ShortPath", "first"]

_PATH = re.compile(r"/v1/agents/([^/]+)/calls")  # the route's path, as Starlette matches it
# A few calls are a few KiB; larger bodies are big batches, recorded in a worker thread by
# the route (parsing them here too would only be repeated there).
_MAX_BODY = 64 * 1_024

_CALLS: TypeAdapter[CallIn | list[CallIn]] = TypeAdapter(CallsBody)


class ShortPath:
    """An ASGI middleware in front of the app; ``state`` is the app's service state."""

    def __init__(self, app: ASGIApp, *, state: ServiceState) -> None:
        self.app = app
        self.state = state
        self._limit = min(state.config.max_body_bytes, _MAX_BODY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        candidate = _candidate(scope, self._limit)
        if candidate is None:
            await self.app(scope, receive, send)
            return
        agent, length, token = candidate
        messages, body = await _read(receive, length)
        replay = _replaying(messages, receive)
        if body is None:
            await self.app(scope, replay, send)
            return
        try:
            agent_id = writable_agent(self.state.keys, agent, token)
            calls = _CALLS.validate_python(json.loads(body), from_attributes=True)
            if not is_small(calls):
                await self.app(scope, replay, send)
                return
            fields = fields_of(self.state, agent_id, calls)
        except Exception:  # not accepted (nothing was written): the route answers why
            await self.app(scope, replay, send)
            return
        try:
            response = accepted_response(store_calls(self.state, fields))
        except Exception as exc:
            request = Request(scope, replay)
            answer = _handled(scope, request, exc)
            await (await answer if inspect.isawaitable(answer) else answer)(scope, replay, send)
            if _is_bug(scope, exc):
                raise  # logged by the handler; the server logs it too, as for the route
            return
        self.state.short_path_requests += 1
        await response(scope, replay, send)


def first(app: FastAPI, state: ServiceState) -> None:
    """Put :class:`ShortPath` in front of ``app``'s whole middleware stack.

    Starlette builds the stack on the first request (``build_middleware_stack``); the short
    path wraps what it builds, so FastAPI's own layers still see every request it leaves.
    """
    build = app.build_middleware_stack

    def stack() -> ASGIApp:
        return ShortPath(build(), state=state)

    app.build_middleware_stack = stack  # type: ignore[method-assign]


def _candidate(scope: Scope, limit: int) -> tuple[str, int, str | None] | None:
    """The path's agent segment, the declared body length and the bearer key (``None``: no
    ``Authorization`` header), if the request may be short."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    if scope.get("root_path") or scope.get("query_string"):
        return None
    match = _PATH.fullmatch(scope["path"])
    if match is None:
        return None
    length: bytes | None = None
    content_type: bytes | None = None
    authorization: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            if length is not None:
                return None
            length = value
        elif name == b"content-type":
            if content_type is not None:
                return None
            content_type = value
        elif name == b"authorization":
            if authorization is not None:
                return None
            authorization = value
        elif name == b"transfer-encoding":
            return None
    if content_type != b"application/json" or length is None or not length.isdigit():
        return None
    token: str | None = None
    if authorization is not None:
        # Only what HTTPBearer reads as exactly this key: "Bearer", one space, the key.
        scheme, _, key = authorization.partition(b" ")
        if scheme != b"Bearer" or not key or key != key.strip() or b" " in key:
            return None
        token = key.decode("latin-1")
    size = int(length)
    return (match[1], size, token) if 0 < size <= limit else None


async def _read(receive: Receive, length: int) -> tuple[list[Message], bytes | None]:
    """Every message received, and the body (``None`` if it is not exactly ``length``)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > length:
            return messages, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks) if size == length else None


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that first hands out what was already read, so the route sees it all."""
    pending = deque(messages)

    async def replay() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replay


def _handled(scope: Scope, request: Request, exc: Exception) -> Any:
    """The app's own handler's answer to ``exc`` (the catch-all's for a bug)."""
    handlers = scope["app"].exception_handlers
    for kind in type(exc).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            return handler(request, exc)
    msg = "the app has no handler for Exception"  # install_error_handlers registers one
    raise RuntimeError(msg) from exc


def _is_bug(scope: Scope, exc: Exception) -> bool:
    """Whether only the catch-all handles ``exc`` (no handler for anything more specific)."""
    handlers = scope["app"].exception_handlers
    return not any(kind in handlers for kind in type(exc).__mro__ if kind is not Exception)
