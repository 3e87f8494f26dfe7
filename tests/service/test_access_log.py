"""The access log names the query's parameters but never their values (they may be secrets)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx
import pytest
from tests.service.conftest import ServeProcess
from uvicorn.logging import AccessFormatter

from toolwise.service.access_log import ACCESS_LOGGER, hide_query_values, redacted_path

SECRET = "sk-live-4f9a1c2e8b7d"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/v1/agents/devops/calls", "/v1/agents/devops/calls"),
        (
            f"/v1/agents/devops/calls?session_id={SECRET}&limit=5",
            "/v1/agents/devops/calls?session_id=[REDACTED]&limit=[REDACTED]",
        ),
        ("/v1/agents/a/calls?ids=x&ids=y", "/v1/agents/a/calls?ids=[REDACTED]&ids=[REDACTED]"),
        ("/v1/brief?task=", "/v1/brief?task=[REDACTED]"),
        ("/v1/brief?verbose", "/v1/brief?verbose"),
        (f"/v1/brief?{SECRET}%20x", "/v1/brief?[REDACTED]"),
        ("/healthz?", "/healthz?"),
    ],
)
def test_a_path_keeps_its_parameter_names_and_loses_their_values(path: str, logged: str) -> None:
    """Values go, whatever they look like; a name that is not an identifier goes too."""
    assert redacted_path(path) == logged


def test_uvicorns_access_line_is_written_without_the_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The filter rewrites uvicorn's own record; its formatter still reads the five fields."""
    hide_query_values()
    logger = logging.getLogger(ACCESS_LOGGER)
    with caplog.at_level(logging.DEBUG, logger=ACCESS_LOGGER):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            f"/v1/agents/devops/calls?task={SECRET}",
            "1.1",
            200,
        )
    [record] = caplog.records
    line = AccessFormatter("%(request_line)s %(status_code)s").format(record)

    assert line == "GET /v1/agents/devops/calls?task=[REDACTED] HTTP/1.1 200 OK"


def test_serve_at_debug_logs_each_request_without_its_query_values(
    serve_process: Callable[..., ServeProcess],
) -> None:
    """``toolwise serve --log-level debug``: one access line per request, values redacted."""
    server = serve_process("--log-level", "debug")

    response = httpx.get(
        f"{server.url}/v1/agents/devops/calls",
        params={"session_id": SECRET, "limit": "5"},
        timeout=30,
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 10.0  # the line is written once the response is sent
    while "calls?session_id" not in server.log_text and time.monotonic() < deadline:
        time.sleep(0.05)

    assert "/v1/agents/devops/calls?session_id=[REDACTED]&limit=[REDACTED]" in server.log_text
    assert SECRET not in server.log_text
