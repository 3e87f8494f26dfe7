"""Builds the FastAPI app over a :class:`~toolwise.service.backend.ServiceBackend`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI

from toolwise.service import dashboard, routes_calls, routes_health, routes_learning, short_path
from toolwise.service.backend import ServiceBackend
from toolwise.service.decisions import DecisionLog
from toolwise.service.errors import install_error_handlers
from toolwise.service.keys import KeyRing
from toolwise.service.limits import BodyLimit
from toolwise.service.query_params import single_values
from toolwise.service.state import ServiceConfig, ServiceState

__all__ = ["API_VERSION", "create_app", "warm_up"]

log = logging.getLogger("toolwise.service")

API_VERSION = "1.0.0"

_DESCRIPTION = """\
Record tool calls and ask for advice from agents in any language: the same validation,
redaction, durable spool, learning and pre-selection as toolwise's Python API.

Authenticate with `Authorization: Bearer <key>` (`toolwise keys create --agent NAME`). A key
sees only its agents' resources (another agent's are `404`); read-only keys cannot record,
observe or forget (`403`). A server without keys listens on loopback only.

Errors are JSON: `{"error": code, "message": text, "field": name, "location": where}`;
bad input is `422` naming the field, bodies above the limit `413`, an unavailable store `503`.
"""


def create_app(
    backend: ServiceBackend,
    *,
    keys: KeyRing | None = None,
    config: ServiceConfig | None = None,
    close_backend: bool = False,
) -> FastAPI:
    """The HTTP app.

    Args:
        backend: whatever records, reads and learns (a ``ToolwiseBackend`` over a
            ``toolwise.Runtime``, or anything satisfying the Protocol).
        keys: API keys; ``None`` or an empty ring lets every request through (keep such a
            server on loopback: ``toolwise serve`` refuses anything else).
        config: limits and refresh intervals.
        close_backend: close the backend when the app shuts down, draining its spool into
            the store (``toolwise serve`` does; tests that own the backend do not).
    """
    options = config or ServiceConfig()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if close_backend:
            log.info("toolwise service: draining the spool into the store")
            drained = await anyio.to_thread.run_sync(backend.close, options.drain_timeout)
            if not drained:
                log.warning(
                    "toolwise service: records left in the spool after %g s; "
                    "they are stored when a toolwise process next opens this store",
                    options.drain_timeout,
                )

    app = FastAPI(
        title="toolwise",
        version=API_VERSION,
        description=_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; the schema is at /openapi.json
        redoc_url=None,
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.toolwise = ServiceState(
        backend=backend, keys=keys, config=options, decisions=DecisionLog(options.decisions)
    )
    install_error_handlers(app)
    for router in (routes_calls.router, routes_learning.router, routes_health.router):
        app.include_router(router, dependencies=[Depends(single_values)])
    app.include_router(dashboard.router)
    app.add_middleware(BodyLimit, limit=options.max_body_bytes)
    short_path.first(app, app.state.toolwise)  # in front of every layer, the limit too
    _plain_tuples(app)
    return app


def warm_up(app: FastAPI) -> None:
    """Build now what the first brief would otherwise build in its request: the default
    options' pre-selection core and the quantiles it uses (``toolwise serve`` calls this
    before it listens; blocking, a second or so)."""
    state: ServiceState = app.state.toolwise
    state.warm_up()


def _plain_tuples(app: FastAPI) -> None:
    """Write pairs such as ``credible_interval`` as arrays of two numbers, not ``prefixItems``.

    Many OpenAPI tools (client generators, validators) do not read JSON Schema 2020-12's
    ``prefixItems`` yet; a homogeneous tuple says the same with ``items`` and a fixed length.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _rewrite(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        node = {key: _rewrite(value) for key, value in node.items()}
        parts = node.get("prefixItems")
        if isinstance(parts, list) and parts and all(p == parts[0] for p in parts):
            del node["prefixItems"]
            node["items"] = parts[0]
        return node
    if isinstance(node, list):
        return [_rewrite(item) for item in node]
    return node
