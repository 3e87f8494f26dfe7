"""Every failure becomes a small JSON answer with a stable code; never a stack trace.

| raised                                  | status | ``error``            |
| --------------------------------------- | ------ | -------------------- |
| request validation, ``InvalidArgument`` | 422    | ``invalid_argument`` |
| no or unknown key                       | 401    | ``unauthorized``     |
| read-only key writing                   | 403    | ``forbidden``        |
| another agent's resource, unknown id    | 404    | ``not_found``        |
| body above the limit                    | 413    | ``body_too_large``   |
| ``StoreError`` / ``SpoolError``         | 503    | ``store_unavailable``|
| anything else (a bug)                   | 500    | ``internal``         |
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from toolwise.errors import InvalidArgumentError, SpoolError, StoreError
from toolwise.service.schemas import ErrorBody

__all__ = [
    "ERROR_RESPONSES",
    "ApiError",
    "error_response",
    "field_of",
    "install_error_handlers",
]

log = logging.getLogger("toolwise.service")

_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")
# Pydantic puts the union branch it tried into an error's location ("bool", "float", the
# discriminator's tags "one"/"batch", class names): not fields the caller wrote.
_BRANCHES = frozenset({"bool", "float", "int", "str", "none", "list", "dict", "one", "batch"})
_LOCATIONS = frozenset({"body", "query", "path", "header"})
_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "No API key, or an unknown or revoked one"),
        (403, "A read-only key asked to write"),
        (404, "Not found (also another agent's resource)"),
        (413, "The request body is above the server's limit"),
        (422, "Invalid input; `field` names it"),
        (503, "The store or the spool is unavailable; retry later"),
    )
}
"""The error answers every ``/v1`` operation documents (all shaped as :class:`ErrorBody`)."""


class ApiError(Exception):
    """An answer decided by the service itself (auth, not found, refusals)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        field: str | None = None,
        location: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.field, self.location, self.headers = field, location, headers


def error_response(
    status: int,
    error: str,
    message: str,
    *,
    field: str | None = None,
    location: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody.model_validate(
        {"error": error, "message": message, "field": field, "location": location}
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True), status_code=status, headers=headers
    )


_MAX_FIELD_PARTS = 8  # a 500-deep tool_input named tool_input[0][0]… over 770 characters


def field_of(loc: Sequence[Any]) -> str:
    """``("body", "batch", 2, "latency_ms")`` → ``[2].latency_ms``; branch names dropped;
    a path deeper than eight parts is cut with ``…``."""
    text = ""
    parts = 0
    for part in loc:
        if parts == _MAX_FIELD_PARTS:
            return text + "…"
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and _FIELD.match(part) and part not in _BRANCHES:
            text += f".{part}" if text else part
        else:
            continue
        parts += 1
    return text


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's 405 names only the first
    route's, though ``GET``, ``POST`` and ``DELETE`` of one path are three routes)."""
    path = request.url.path
    methods: set[str] = set()
    for route in request.app.router.routes:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(path):
            methods.update(route_methods)
    return sorted(methods)


def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    if not errors:
        return error_response(422, "invalid_argument", "the request is invalid")
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    location = loc[0] if loc and loc[0] in _LOCATIONS else None
    field = field_of(loc[1:] if location else loc) or (location or "request")
    message = str(first.get("msg", "is invalid"))
    content_type = request.headers.get("content-type", "")
    if first.get("type") == "json_invalid":
        field, message = "body", "is not valid JSON"
    elif first.get("type") == "missing" and field == "body" and location == "body":
        message = "a JSON body is required"
    elif field == "body" and location == "body" and not _is_json(content_type):
        # FastAPI reads a body as JSON only when it says so: `curl -d '{…}'` sends it as a
        # form, and pydantic's "Input should be a valid dictionary" hid why.
        shown = content_type.split(";", maxsplit=1)[0].strip() or "none"
        message = f"must be sent as JSON, with Content-Type: application/json (got {shown})"
    return error_response(
        422, "invalid_argument", f"{field}: {message}", field=field, location=location
    )


def _is_json(content_type: str) -> bool:
    """``application/json`` or a ``+json`` type, as FastAPI decides whether to parse."""
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every exception to its JSON answer (see the module's table)."""

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation(request, exc)

    @app.exception_handler(InvalidArgumentError)
    async def _invalid(_request: Request, exc: InvalidArgumentError) -> JSONResponse:
        location = getattr(exc, "location", None)
        return error_response(422, "invalid_argument", str(exc), field=exc.field, location=location)

    @app.exception_handler(ApiError)
    async def _api(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(
            exc.status,
            exc.error,
            exc.message,
            field=exc.field,
            location=exc.location,
            headers=exc.headers,
        )

    @app.exception_handler(StoreError)
    @app.exception_handler(SpoolError)
    async def _store(_request: Request, exc: Exception) -> JSONResponse:
        log.warning("toolwise service: store unavailable: %s", exc)
        return error_response(
            503,
            "store_unavailable",
            "the store is unavailable; retry later (recorded calls wait in the spool)"
            if isinstance(exc, StoreError)
            else "the spool cannot be written: the call was not recorded",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body": not UTF-8, not JSON
            return error_response(
                422, "invalid_argument", "body: is not valid JSON", field="body", location="body"
            )
        code = _CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # The path and the query's parameter names, not their values: a session id or a
        # task type asked about may hold a secret, and logs outlive the request.
        names = ",".join(dict.fromkeys(request.query_params.keys()))
        asked = f"{request.url.path}?{names}" if names else request.url.path
        log.exception("toolwise service: unexpected error on %s %s", request.method, asked)
        return error_response(500, "internal", "an internal error occurred; it was logged")
