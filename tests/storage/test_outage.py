"""A Chroma server that goes away, freezes or never answers: the agent never notices, reads
fail with StoreError within their timeout, and nothing recorded is lost."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from pydantic import Field
from tests.conftest import count_recall_queries
from tests.storage.conftest import FAST

from toolwise import Toolwise
from toolwise.advice.advisor import NO_RECALL, RECALL_LATE, RECALL_PENDING, UNAVAILABLE, Advisor
from toolwise.cli import main
from toolwise.errors import StoreError, StoreUnavailableError
from toolwise.models import ToolOutcome

AllCalls = Callable[..., list[ToolOutcome]]
Eventually = Callable[..., bool]


@tool
def deploy(service: str) -> str:
    """Deploy a service and report where it runs."""
    return f"{service} deployed"


@tool
def rollback(service: str) -> str:
    """Roll a service back to its previous release."""
    return f"{service} rolled back"


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


def _assert_all_arrived(tw: Toolwise, all_calls: AllCalls, count: int) -> None:
    assert tw.flush(timeout=60)
    counters = tw.counters
    assert (counters.written, counters.pending, counters.dropped, counters.rejected) == (
        count,
        0,
        0,
        0,
    )
    calls = all_calls(tw, "ops")
    assert len(calls) == len({c.id for c in calls}) == count
    assert {c.tool_input for c in calls} == {f'{{"service": "svc-{i}"}}' for i in range(count)}


@pytest.mark.server
def test_agent_keeps_working_while_the_server_is_down(
    server: Any, tmp_path: Path, prefix: str, all_calls: AllCalls, eventually: Eventually
) -> None:
    """Calls succeed during the outage; records wait spooled and all arrive after it."""
    tw = Toolwise(url=server.url, spool_dir=tmp_path / "spool", prefix=prefix, max_backoff=0.2)
    try:
        _agent_loop(tw, range(20))
        assert tw.flush(timeout=30)

        server.stop()
        _agent_loop(tw, range(20, 70))
        assert not tw.flush(timeout=1.0)  # cannot be delivered now
        assert eventually(lambda: tw.counters.retried > 0)
        down = tw.counters
        assert down.pending > 0
        assert down.dropped == 0
        _agent_loop(tw, range(70, 100))  # still fine after failed retries

        server.start()
        _assert_all_arrived(tw, all_calls, 100)
    finally:
        server.start()
        tw.close(timeout=5)


def test_server_down_at_start_does_not_stop_recording(
    tmp_path: Path, eventually: Eventually
) -> None:
    """No server yet: recording works and waits; the records stay spooled for later."""
    tw = Toolwise(url=_unused_url(), spool_dir=tmp_path / "spool", max_backoff=0.05)
    _agent_loop(tw, range(5))
    assert not tw.flush(timeout=0.5)
    assert eventually(lambda: tw.counters.retried > 0)
    assert not tw.close(timeout=0.2)
    assert len(list((tmp_path / "spool").glob("inst-*/seg-*.jsonl"))) == 1


def test_a_dead_server_fails_reads_with_store_error_not_a_connection_error(
    tmp_path: Path,
) -> None:
    """Refused connections surface as StoreUnavailableError, from every read and ranking."""
    tw = Toolwise(url=_unused_url(), spool_dir=tmp_path / "spool", timeouts=FAST)
    try:
        reads: list[Callable[[], object]] = [
            lambda: tw.list_calls("ops"),
            lambda: tw.summary("ops"),
            lambda: tw.get_call("some-id"),
            lambda: tw.forget("ops", ids=["some-id"]),
            lambda: tw.recommend("deploy", ["deploy", "rollback"], agent_id="ops"),
        ]
        for read in reads:
            with pytest.raises(StoreUnavailableError):
                read()
        health = tw.store.health  # type: ignore[attr-defined]
        assert (health.state, "ConnectError" in health.last_error) == ("unhealthy", True)
    finally:
        tw.close(timeout=0.2)


@pytest.fixture
def not_chroma() -> Iterator[str]:
    """The URL of an HTTP server that is not Chroma: it answers every request with 404."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_server_that_is_not_chroma_fails_reads_with_store_error_and_keeps_records(
    not_chroma: str, tmp_path: Path
) -> None:
    """``url=`` toolwise serve's port, say: the first ranking used to raise httpx's
    HTTPStatusError, not a ToolwiseError; recording goes on and the records wait."""
    tw = Toolwise(url=not_chroma, spool_dir=tmp_path / "spool", timeouts=FAST)
    try:
        tw.record(agent_id="ops", tool="deploy")
        for read in (
            lambda: tw.recommend("deploy", ["deploy", "rollback"], agent_id="ops"),
            lambda: tw.list_calls("ops"),
        ):
            with pytest.raises(StoreUnavailableError, match="is it a `chroma run` server"):
                read()
        assert (tw.counters.rejected, tw.counters.dropped) == (0, 0)
    finally:
        tw.close(timeout=0.2)
    assert len(list((tmp_path / "spool").glob("inst-*/seg-*.jsonl"))) == 1


def test_a_server_that_never_answers_fails_reads_within_their_timeout(
    silent_server: Any, tmp_path: Path
) -> None:
    """A listener that accepts and stays silent: reads raise StoreError, recording goes on,
    and the brief says history is unavailable."""
    tw = Toolwise(url=silent_server.url, spool_dir=tmp_path / "spool", timeouts=FAST)
    try:
        with pytest.raises(StoreError):
            tw.list_calls("ops")
        assert not tw.store.health.healthy  # type: ignore[attr-defined]
        _agent_loop(tw, range(5))
        advisor = tw.advisor(agent_id="ops", tools=[deploy, rollback])
        brief = advisor.advise([HumanMessage("deploy the api")])
        assert brief.text == UNAVAILABLE  # never built: no view to serve from
        assert tw.counters.pending == 5
    finally:
        tw.close(timeout=0.2)


@pytest.mark.server
def test_reads_fail_while_the_server_is_frozen_and_every_record_arrives_after_sigcont(
    server: Any, outage_tw: Toolwise, all_calls: AllCalls, eventually: Eventually
) -> None:
    """SIGSTOP: reads raise StoreError, tool calls go on; SIGCONT: the store turns healthy
    and every record made meanwhile is stored once."""
    tw = outage_tw
    _agent_loop(tw, range(10))
    assert tw.flush(timeout=30)

    server.freeze()
    with pytest.raises(StoreUnavailableError):
        tw.list_calls("ops")  # waits one read timeout, then the store is unhealthy
    for read in (lambda: tw.list_calls("ops"), lambda: tw.summary("ops")):
        with pytest.raises(StoreUnavailableError, match="unavailable since"):
            read()  # at once: no network wait
    _agent_loop(tw, range(10, 30))
    assert not tw.flush(timeout=0.5)

    server.thaw()
    assert eventually(lambda: tw.store.health.healthy)  # type: ignore[attr-defined]
    _assert_all_arrived(tw, all_calls, 30)


@pytest.mark.server
def test_a_server_killed_while_frozen_loses_nothing_once_restarted(
    server: Any, outage_tw: Toolwise, all_calls: AllCalls, eventually: Eventually
) -> None:
    """Frozen with a write in flight, then SIGKILLed: the write is retried after the restart
    (upserts make the replay harmless) and nothing is lost or doubled."""
    tw = outage_tw
    _agent_loop(tw, range(20))
    assert tw.flush(timeout=30)
    server.freeze()
    _agent_loop(tw, range(20, 40))
    assert eventually(lambda: not tw.store.health.healthy)  # type: ignore[attr-defined]
    server.kill()
    _agent_loop(tw, range(40, 60))
    with pytest.raises(StoreError):
        tw.list_calls("ops")

    server.start()
    assert eventually(lambda: tw.store.health.healthy)  # type: ignore[attr-defined]
    _assert_all_arrived(tw, all_calls, 60)


@pytest.mark.server
def test_the_brief_is_served_from_the_view_without_recall_while_the_store_is_frozen(
    server: Any, outage_tw: Toolwise
) -> None:
    """The ranking comes from memory; recall is skipped, and the brief says so in one line."""
    tw = outage_tw
    tw.observe("deploy", False, agent_id="ops", weight=5)
    tw.observe("rollback", True, agent_id="ops", weight=5)
    advisor = tw.advisor(agent_id="ops", tools=[deploy, rollback], recall_ttl=0, strategy="greedy")
    healthy = advisor.advise([HumanMessage("deploy the api")])
    assert NO_RECALL not in healthy.text
    server.freeze()
    briefs = [advisor.advise([HumanMessage("deploy the api")]) for _ in range(3)]
    for brief in briefs:  # the first waits for recall's timeout; the others skip it at once
        assert brief.text.endswith((RECALL_LATE, NO_RECALL))  # late: before the breaker opens
        assert [r.tool for r in brief.recommendations] == ["rollback", "deploy"]
        assert "1. rollback" in brief.text


def _store_threads() -> int:
    return sum(t.name.startswith("toolwise-store-") for t in threading.enumerate())


def _with_a_stored_failure(tw: Toolwise) -> Toolwise:
    """``tw`` once one failure of ``deploy`` for agent ``ops`` is in the store."""
    tw.record(
        tool="deploy",
        outcome="failure",
        agent_id="ops",
        task="deploy the api",
        error_type="ImagePullBackOff",
        error_message="manifest unknown",
    )
    assert tw.flush(timeout=30)
    return tw


def _budgeted_advisor(tw: Toolwise, *, recall_index: bool) -> Advisor:
    """Agent ``ops``'s advisor for deploy and rollback, waiting 0.05 s for recall."""
    return tw.advisor(
        agent_id="ops",
        tools=[deploy, rollback],
        strategy="greedy",
        learn_task_types=False,
        recall_budget=0.05,
        recall_index=recall_index,
    )


@pytest.mark.server
def test_a_recall_frozen_mid_query_is_answered_once_the_server_thaws(
    server: Any, outage_tw: Toolwise, monkeypatch: pytest.MonkeyPatch, eventually: Eventually
) -> None:
    """With answers reused: the first brief gives up at recall's deadline, the others skip
    recall at once, with no query and no thread more; after SIGCONT the frozen query's
    answer is the question's answer — the store was asked once."""
    tw = _with_a_stored_failure(outage_tw)
    advisor = tw.advisor(
        agent_id="ops",
        tools=[deploy, rollback],
        strategy="greedy",
        learn_task_types=False,
        recall_index=False,  # the store's answers (the path before the index is loaded)
    )  # nothing saved in the background: recall is the first call to meet the frozen server
    assert NO_RECALL not in advisor.advise([HumanMessage("roll back the api")]).text
    asked = count_recall_queries(tw, monkeypatch)
    before = _store_threads()
    server.freeze()
    turn = [HumanMessage("deploy the api")]
    assert advisor.advise(turn).text.endswith(RECALL_LATE)
    assert all(advisor.advise(turn).text.endswith(NO_RECALL) for _ in range(3))
    assert len(asked) == 1
    assert _store_threads() - before <= 8  # the store's worker limit: none piles up
    server.thaw()
    assert eventually(lambda: "manifest unknown" in advisor.advise(turn).text)
    assert len(asked) == 1


class _SeeingModel(GenericFakeChatModel):
    """A scripted chat model that remembers the messages of each turn (tools bound: no-op)."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> _SeeingModel:  # type: ignore[override]
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def _deploy_runs(count: int) -> _SeeingModel:
    """``count`` agent runs, each: call deploy once, then answer."""
    replies: list[AIMessage] = []
    for n in range(count):
        call = {"name": "deploy", "args": {"service": f"svc-{n}"}, "id": f"call-{n}"}
        replies += [AIMessage("", tool_calls=[call]), AIMessage("done")]
    return _SeeingModel(messages=iter(replies))


@pytest.mark.server
def test_create_agent_turns_go_on_while_the_server_is_frozen_or_dead(
    server: Any, outage_tw: Toolwise, all_calls: AllCalls, eventually: Eventually
) -> None:
    """Through ``tw.middleware``: every run completes while the server is frozen and then
    killed, the model is told recall is off, and every call is stored once it is back."""
    tw = outage_tw
    model = _deploy_runs(6)
    middleware = tw.middleware(agent_id="ops", recall_ttl=0)  # every turn asks the store
    agent = create_agent(model, [deploy, rollback], middleware=[middleware])

    def run() -> None:
        final = agent.invoke({"messages": [HumanMessage("deploy the next service")]})
        assert final["messages"][-1].text == "done"

    run()
    tw.recommend("deploy", ["deploy"], agent_id="ops")  # the view is built (not warming up)
    server.freeze()
    run()
    run()
    server.kill()
    run()
    run()
    briefs = [turn[0].text for turn in model.seen[::2]]  # the turn that picks the tool
    assert NO_RECALL not in briefs[0]
    assert all(brief.endswith((RECALL_LATE, NO_RECALL)) for brief in briefs[1:])

    server.start()
    assert eventually(lambda: tw.store.health.healthy)  # type: ignore[attr-defined]
    run()
    _assert_all_arrived(tw, all_calls, 6)


@pytest.mark.parametrize("command", ["calls", "summary", "priors"])
def test_cli_reads_of_a_server_that_never_answers_exit_2_with_one_line(
    silent_server: Any,
    tmp_path: Path,
    command: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scripts calling the CLI get exit code 2 and a message, not a hang or a traceback."""
    monkeypatch.setenv("TOOLWISE_PATH", str(tmp_path))  # the local spool goes here
    assert main([command, "--url", silent_server.url]) == 2
    assert "outcome store" in capsys.readouterr().err


def test_closing_does_not_wait_on_a_store_known_to_be_down(
    tmp_path: Path, eventually: Eventually
) -> None:
    """An exit with the server gone returns without draining; the records stay spooled."""
    tw = Toolwise(url=_unused_url(), spool_dir=tmp_path / "spool", timeouts=FAST)
    _agent_loop(tw, range(3))
    assert eventually(lambda: not tw.store.health.healthy)  # type: ignore[attr-defined]
    assert not tw.close(timeout=600)  # would wait 10 minutes if it waited at all
    assert len(list((tmp_path / "spool").glob("inst-*/seg-*.jsonl"))) == 1


@pytest.mark.server
def test_a_brief_on_a_frozen_server_keeps_its_recall_budget_and_the_next_has_the_answer(
    server: Any, outage_tw: Toolwise, monkeypatch: pytest.MonkeyPatch, eventually: Eventually
) -> None:
    """SIGSTOP mid-query: the brief is answered at its budget, saying recall is loading (the
    store's 2 s deadline has not passed: it is not called unavailable); the deadline then
    opens the breaker as before; after SIGCONT the query's answer serves the next brief —
    the store was asked once."""
    tw = _with_a_stored_failure(outage_tw)
    # The store's answers (the path before the index is loaded).
    advisor = _budgeted_advisor(tw, recall_index=False)
    warm = [HumanMessage("roll back the api")]  # answered (kept) once the server is warm
    assert eventually(lambda: RECALL_PENDING not in advisor.advise(warm).text)
    asked = count_recall_queries(tw, monkeypatch)
    server.freeze()
    turn = [HumanMessage("deploy the api")]
    assert advisor.advise(turn).text.endswith(RECALL_PENDING)
    assert eventually(lambda: advisor.advise(turn).text.endswith(NO_RECALL))
    server.thaw()
    assert eventually(lambda: "manifest unknown" in advisor.advise(turn).text)
    assert len(asked) == 1


@pytest.mark.server
def test_once_the_index_is_loaded_a_frozen_server_does_not_reach_the_brief(
    server: Any, outage_tw: Toolwise, monkeypatch: pytest.MonkeyPatch, eventually: Eventually
) -> None:
    """SIGSTOP after the recall index was loaded: the brief recalls the stored failure at
    once, asking the frozen store nothing."""
    tw = _with_a_stored_failure(outage_tw)
    advisor = _budgeted_advisor(tw, recall_index=True)
    turn = [HumanMessage("deploy the api")]
    advisor.advise(turn)  # starts loading the index
    assert eventually(lambda: advisor._recall._index._indexes)  # type: ignore[attr-defined]
    asked = count_recall_queries(tw, monkeypatch)
    server.freeze()
    text = advisor.advise(turn).text
    server.thaw()
    assert "manifest unknown" in text
    assert not text.endswith((RECALL_PENDING, RECALL_LATE, NO_RECALL))
    assert asked == []
