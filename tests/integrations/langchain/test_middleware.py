"""``tw.middleware()`` in ``create_agent``: where it sits among other middleware matters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ToolRetryMiddleware
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool, tool

from toolwise import ToolOutcome, Toolwise

Records = Callable[..., list[ToolOutcome]]


def _flaky(failures: int) -> BaseTool:
    calls = {"n": 0}

    @tool
    def query_metrics(metric: str) -> str:
        """Read a metric from the monitoring system."""
        calls["n"] += 1
        if calls["n"] <= failures:
            raise ConnectionError("metrics backend unavailable")
        return f"{metric}=0.42"

    return query_metrics


def _retry() -> ToolRetryMiddleware:
    return ToolRetryMiddleware(max_retries=2, initial_delay=0.0, jitter=False)


def _run(agent: Any, mode: str) -> Any:
    request = {"messages": [HumanMessage("how loaded is the cluster?")]}
    if mode == "sync":
        return agent.invoke(request)
    return asyncio.run(agent.ainvoke(request))


CALL = [{"name": "query_metrics", "args": {"metric": "cpu"}, "id": "c1"}]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_inside_tool_retry_middleware_every_attempt_is_recorded(
    tw: Toolwise, records: Records, script: Any, mode: str
) -> None:
    """Listed after ``ToolRetryMiddleware`` it sees, and numbers, every attempt."""
    agent = create_agent(script(CALL), [_flaky(2)], middleware=[_retry(), tw.middleware()])

    _run(agent, mode)

    assert [(r.attempt, r.outcome, r.error_type) for r in records()] == [
        (1, "failure", "ConnectionError"),
        (2, "failure", "ConnectionError"),
        (3, "success", ""),
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_outside_tool_retry_middleware_only_the_final_result_is_recorded(
    tw: Toolwise, records: Records, script: Any, mode: str
) -> None:
    """Listed before ``ToolRetryMiddleware`` it records the call once, as the agent saw it."""
    agent = create_agent(script(CALL), [_flaky(2)], middleware=[tw.middleware(), _retry()])

    _run(agent, mode)

    assert [(r.attempt, r.outcome) for r in records()] == [(1, "success")]


def test_a_tool_exception_without_error_handling_is_recorded_and_ends_the_run(
    tw: Toolwise, records: Records, script: Any
) -> None:
    """create_agent re-raises tool exceptions; the failure is recorded on the way out."""
    agent = create_agent(script(CALL), [_flaky(9)], middleware=[tw.middleware()])

    with pytest.raises(ConnectionError):
        _run(agent, "sync")

    assert [(r.outcome, r.error_type) for r in records()] == [("failure", "ConnectionError")]


def test_the_middleware_defines_both_twins_of_each_hook_it_implements() -> None:
    """Sync-only hooks fail under ``ainvoke``: every implemented hook has its async twin."""
    from toolwise.integrations.langchain import ToolwiseMiddleware

    pairs = [("wrap_tool_call", "awrap_tool_call"), ("wrap_model_call", "awrap_model_call")]
    for sync, async_ in pairs:
        overrides_sync = getattr(ToolwiseMiddleware, sync) is not getattr(AgentMiddleware, sync)
        overrides_async = getattr(ToolwiseMiddleware, async_) is not getattr(
            AgentMiddleware, async_
        )
        assert overrides_sync == overrides_async, sync


class _SeenByModel(AgentMiddleware):
    """Innermost: keeps the system message each model call receives."""

    def __init__(self) -> None:
        super().__init__()
        self.system: list[str] = []

    def wrap_model_call(self, request: Any, handler: Any) -> Any:
        self.system.append(request.system_message.text if request.system_message else "")
        return handler(request)

    async def awrap_model_call(self, request: Any, handler: Any) -> Any:
        self.system.append(request.system_message.text if request.system_message else "")
        return await handler(request)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_advice_middleware_beside_tw_middleware_briefs_once_and_records(
    tw: Toolwise, records: Records, script: Any, mode: str
) -> None:
    """docs/preselection.md's wiring: the outer ``AdviceMiddleware`` decides and guards, the
    inner ``tw.middleware()`` (which advises by default) only records, under that decision."""
    from toolwise.integrations.langchain import AdviceMiddleware

    seen = _SeenByModel()
    agent = create_agent(
        script(CALL),
        [_flaky(0)],
        middleware=[AdviceMiddleware(tw.advisor(top_k=3)), tw.middleware(), seen],
    )

    _run(agent, mode)

    [record] = records()
    assert (record.tool, record.outcome) == ("query_metrics", "success")
    assert record.decision_id  # the outer middleware's decision reached the record
    assert len(seen.system) == 2  # the tool call, then "done"
    assert all(text.count("[toolwise]") == 1 for text in seen.system)  # one brief per call


def test_the_middleware_logs_the_decisions_propensity_for_offline_evaluation(
    tw: Toolwise, records: Records, script: Any
) -> None:
    """``toolwise evaluate`` weighs each advised call by the probability the strategy had of
    putting its tool first; the middleware's records carry it without any labelling."""
    agent = create_agent(script(CALL), [_flaky(0)], middleware=[tw.middleware()])

    _run(agent, "sync")

    [record] = records()
    assert record.decision_id
    assert record.metadata["propensity"] == 1.0  # the only candidate tool
    assert record.metadata["decision_mode"] == "advise"
