"""A Chroma server that goes away: the agent never notices, and nothing recorded is lost."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool

from toolwise import Toolwise
from toolwise.models import ToolOutcome


@tool
def deploy(service: str) -> str:
    """Deploy a service and report where it runs."""
    return f"{service} deployed"


def _agent_loop(tw: Toolwise, services: range) -> None:
    """An agent calling its tool: every call must succeed, whatever the store is doing."""
    handler = tw.callback(agent_id="ops")
    for i in services:
        result = deploy.invoke({"service": f"svc-{i}"}, config={"callbacks": [handler]})
        assert result == f"svc-{i} deployed"


def _unused_url() -> str:
    """A local address nothing listens on: a Chroma server that is not up."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.server
def test_agent_keeps_working_while_the_server_is_down(
    own_chroma_server: Any,
    tmp_path: Path,
    all_calls: Callable[..., list[ToolOutcome]],
    eventually: Callable[..., bool],
) -> None:
    """Calls succeed during the outage; records wait spooled and all arrive after it."""
    # A short retry ceiling (default 30 s) so the restart is noticed quickly.
    tw = Toolwise(url=own_chroma_server.url, spool_dir=tmp_path / "spool", max_backoff=0.2)
    try:
        _agent_loop(tw, range(20))
        assert tw.flush(timeout=30)

        own_chroma_server.stop()
        _agent_loop(tw, range(20, 70))
        assert not tw.flush(timeout=1.0)  # cannot be delivered now
        assert eventually(lambda: tw.counters.retried > 0)
        down = tw.counters
        assert down.pending > 0
        assert down.dropped == 0
        _agent_loop(tw, range(70, 100))  # still fine after failed retries

        own_chroma_server.start()
        assert tw.flush(timeout=60)
        after = tw.counters
        assert (after.recorded, after.written, after.pending, after.dropped) == (100, 100, 0, 0)
        calls = all_calls(tw, "ops")
        assert len(calls) == len({c.id for c in calls}) == 100
        assert {c.tool_input for c in calls} == {f'{{"service": "svc-{i}"}}' for i in range(100)}
    finally:
        tw.close(timeout=5)


def test_server_down_at_start_does_not_stop_recording(
    tmp_path: Path, eventually: Callable[..., bool]
) -> None:
    """No server yet: recording works and waits; the records stay spooled for later."""
    tw = Toolwise(url=_unused_url(), spool_dir=tmp_path / "spool", max_backoff=0.05)
    _agent_loop(tw, range(5))
    assert not tw.flush(timeout=0.5)
    assert eventually(lambda: tw.counters.retried > 0)
    assert not tw.close(timeout=0.2)
    assert len(list((tmp_path / "spool").glob("inst-*/seg-*.jsonl"))) == 1
