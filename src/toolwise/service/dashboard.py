"""``GET /``: one read-only page, shipped in the package, that reads the API and draws it.

The page and its script and style are files beside this module (no build step, no CDN). It
reads ``/v1/agents`` and each agent's ``/overview`` with the key given in the URL fragment
(``/#key=tw_...``, never sent to the server) and refreshes itself.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from toolwise.service.errors import ApiError
from toolwise.service.state import ServiceState, service_state

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_STATIC = Path(__file__).parent / "static"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _read(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


@router.api_route("/", methods=["GET", "HEAD"])  # HEAD: uptime checks, answered like GET
async def page(state: Annotated[ServiceState, Depends(service_state)]) -> HTMLResponse:
    refresh = f"{state.config.dashboard_refresh_seconds:g}"
    html = _read("index.html").replace("{{refresh_seconds}}", refresh)
    return HTMLResponse(html, headers=_HEADERS)


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    suffix = Path(name).suffix
    if name not in ("dashboard.js", "dashboard.css") or suffix not in _TYPES:
        raise ApiError(404, "not_found", "no such file")
    return Response(_read(name), media_type=_TYPES[suffix], headers=_HEADERS)
