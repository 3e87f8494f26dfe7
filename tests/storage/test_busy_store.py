"""A busy store is not a failed one: queries that miss recall's deadline on a store that
still answers heartbeats cost a brief its recall and open no breaker; the same miss on a
frozen ``chroma run`` server does. Busy is a real Chroma (in memory, or a ``chroma run``
server) whose vector queries are held (``tests.conftest.SlowClient``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from tests.conftest import SlowClient
from tests.storage.test_outage import _deploy_runs, _with_a_stored_failure, deploy, rollback

from toolwise import Toolwise
from toolwise.advice.advisor import NO_RECALL, RECALL_LATE, Advisor
from toolwise.models import ToolOutcome
from toolwise.storage.clients import http_client
from toolwise.storage.health import StoreHealth, StoreTimeouts

Eventually = Callable[..., bool]

# recall 1 s: ample for a loaded machine; connect 1 s: a frozen server is found soon.
TIMEOUTS = StoreTimeouts(connect=1.0, read=5.0, recall=1.0, probe_interval=0.1)
# read 1 s: a stuck store (stall: three reads) is found within seconds, not max_read's 120.
STUCK_TIMEOUTS = StoreTimeouts(connect=1.0, read=1.0, recall=1.0, probe_interval=0.1)
TURN = [HumanMessage("deploy the api")]
TURNS = [[HumanMessage(f"deploy the {service}")] for service in ("api", "web", "worker")]


def _breaker_changes(tw: Toolwise) -> list[StoreHealth]:
    """Every change of ``tw``'s store breaker from now on."""
    changes: list[StoreHealth] = []
    tw.store.on_health_change(changes.append)  # type: ignore[attr-defined]
    return changes


def _health(tw: Toolwise) -> StoreHealth:
    return tw.store.health  # type: ignore[attr-defined, no-any-return]


def _store_advisor(tw: Toolwise) -> Advisor:
    """Agent ``ops``'s advisor, recalling from the store's answers (no in-process index)."""
    return tw.advisor(
        agent_id="ops",
        tools=[deploy, rollback],
        strategy="greedy",
        learn_task_types=False,
        recall_index=False,
    )


def test_a_busy_store_costs_a_brief_its_recall_and_never_opens_the_breaker(
    slow: SlowClient, slow_tw: Toolwise, eventually: Eventually
) -> None:
    """The brief past recall's deadline goes without; the store answers its heartbeat, so
    the miss is counted slow and the breaker stays closed; the late answer serves the
    next brief."""
    tw = _with_a_stored_failure(slow_tw)
    advisor = _store_advisor(tw)
    changes = _breaker_changes(tw)
    slow.hold()
    assert advisor.advise(TURN).text.endswith(RECALL_LATE)
    assert eventually(lambda: _health(tw).slow_calls >= 1)
    assert _health(tw).healthy
    slow.release()
    assert eventually(lambda: "manifest unknown" in advisor.advise(TURN).text)
    assert changes == []


def test_agent_runs_complete_while_the_store_holds_every_query(
    slow: SlowClient,
    slow_tw: Toolwise,
    all_calls: Callable[..., list[ToolOutcome]],
    eventually: Eventually,
) -> None:
    """Through ``tw.middleware`` with every turn asking the store: each run's tool call
    returns and each run ends while the store's queries are still held (nothing waits for
    them), no breaker opens, and every call is stored."""
    tw = _with_a_stored_failure(slow_tw)  # something to recall: turns query the store
    tw.recommend("deploy", ["deploy"], agent_id="ops")  # the view is built (not warming up)
    changes = _breaker_changes(tw)
    model = _deploy_runs(3)
    agent = create_agent(
        model, [deploy, rollback], middleware=[tw.middleware(agent_id="ops", recall_ttl=0)]
    )
    slow.hold()
    for n in range(3):
        final = agent.invoke({"messages": [HumanMessage("deploy the next service")]})
        assert final["messages"][-2].text == f"svc-{n} deployed"  # the tool's own result
        assert final["messages"][-1].text == "done"
    assert slow.waiting > 0  # the store is still busy with the turns' queries
    assert _health(tw).healthy
    assert changes == []
    slow.release()
    assert tw.flush(timeout=30)
    assert len(all_calls(tw, "ops")) == 1 + 3


@pytest.fixture
def held_server(server: Any) -> Iterator[SlowClient]:
    """A client of this module's ``chroma run`` server whose queries can be held; the server
    is thawed again afterwards."""
    held = SlowClient(http_client(server.url, timeouts=TIMEOUTS))
    yield held
    held.release()
    server.thaw()


def _toolwise_on(
    client: SlowClient, tmp_path: Path, prefix: str, timeouts: StoreTimeouts
) -> Toolwise:
    """A toolwise on ``client`` that retries the store soon (a held store is let go within
    a test)."""
    return Toolwise(
        client=client,
        spool_dir=tmp_path / "spool",
        prefix=prefix,
        timeouts=timeouts,
        max_backoff=0.2,
    )


@pytest.fixture
def held_tw(held_server: SlowClient, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    tw = _toolwise_on(held_server, tmp_path, prefix, TIMEOUTS)
    yield tw
    held_server.release()
    tw.close(timeout=5)


@pytest.mark.server
def test_a_chroma_server_busy_with_a_query_keeps_its_breaker_closed(
    held_server: SlowClient, held_tw: Toolwise, eventually: Eventually
) -> None:
    """A real server, its recall query unanswered past the deadline: it answers the
    heartbeat, so the store stays healthy and readable, and the late answer is kept."""
    tw = _with_a_stored_failure(held_tw)
    advisor = _store_advisor(tw)
    changes = _breaker_changes(tw)
    held_server.hold()
    assert advisor.advise(TURN).text.endswith(RECALL_LATE)
    assert eventually(lambda: _health(tw).slow_calls >= 1)
    assert [c.tool for c in tw.list_calls("ops")] == ["deploy"]  # reads go on meanwhile
    held_server.release()
    assert eventually(lambda: "manifest unknown" in advisor.advise(TURN).text)
    assert changes == []


@pytest.mark.server
def test_the_same_late_query_on_a_frozen_chroma_server_opens_the_breaker(
    server: Any, held_server: SlowClient, held_tw: Toolwise, eventually: Eventually
) -> None:
    """SIGSTOP: the late query's heartbeat goes unanswered too, so the breaker opens and
    briefs skip recall at once; after SIGCONT it closes again."""
    tw = _with_a_stored_failure(held_tw)
    advisor = _store_advisor(tw)
    assert NO_RECALL not in advisor.advise([HumanMessage("roll back the api")]).text  # warm
    held_server.hold()
    server.freeze()
    assert advisor.advise(TURN).text.endswith(RECALL_LATE)  # not yet known to be frozen
    assert eventually(lambda: not _health(tw).healthy)
    assert advisor.advise([HumanMessage("restart the api")]).text.endswith(NO_RECALL)
    server.thaw()
    held_server.release()
    assert eventually(lambda: _health(tw).healthy)


def _stuck_store_opens_and_closes_its_breaker(
    held: SlowClient, tw: Toolwise, eventually: Eventually
) -> None:
    """Every recall query held while heartbeats and other calls answer as usual: once
    several are late and none answered for ``stall``, the breaker opens (long before
    ``max_read``), briefs skip recall at once, and the probe's heartbeat does not close it
    again; once the queries are answered, it closes and recall is back."""
    tw = _with_a_stored_failure(tw)
    advisor = _store_advisor(tw)
    changes = _breaker_changes(tw)
    held.hold()
    for turn in TURNS:
        assert not advisor.advise(turn).text.endswith(NO_RECALL)
    assert held.waiting >= 2
    assert eventually(lambda: not _health(tw).healthy)
    assert eventually(lambda: len(changes) == 1)  # listeners hear of it just after
    assert "stuck: " in changes[0].last_error
    assert advisor.advise([HumanMessage("restart the api")]).text.endswith(NO_RECALL)
    assert eventually(lambda: "still unanswered" in _health(tw).last_error)  # probed
    assert not _health(tw).healthy
    held.release()
    assert eventually(lambda: _health(tw).healthy)
    assert eventually(lambda: "manifest unknown" in advisor.advise(TURN).text)


@pytest.fixture
def stuck_tw(slow: SlowClient, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    """A toolwise on the held in-memory store that finds a stuck store within seconds."""
    tw = Toolwise(client=slow, spool_dir=tmp_path / "spool", prefix=prefix, timeouts=STUCK_TIMEOUTS)
    yield tw
    slow.release()
    tw.close(timeout=5)


def test_a_store_that_answers_heartbeats_but_holds_every_query_opens_the_breaker(
    slow: SlowClient, stuck_tw: Toolwise, eventually: Eventually
) -> None:
    """Stuck, not busy: several recall queries late and none answered, although the store
    answers every heartbeat (a real in-memory Chroma whose queries are held)."""
    _stuck_store_opens_and_closes_its_breaker(slow, stuck_tw, eventually)


@pytest.fixture
def stuck_server_tw(
    server: Any, tmp_path: Path, prefix: str
) -> Iterator[tuple[SlowClient, Toolwise]]:
    """A toolwise on this module's ``chroma run`` server, its queries held by the client."""
    held = SlowClient(http_client(server.url, timeouts=STUCK_TIMEOUTS))
    tw = _toolwise_on(held, tmp_path, prefix, STUCK_TIMEOUTS)
    yield held, tw
    held.release()
    tw.close(timeout=5)


@pytest.mark.server
def test_a_chroma_server_that_answers_heartbeats_but_no_query_opens_the_breaker(
    stuck_server_tw: tuple[SlowClient, Toolwise], eventually: Eventually
) -> None:
    """The same against a real ``chroma run`` server answering its heartbeats over HTTP."""
    held, tw = stuck_server_tw
    _stuck_store_opens_and_closes_its_breaker(held, tw, eventually)
