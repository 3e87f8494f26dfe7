"""``forget`` against a server that is down, frozen or just back: it never hangs, and a record
it was asked to forget never comes back from the spool afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.tools import tool

from toolwise import Toolwise
from toolwise.errors import InvalidArgumentError, StoreError, StoreUnavailableError
from toolwise.service import ToolwiseBackend, create_app


@tool
def leaky_deploy(service: str) -> str:
    """Deploy a service; its output carries a token nobody should keep."""
    return f"{service} deployed with token tok-{service}"


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return f"{service} deployed"


def _call(tw: Toolwise, chosen: Any, count: int) -> None:
    handler = tw.callback(agent_id="ops")
    for i in range(count):
        chosen.invoke({"service": f"svc-{i}"}, config={"callbacks": [handler]})


@pytest.mark.server
def test_a_tool_forgotten_just_after_the_server_returns_stays_forgotten(
    server: Any, outage_tw: Toolwise, eventually: Any, all_calls: Any
) -> None:
    """Calls recorded while the server was down wait in the spool; a forget of their tool
    the moment the server is back must take them too, not only what was stored."""
    tw = outage_tw
    _call(tw, deploy, 3)
    assert tw.flush(timeout=30)
    server.stop()
    _call(tw, leaky_deploy, 4)
    assert eventually(lambda: tw.counters.retried > 0)
    server.start()
    assert eventually(lambda: tw.store.health.healthy)  # the breaker saw it back; the
    # writer's next retry is still seconds away

    tw.forget("ops", tool="leaky_deploy")

    assert tw.flush(timeout=30)
    assert {c.tool for c in all_calls(tw, "ops")} == {"deploy"}


def _backlog(tw: Toolwise, server: Any, eventually: Any, count: int) -> None:
    """``count`` calls recorded while the server was down, half of them by the leaky tool;
    the server is back when this returns, the spool still full."""
    server.stop()
    for i in range(count):
        tw.record(
            tool="leaky_deploy" if i % 2 else "deploy",
            task=f"deploy svc-{i % 50}",
            agent_id="ops",
        )
    server.start()
    assert eventually(lambda: tw.store.health.healthy)


@pytest.mark.server
def test_a_forget_while_a_long_backlog_drains_takes_the_spooled_records_too(
    server: Any, outage_tw: Toolwise, eventually: Any, all_calls: Any
) -> None:
    """After a long outage the spool holds more than a read's flush stores; a forget then
    waits for it, and every record of the tool recorded before the forget goes."""
    tw = outage_tw
    _backlog(tw, server, eventually, 12_000)

    assert tw.forget("ops", tool="leaky_deploy") == 6_000

    assert tw.flush(timeout=120)
    assert {c.tool for c in all_calls(tw, "ops")} == {"deploy"}


@pytest.mark.server
def test_a_forget_that_cannot_wait_for_the_backlog_refuses_and_deletes_nothing(
    server: Any, outage_tw: Toolwise, eventually: Any, all_calls: Any
) -> None:
    tw = outage_tw
    _backlog(tw, server, eventually, 2_000)

    with pytest.raises(StoreUnavailableError, match="nothing was deleted"):
        tw.forget("ops", tool="leaky_deploy", timeout=0)

    assert tw.flush(timeout=120)
    assert len(all_calls(tw, "ops", tool="leaky_deploy")) == 1_000
    assert tw.forget("ops", tool="leaky_deploy", timeout=0) == 1_000


@pytest.mark.server
def test_a_forget_against_a_frozen_server_fails_within_its_timeout_and_deletes_nothing(
    server: Any, outage_tw: Toolwise, eventually: Any, all_calls: Any
) -> None:
    tw = outage_tw
    _call(tw, leaky_deploy, 3)
    assert tw.flush(timeout=30)
    server.freeze()
    try:
        with pytest.raises(StoreError):
            tw.forget("ops", tool="leaky_deploy")
    finally:
        server.thaw()
    assert eventually(lambda: tw.store.health.healthy)
    assert len(all_calls(tw, "ops", tool="leaky_deploy")) == 3


@pytest.mark.server
def test_over_http_a_forget_that_cannot_wait_is_503_and_deletes_nothing(
    server: Any, outage_tw: Toolwise, eventually: Any, all_calls: Any
) -> None:
    """``DELETE .../calls?timeout=0`` behind a backlog: the service refuses as the Python API
    does; with time to wait, it takes the spooled records too."""
    tw = outage_tw
    _backlog(tw, server, eventually, 2_000)
    with TestClient(create_app(ToolwiseBackend(tw.runtime, probe_timeout=30.0))) as http:
        refused = http.delete("/v1/agents/ops/calls", params={"tool": "leaky_deploy", "timeout": 0})
        assert refused.status_code == 503
        assert refused.json()["error"] == "store_unavailable"
        assert refused.headers["Retry-After"]

        waited = http.delete(
            "/v1/agents/ops/calls", params={"tool": "leaky_deploy", "timeout": 120}
        )
        assert waited.json() == {"deleted": 1_000}
    assert tw.flush(timeout=120)
    assert not all_calls(tw, "ops", tool="leaky_deploy")


def test_a_forget_with_a_bad_timeout_names_the_field(tmp_path: Path) -> None:
    with Toolwise(path=tmp_path / "store") as tw:
        for bad in (-1, float("nan"), "soon"):
            with pytest.raises(InvalidArgumentError) as caught:
                tw.forget("ops", tool="deploy", timeout=bad)  # type: ignore[arg-type]
            assert caught.value.field == "timeout"
