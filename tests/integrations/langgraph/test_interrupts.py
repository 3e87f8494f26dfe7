"""``interrupt()`` inside a tool pauses the graph: never a failure, recorded once resumed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, interrupt

from toolwise import ToolOutcome, Toolwise

Records = Callable[..., list[ToolOutcome]]
TASK = "deploy api"
CALL = [{"name": "deploy", "args": {"service": "api"}, "id": "c1"}]


@tool
def deploy(service: str) -> str:
    """Deploy a service once a human said yes."""
    answer = interrupt(f"deploy {service}?")
    return f"{service} deployed" if answer == "yes" else f"{service} left alone"


def _build(entry: str, lab: Any) -> tuple[Any, dict[str, Any]]:
    """The agent for ``entry``, with a checkpointer (interrupts need one) and a thread id."""
    tw, model, saver = lab.tw, lab.script(CALL), InMemorySaver()
    config: dict[str, Any] = {"configurable": {"thread_id": f"t-{entry}"}}
    if entry == "callback":
        config["callbacks"] = [tw.callback()]
        return create_agent(model, [deploy], checkpointer=saver), config
    if entry == "middleware":
        agent = create_agent(model, [deploy], middleware=[tw.middleware()], checkpointer=saver)
        return agent, config
    if entry == "instrument":
        return create_agent(model, [tw.instrument(deploy)], checkpointer=saver), config
    wrapper = tw.tool_wrapper()
    node = ToolNode([deploy], wrap_tool_call=wrapper, awrap_tool_call=wrapper.awrap)
    return lab.tool_node_graph(model, node, checkpointer=saver), config


def _invoke(agent: Any, payload: Any, config: dict[str, Any], mode: str) -> Any:
    if mode == "sync":
        return agent.invoke(payload, config)
    return asyncio.run(agent.ainvoke(payload, config))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("entry", ["callback", "middleware", "instrument", "ToolNode wrapper"])
def test_an_interrupted_call_is_not_recorded_and_resumes(lab: Any, entry: str, mode: str) -> None:
    """The pause records nothing; the resumed call is recorded once, as a success."""
    agent, config = _build(entry, lab)

    paused = _invoke(agent, {"messages": [HumanMessage(TASK)]}, config, mode)
    assert paused["__interrupt__"][0].value == "deploy api?"
    assert lab.records() == []

    done = _invoke(agent, Command(resume="yes"), config, mode)

    assert done["messages"][-1].content == "done"
    [record] = lab.records()
    assert (record.outcome, record.tool_output) == ("success", "api deployed")


def test_a_resumed_run_keeps_the_task_through_the_thread_id(lab: Any) -> None:
    """The resumed run never calls the model before the tool: the task is found by thread."""
    agent, config = _build("callback", lab)
    agent.invoke({"messages": [HumanMessage(TASK)]}, config)

    agent.invoke(Command(resume="yes"), config)

    assert [r.task for r in lab.records()] == [TASK]


@pytest.mark.parametrize(("answer", "outcome"), [(True, "success"), (False, "refused")])
def test_a_confirmation_hook_may_ask_a_human_through_interrupt(
    tw: Toolwise, records: Records, script: Any, answer: bool, outcome: str
) -> None:
    """``confirm`` may call ``interrupt()``: the graph pauses, the human's answer decides."""

    @tool
    def rollback(service: str) -> str:
        """Roll a service back to its previous release."""
        return f"{service} rolled back"

    def ask_a_human(name: str, args: dict[str, Any]) -> bool:
        return bool(interrupt({"tool": name, "args": args}))

    guarded = tw.instrument(rollback, requires_confirmation=True, confirm=ask_a_human)
    agent = create_agent(
        script([{"name": "rollback", "args": {"service": "api"}, "id": "c1"}]),
        [guarded],
        checkpointer=InMemorySaver(),
    )
    config: dict[str, Any] = {"configurable": {"thread_id": "t-confirm"}}

    paused = agent.invoke({"messages": [HumanMessage("roll back api")]}, config)
    assert paused["__interrupt__"][0].value == {"tool": "rollback", "args": {"service": "api"}}
    agent.invoke(Command(resume=answer), config)

    assert [r.outcome for r in records()] == [outcome]


def test_the_instrumented_tool_also_pauses_inside_a_timeout_thread(
    tw: Toolwise, records: Records, script: Any
) -> None:
    """With a timeout the tool runs in a worker thread; ``interrupt()`` still pauses the graph."""
    agent = create_agent(
        script(CALL), [tw.instrument(deploy, timeout=30.0)], checkpointer=InMemorySaver()
    )
    config: dict[str, Any] = {"configurable": {"thread_id": "t-timeout"}}

    paused = agent.invoke({"messages": [HumanMessage(TASK)]}, config)
    agent.invoke(Command(resume="no"), config)

    assert "__interrupt__" in paused
    assert [r.tool_output for r in records()] == ["api left alone"]
