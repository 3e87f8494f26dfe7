"""Readiness: while the outcome store is down the feed follows its circuit breaker (no store
call per model turn, one warning per outage), and a build that failed reports ``failed`` and
is built again once the store answers (``learning/readiness.py``)."""

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
from toolwise.learning.readiness import RETRY_AFTER, Readiness
from toolwise.storage.health import StoreTimeouts

FAST = StoreTimeouts(connect=1.0, read=5.0, recall=2.0, probe_interval=0.1)


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


@pytest.mark.server
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
        # The warning comes from whichever feed read meets the outage first: the tail thread
        # (it follows the breaker) may get there a moment after the last brief.
        assert eventually(lambda: len(_feed_warnings(caplog)) >= 1)
        during_outage = reads[0]
        assert during_outage <= 1
        assert len(_feed_warnings(caplog)) == 1
        assert len(_warnings(caplog, "toolwise.advice")) <= 1  # recall's first failure at most
        own_chroma_server.start()
        assert eventually(lambda: tw.store.health.healthy)  # type: ignore[attr-defined]
        advisor.advise([HumanMessage("deploy the api")])
        assert eventually(lambda: reads[0] > during_outage)  # the tail looks again
    assert len(_feed_warnings(caplog)) == 1


@pytest.mark.server
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


class _Breaker:
    """A store's health as a breaker reports it: ``health.healthy`` and a change callback."""

    def __init__(self) -> None:
        self.healthy = True
        self.health = self
        self._watchers: list[Callable[[object], None]] = []

    def on_health_change(self, watcher: Callable[[object], None]) -> None:
        self._watchers.append(watcher)

    def set(self, *, healthy: bool) -> None:
        self.healthy = healthy
        for watcher in self._watchers:
            watcher(self)


def _failed(readiness: Readiness) -> Readiness:
    readiness.loading()
    readiness.failed(OSError("connection refused"))
    return readiness


def test_a_failed_build_waits_until_the_breaker_says_the_store_is_back() -> None:
    """While the store is down a read is refused at once; once it answers, a build may run."""
    store = _Breaker()
    readiness = _failed(Readiness(store))
    store.set(healthy=False)
    assert readiness.state == "failed"
    assert readiness.failure == "connection refused"
    with pytest.raises(StoreUnavailableError, match="connection refused"):
        readiness.check_due()
    store.set(healthy=True)
    readiness.check_due()


def test_a_store_seen_down_is_retried_once_it_says_healthy_before_its_notice_arrives() -> None:
    """The breaker publishes "healthy", then tells its listeners: a read in between is let
    through (it failed in CI as "not due again yet" right after the store came back)."""
    store = _Breaker()
    store.set(healthy=False)  # the breaker trips before the build's error reaches the feed
    readiness = _failed(Readiness(store))
    with pytest.raises(StoreUnavailableError):
        readiness.check_due()
    store.healthy = True  # published; the listeners are not told yet
    readiness.check_due()


def test_without_a_breaker_a_failed_build_is_retried_after_a_pause() -> None:
    """A store that cannot say it is back is tried again ``RETRY_AFTER`` seconds later."""
    now = [100.0]
    readiness = _failed(Readiness(object(), monotonic=lambda: now[0]))
    now[0] += RETRY_AFTER - 0.1
    with pytest.raises(StoreUnavailableError):
        readiness.check_due()
    now[0] += 0.1
    readiness.check_due()


def test_only_a_build_under_way_can_fail() -> None:
    """A late failure (the view was built or dropped meanwhile) leaves the state alone."""
    readiness = Readiness(object())
    readiness.ready()
    readiness.failed(OSError("late"))
    assert readiness.state == "ready"
    assert readiness.failure == ""


def test_one_warning_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    """Failures after the first are logged at debug level until the store answers again."""
    readiness = Readiness(object())
    with caplog.at_level(logging.DEBUG, logger="toolwise.learning"):
        readiness.warn_outage("reading", "down")
        readiness.warn_outage("reading", "still down")
        readiness.answered()
        readiness.warn_outage("reading", "down again")
    assert _feed_warnings(caplog) == [
        "toolwise: reading failed: down; the learnt view serves what it knows and catches up "
        "when the store answers (no retry per read)",
        "toolwise: reading failed: down again; the learnt view serves what it knows and "
        "catches up when the store answers (no retry per read)",
    ]
