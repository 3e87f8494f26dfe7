"""The learning feed while a real ``chroma run`` server is down: it follows the store's circuit
breaker (no store call per model turn, one warning per outage), and a build that failed
reports ``failed`` and is built again once the server answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool

from toolwise import Toolwise
from toolwise.advice.advisor import UNAVAILABLE
from toolwise.errors import StoreError, StoreUnavailableError
from toolwise.storage.health import StoreTimeouts

FAST = StoreTimeouts(connect=1.0, read=5.0, recall=2.0, probe_interval=0.1)

pytestmark = pytest.mark.server


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return f"{service} deployed"


@tool
def rollback(service: str) -> str:
    """Roll a service back."""
    return f"{service} rolled back"


@pytest.fixture
def tw(own_chroma_server: Any, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    tw = Toolwise(
        url=own_chroma_server.url,
        spool_dir=tmp_path / "spool",
        prefix=prefix,
        timeouts=FAST,
        max_backoff=0.2,
        refresh_interval=1e-6,  # every read refreshes while the store is up
    )
    yield tw
    if not own_chroma_server.running:
        own_chroma_server.start()
    tw.close(timeout=5)


def _count_store_reads(tw: Toolwise, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the feed read the store (build or refresh): ``[count]``."""
    reads = [0]
    store: Any = tw.store

    def counting(original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            reads[0] += 1
            return original(*args, **kwargs)

        return counted

    for name in ("iter_outcomes", "recent"):  # a build or sweep, and the tail's look
        monkeypatch.setattr(store, name, counting(getattr(store, name)))
    return reads


def _warnings(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == logger and r.levelno >= logging.WARNING
    ]


def _feed_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return _warnings(caplog, "toolwise.learning")


def test_refresh_follows_the_breaker_with_one_warning_per_outage(
    tw: Toolwise,
    own_chroma_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    eventually: Callable[..., bool],
) -> None:
    """Twenty model turns with the server dead: the brief is served from memory, the feed
    reads the store at most once (the read that found it down), and warns once."""
    tw.observe("deploy", False, agent_id="ops", weight=5)
    tw.observe("rollback", True, agent_id="ops", weight=5)
    advisor = tw.advisor(agent_id="ops", tools=[deploy, rollback], recall_ttl=0, strategy="greedy")
    assert advisor.advise([HumanMessage("deploy the api")]).recommendations
    reads = _count_store_reads(tw, monkeypatch)
    own_chroma_server.kill()
    with caplog.at_level(logging.DEBUG, logger="toolwise"):
        for _ in range(20):
            brief = advisor.advise([HumanMessage("deploy the api")])
            assert [r.tool for r in brief.recommendations] == ["rollback", "deploy"]
        assert not tw.store.health.healthy  # type: ignore[attr-defined]
        during_outage = reads[0]
        assert during_outage <= 1
        assert len(_feed_warnings(caplog)) == 1
        assert len(_warnings(caplog, "toolwise.advice")) <= 1  # recall's first failure at most
        own_chroma_server.start()
        assert eventually(lambda: tw.store.health.healthy)  # type: ignore[attr-defined]
        advisor.advise([HumanMessage("deploy the api")])
        assert eventually(lambda: reads[0] > during_outage)  # the tail looks again
    assert len(_feed_warnings(caplog)) == 1


def test_a_failed_build_reports_failed_and_is_built_once_the_store_answers(
    tw: Toolwise,
    own_chroma_server: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    eventually: Callable[..., bool],
) -> None:
    """The server is dead before the first read: the build fails and the feed says
    ``failed`` (not ``loading``); reads fail at once without a store call, the brief says
    history is unavailable; calls made meanwhile are learnt once the server is back."""
    own_chroma_server.kill()
    feed = tw.runtime.feed
    with pytest.raises(StoreError):
        tw.priors(agent_id="ops")
    assert feed.state == "failed"
    assert feed.failure
    reads = _count_store_reads(tw, monkeypatch)
    with caplog.at_level(logging.DEBUG, logger="toolwise"):
        for _ in range(5):
            with pytest.raises(StoreUnavailableError):
                tw.priors(agent_id="ops")
        advisor = tw.advisor(agent_id="ops", tools=[deploy, rollback], recall_ttl=0)
        assert advisor.advise([HumanMessage("deploy the api")]).text == UNAVAILABLE
        handler = tw.callback(agent_id="ops")
        for i in range(3):
            deploy.invoke({"service": f"svc-{i}"}, config={"callbacks": [handler]})
        assert reads[0] == 0
        assert feed.state == "failed"
        assert len(_feed_warnings(caplog)) == 1  # the failed build's, not one per read
    own_chroma_server.start()
    assert eventually(lambda: tw.store.health.healthy)  # type: ignore[attr-defined]
    priors = tw.priors("deploy", agent_id="ops")
    assert feed.state == "ready"
    assert feed.failure == ""
    assert [p.tool for p in priors] == ["deploy"]
    assert priors[0].observations == 3
