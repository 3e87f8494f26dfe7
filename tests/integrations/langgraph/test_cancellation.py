"""A tool call cancelled by a step timeout or an outer ``wait_for`` is recorded as a failure.

The tools here hang until cancelled; the graphs are real, with ``step_timeout`` set on the
compiled graph, and only the chat model is scripted. asyncio does not say who cancelled a call,
so each cancellation is a failure judged ``cancelled`` (error type ``CancelledError``).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool, tool

from toolwise import Toolwise

ENTRIES = ["callback", "middleware", "instrument", "ToolNode wrapper"]
TASK_TYPE = "deploy"
# The tools below hang until cancelled, so any timeout ends them; this one leaves the model's
# step (a few ms) room on a loaded machine, where 0.05 s timed out before the tool was called.
STEP_TIMEOUT = 0.5
# How many times each hanging tool was entered: a timeout that lands in the model's step (its
# recall included) on a loaded machine calls no tool, and the run is repeated.
STARTS: Counter[str] = Counter()


@tool
async def rollout(service: str) -> str:
    """Roll a service out; this one never answers."""
    STARTS["rollout"] += 1
    await asyncio.Event().wait()
    return f"{service} rolled out"


@tool
async def status(service: str) -> str:
    """Read a service's status."""
    return f"{service} healthy"


def _call(name: str) -> list[dict[str, Any]]:
    return [{"name": name, "args": {"service": "api"}, "id": "c1"}]


def _build(entry: str, lab: Any, tool_: BaseTool) -> tuple[Any, dict[str, Any]]:
    """The agent for ``entry`` calling ``tool_`` once, and its run config."""
    tw, model = lab.tw, lab.script(_call(tool_.name))
    config: dict[str, Any] = {"metadata": {"toolwise_task_type": TASK_TYPE}}
    if entry == "callback":
        config["callbacks"] = [tw.callback()]
        return create_agent(model, [tool_]), config
    if entry == "middleware":
        return create_agent(model, [tool_], middleware=[tw.middleware()]), config
    if entry == "instrument":
        return create_agent(model, [tw.instrument(tool_)]), config
    from langgraph.prebuilt import ToolNode

    wrapper = tw.tool_wrapper()
    node = ToolNode([tool_], wrap_tool_call=wrapper, awrap_tool_call=wrapper.awrap)
    return lab.tool_node_graph(model, node), config


def _timing_out(agent: Any) -> Any:
    agent.step_timeout = STEP_TIMEOUT
    return agent


def _run(agent: Any, config: dict[str, Any]) -> Awaitable[Any]:
    return agent.ainvoke({"messages": [HumanMessage("roll out api")]}, config)


def _time_out_in_the_tool(
    entry: str,
    lab: Any,
    tool_: BaseTool,
    run: Callable[[Any, dict[str, Any]], Awaitable[Any]] | None = None,
) -> None:
    """Run the agent under a step timeout (or ``run``'s own) until the timeout cuts the hanging
    tool short; a run whose timeout fired before the tool was entered recorded nothing."""
    for _ in range(5):
        entered = STARTS[tool_.name]
        agent, config = _build(entry, lab, tool_)
        with pytest.raises(TimeoutError):
            asyncio.run((run or _run)(_timing_out(agent) if run is None else agent, config))
        if STARTS[tool_.name] > entered:
            return
    pytest.fail(f"five timeouts in a row fired before {tool_.name} was called")


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_step_timeout_records_the_hanging_call_as_cancelled(lab: Any, entry: str) -> None:
    """The graph still raises its TimeoutError; the call is a failure judged cancelled."""
    _time_out_in_the_tool(entry, lab, rollout)

    [record] = lab.records()
    assert (record.tool, record.outcome, record.judged_by, record.error_type) == (
        "rollout",
        "failure",
        "cancelled",
        "CancelledError",
    )
    assert record.latency_ms > 0
    assert record.task_type == TASK_TYPE


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_outer_wait_for_records_the_cancelled_call(lab: Any, entry: str) -> None:
    """Cancelling the whole run from outside records the call it cut short, and re-raises."""

    async def cut_short(agent: Any, config: dict[str, Any]) -> Any:
        return await asyncio.wait_for(_run(agent, config), STEP_TIMEOUT)

    _time_out_in_the_tool(entry, lab, rollout, cut_short)

    assert [(r.outcome, r.judged_by) for r in lab.records()] == [("failure", "cancelled")]


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_sync_tool_blocked_in_its_thread_is_recorded_when_the_step_times_out(
    lab: Any, entry: str
) -> None:
    """A sync tool in an async graph runs in a thread nobody can stop; the awaiting call is
    cancelled, and that is what gets recorded."""
    gate = threading.Event()

    @tool
    def drain(service: str) -> str:
        """Drain a node; this one waits on a lock held elsewhere."""
        STARTS["drain"] += 1
        gate.wait()
        return f"{service} drained"

    async def run_then_release(agent: Any, config: dict[str, Any]) -> None:
        try:
            await _run(_timing_out(agent), config)
        finally:
            gate.set()  # let the worker thread end, so asyncio.run can shut its executor down
            gate.clear()  # and hold the next run's call, should this one not have reached it

    _time_out_in_the_tool(entry, lab, drain, run_then_release)

    assert [(r.tool, r.judged_by) for r in lab.records()] == [("drain", "cancelled")]


def test_the_cancellation_reaches_the_tool(lab: Any) -> None:
    """Recording does not swallow the cancellation: the hanging tool itself is cancelled."""
    cancelled: list[bool] = []

    @tool
    async def watch(service: str) -> str:
        """Watch a rollout until it ends."""
        STARTS["watch"] += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "never"

    _time_out_in_the_tool("ToolNode wrapper", lab, watch)

    assert cancelled == [True]


RUNS = 4


@pytest.mark.parametrize("entry", ENTRIES)
def test_the_ranking_learns_that_a_tool_which_always_hangs_is_failing(lab: Any, entry: str) -> None:
    """After a few step timeouts the hanging tool ranks below one that answers."""
    tw: Toolwise = lab.tw
    for _ in range(RUNS):
        _time_out_in_the_tool(entry, lab, rollout)
        agent, config = _build(entry, lab, status)
        asyncio.run(_run(agent, config))

    tw.flush()

    status_, hanging = tw.recommend(TASK_TYPE, ["rollout", "status"], strategy="greedy")

    assert (status_.tool, hanging.tool) == ("status", "rollout")
    assert hanging.observations == RUNS
    assert hanging.rate < 0.5 < status_.rate


@tool
async def mirror(image: str) -> str:
    """Pull an image from a mirror; this one never answers."""
    STARTS["mirror"] += 1
    await asyncio.Event().wait()
    return f"pulled {image}"


@tool
async def registry(image: str) -> str:
    """Pull an image from the registry; this one never answers either."""
    await asyncio.Event().wait()
    return f"pulled {image}"


@pytest.mark.parametrize("hedge", [False, True], ids=["one at a time", "hedged"])
def test_a_step_timeout_records_the_pool_members_still_running(lab: Any, hedge: bool) -> None:
    """A pool's member cut short by the step timeout is a cancelled failure, like any tool."""
    from toolwise.pools import PoolOptions

    pooled = lab.tw.pool(
        "pull_image",
        [mirror, registry],
        options=PoolOptions(strategy="greedy", hedge=hedge, hedge_delay=0.01),
    )
    for _ in range(5):
        entered = STARTS["mirror"]
        agent = create_agent(
            lab.script([{"name": "pull_image", "args": {"image": "api:1.4"}, "id": "c1"}]), [pooled]
        )
        with pytest.raises(TimeoutError):
            asyncio.run(_run(_timing_out(agent), {}))
        if STARTS["mirror"] > entered:
            break

    running = ["mirror", "registry"] if hedge else ["mirror"]
    recorded = sorted((r.tool, r.outcome, r.judged_by) for r in lab.records())
    assert recorded == [(name, "failure", "cancelled") for name in running]
    assert pooled.pool.stats.cancelled == 0
