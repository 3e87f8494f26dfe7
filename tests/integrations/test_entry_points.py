"""Every entry point, sync and async, records the same call the same way — and only once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.prebuilt import ToolNode, create_react_agent

from toolwise import ToolOutcome, Toolwise
from toolwise.storage.clients import ephemeral_client

TASK = "roll out api to staging"
COMPARED = (
    "tool", "agent_id", "task_type", "environment", "outcome", "quality", "error_type",
    "tool_input", "tool_output", "attempt", "cost",
)  # fmt: skip


@pytest.fixture(params=["deferred", "immediate"])
def tw(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> Iterator[Toolwise]:
    """Every test here runs under both durabilities: a record never depends on when it is
    built (in a background thread after the call, or before the call returns)."""
    instance = Toolwise(
        client=ephemeral_client(),
        spool_dir=tmp_path / "spool",
        prefix=prefix,
        durability=request.param,
    )
    yield instance
    instance.close()


def _judge(output: Any) -> str | None:
    """Graph runs hand the judge a ToolMessage, direct runs the raw value: read both."""
    return "partial" if getattr(output, "content", output) == "nothing to roll out" else None


LABELS: dict[str, Any] = {
    "agent_id": "ops",
    "task_type": "deploy",
    "environment": "staging",
    "judge": _judge,
    "costs": {"rollout_status": 0.25},
}


def _rollout_status() -> BaseTool:
    @tool
    def rollout_status(service: str, replicas: int) -> str:
        """Report whether a service's rollout finished."""
        if service == "stalled":
            raise ValueError("rollout stalled")
        if service == "unreachable":
            raise ToolException("health endpoint timed out")
        return "rolled out" if replicas > 0 else "nothing to roll out"

    rollout_status.handle_tool_error = True
    return rollout_status


def _failure(error_type: str, output: str = "") -> dict[str, Any]:
    return {"outcome": "failure", "quality": 0.0, "error_type": error_type, "tool_output": output}


SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # the tool call's arguments -> the fields every entry point must record for it
    "success": (
        {"service": "api", "replicas": 3},
        {"outcome": "success", "quality": 1.0, "error_type": "", "tool_output": "rolled out"},
    ),
    "judged partial": (
        {"service": "api", "replicas": 0},
        {"outcome": "partial", "quality": 0.5, "error_type": "",
         "tool_output": "nothing to roll out"},
    ),
    "handled ToolException": (
        {"service": "unreachable", "replicas": 1},
        _failure("ToolError", "health endpoint timed out"),
    ),
    "exception": ({"service": "stalled", "replicas": 1}, _failure("ValueError")),
    "bad arguments": (
        {"service": "api", "replicas": "many"},
        {**_failure("ValidationError"), "outcome": "invalid_arguments"},
    ),
}  # fmt: skip


def _in_tool_node(
    lab: Any, tools: list[BaseTool], model: Any, labels: dict[str, Any] = LABELS
) -> Any:
    return lab.tool_node_graph(model, ToolNode(tools)), {"callbacks": [lab.tw.callback(**labels)]}


def _in_react_agent(
    lab: Any, tools: list[BaseTool], model: Any, labels: dict[str, Any] = LABELS
) -> Any:
    return create_react_agent(model, tools), {"callbacks": [lab.tw.callback(**labels)]}


def _in_create_agent(
    lab: Any, tools: list[BaseTool], model: Any, labels: dict[str, Any] = LABELS
) -> Any:
    return create_agent(model, tools), {"callbacks": [lab.tw.callback(**labels)]}


def _instrumented_in_tool_node(
    lab: Any, tools: list[BaseTool], model: Any, labels: dict[str, Any] = LABELS
) -> Any:
    instrumented = [lab.tw.instrument(t, **labels) for t in tools]
    return lab.tool_node_graph(model, ToolNode(instrumented)), {}


def _instrumented_in_create_agent(
    lab: Any, tools: list[BaseTool], model: Any, labels: dict[str, Any] = LABELS
) -> Any:
    return create_agent(model, [lab.tw.instrument(t, **labels) for t in tools]), {}


def _tool_node_wrapper(
    lab: Any, tools: list[BaseTool], model: Any, labels: dict[str, Any] = LABELS
) -> Any:
    wrapper = lab.tw.tool_wrapper(**labels)
    node = ToolNode(tools, wrap_tool_call=wrapper, awrap_tool_call=wrapper.awrap)
    return lab.tool_node_graph(model, node), {}


def _middleware(
    lab: Any, tools: list[BaseTool], model: Any, labels: dict[str, Any] = LABELS
) -> Any:
    return create_agent(model, tools, middleware=[lab.tw.middleware(**labels)]), {}


GRAPH_ENTRY_POINTS: dict[str, Callable[..., Any]] = {
    "callback in ToolNode": _in_tool_node,
    "callback in create_react_agent": _in_react_agent,
    "callback in create_agent": _in_create_agent,
    "instrument in ToolNode": _instrumented_in_tool_node,
    "instrument in create_agent": _instrumented_in_create_agent,
    "ToolNode wrapper": _tool_node_wrapper,
    "middleware": _middleware,
}


def _invoke(runnable: Any, payload: Any, config: Any, mode: str) -> Any:
    if mode == "sync":
        return runnable.invoke(payload, config)
    return asyncio.run(runnable.ainvoke(payload, config))


def _run_direct(lab: Any, entry: str, args: dict[str, Any], mode: str) -> None:
    call = {"type": "tool_call", "name": "rollout_status", "args": args, "id": "call-1"}
    if entry == "callback":
        runnable, config = _rollout_status(), {"callbacks": [lab.tw.callback(**LABELS)]}
    else:
        runnable, config = lab.tw.instrument(_rollout_status(), **LABELS), {}
    with suppress(ValueError):  # also pydantic's ValidationError
        _invoke(runnable, call, config, mode)


def _run_graph(
    lab: Any, entry: str, calls: list[dict[str, Any]], mode: str, labels: dict[str, Any] = LABELS
) -> None:
    model = lab.script(calls)
    runnable, config = GRAPH_ENTRY_POINTS[entry](lab, [_rollout_status()], model, labels)
    with suppress(ValueError):  # ToolNode re-raises tool exceptions: the run fails
        _invoke(runnable, {"messages": [HumanMessage(TASK)]}, config, mode)


def _compared(record: ToolOutcome) -> dict[str, Any]:
    return {name: getattr(record, name) for name in COMPARED}


def _call(service: str = "api", call_id: str = "c1", replicas: int = 1) -> dict[str, Any]:
    return {
        "name": "rollout_status",
        "args": {"service": service, "replicas": replicas},
        "id": call_id,
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("entry", ["callback", "instrument", *GRAPH_ENTRY_POINTS])
def test_every_entry_point_records_the_same_fields(
    lab: Any, entry: str, scenario: str, mode: str
) -> None:
    """The same tool call gives the same record whichever entry point saw it, sync or async."""
    args, expected = SCENARIOS[scenario]
    if entry in ("callback", "instrument"):
        _run_direct(lab, entry, args, mode)
    else:
        _run_graph(lab, entry, [{"name": "rollout_status", "args": args, "id": "c1"}], mode)

    [record] = lab.records("ops")
    assert _compared(record) == {
        "tool": "rollout_status",
        "agent_id": "ops",
        "task_type": "deploy",
        "environment": "staging",
        "tool_input": json.dumps(args),
        "attempt": 1,
        "cost": 0.25,
        **expected,
    }


COMBINATIONS = {
    "callback + ToolNode wrapper": _tool_node_wrapper,
    "callback + middleware": _middleware,
    "callback + instrument": _instrumented_in_create_agent,
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_combined_entry_points_record_each_call_once(lab: Any, combination: str, mode: str) -> None:
    """A callback handler next to another entry point never doubles a record."""
    runnable, _ = COMBINATIONS[combination](lab, [_rollout_status()], lab.script([_call()]))

    config = {"callbacks": [lab.tw.callback(**LABELS)]}
    _invoke(runnable, {"messages": [HumanMessage(TASK)]}, config, mode)

    [record] = lab.records("ops")
    assert record.source != "callback"  # the more informed entry point recorded it


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("inner_entry", ["callback", "middleware"])
def test_a_sub_agent_s_calls_are_recorded_once_under_its_own_agent(
    lab: Any, inner_entry: str, mode: str
) -> None:
    """An agent asked through a tool, with its own entry point, records its tool calls once:
    the outer run's handler, inherited by the sub-agent's run, leaves them to it."""
    middleware = [lab.tw.middleware(agent_id="db-team")] if inner_entry == "middleware" else []
    sub_agent = create_agent(lab.script([_call()]), [_rollout_status()], middleware=middleware)
    own = {"callbacks": [lab.tw.callback(agent_id="db-team")]} if inner_entry == "callback" else {}

    @tool
    async def ask_db_team(question: str) -> str:
        """Ask the database team's agent."""
        if mode == "sync":
            answer = await asyncio.to_thread(
                sub_agent.invoke, {"messages": [HumanMessage(question)]}, own
            )
        else:
            answer = await sub_agent.ainvoke({"messages": [HumanMessage(question)]}, own)
        return str(answer["messages"][-1].content)

    agent = create_agent(
        lab.script([{"name": "ask_db_team", "args": {"question": TASK}, "id": "o1"}]),
        [ask_db_team],
    )
    asyncio.run(
        agent.ainvoke(
            {"messages": [HumanMessage("check the fleet")]},
            {"callbacks": [lab.tw.callback(agent_id="ops")]},
        )
    )

    assert [r.tool for r in lab.records("ops")] == ["ask_db_team"]
    assert [(r.tool, r.task) for r in lab.records("db-team")] == [("rollout_status", TASK)]


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "entry",
    [
        "callback in ToolNode",
        "callback in create_agent",
        "instrument in ToolNode",
        "ToolNode wrapper",
        "middleware",
    ],
)
def test_parallel_tool_calls_are_each_recorded_once(lab: Any, entry: str, mode: str) -> None:
    """Several tool calls in one AIMessage run in parallel and give one record each."""
    calls = [_call(f"svc-{i}", f"c{i}") for i in range(4)]

    _run_graph(lab, entry, calls, mode)

    assert sorted(r.tool_call_id for r in lab.records("ops")) == ["c0", "c1", "c2", "c3"]


@pytest.mark.parametrize(
    "entry",
    [
        "callback in ToolNode",
        "callback in create_react_agent",
        "callback in create_agent",
        "ToolNode wrapper",
        "middleware",
    ],
)
def test_the_task_text_reaches_records_of_graph_runs(lab: Any, entry: str) -> None:
    """The latest human message of the run is stored as the record's task."""
    _run_graph(lab, entry, [_call()], "sync")

    assert [r.task for r in lab.records("ops")] == [TASK]


@pytest.mark.parametrize("outer", ["ToolNode wrapper", "middleware"])
def test_interceptors_leave_instrumented_tools_to_record_with_the_state_handed_down(
    lab: Any, outer: str
) -> None:
    """An instrumented tool records itself; the interceptor hands it the task from state."""
    instrumented = lab.tw.instrument(_rollout_status(), **LABELS)
    runnable, config = GRAPH_ENTRY_POINTS[outer](lab, [instrumented], lab.script([_call()]))

    runnable.invoke({"messages": [HumanMessage(TASK)]}, config)

    [record] = lab.records("ops")
    assert (record.task, record.source) == (TASK, "instrument")


def test_an_instrumented_tool_next_to_a_callback_learns_the_task(lab: Any) -> None:
    """The callback handler hands the run's task to an instrumented tool that records itself."""
    agent = create_agent(lab.script([_call()]), [lab.tw.instrument(_rollout_status(), **LABELS)])

    agent.invoke({"messages": [HumanMessage(TASK)]}, {"callbacks": [lab.tw.callback(**LABELS)]})

    [record] = lab.records("ops")
    assert (record.task, record.source) == (TASK, "instrument")


def test_concurrent_runs_sharing_a_handler_keep_their_own_task(lab: Any) -> None:
    """One handler serving two concurrent runs without thread ids never mixes their tasks."""
    handler = lab.tw.callback(**LABELS)

    async def run(task: str, service: str) -> None:
        agent = create_agent(lab.script([_call(service, service)]), [_rollout_status()])
        await agent.ainvoke({"messages": [HumanMessage(task)]}, {"callbacks": [handler]})

    async def both() -> None:
        await asyncio.gather(run("deploy api", "api"), run("deploy web", "web"))

    asyncio.run(both())

    assert sorted((r.tool_call_id, r.task) for r in lab.records("ops")) == [
        ("api", "deploy api"),
        ("web", "deploy web"),
    ]


SECRET = "sk-" + "a1B2c3D4e5F6g7H8i9J0"


@pytest.mark.parametrize("entry", ["callback", "instrument", *GRAPH_ENTRY_POINTS])
def test_every_entry_point_redacts_labels_and_tags(lab: Any, entry: str) -> None:
    """Labels and tags pass the redactor on every path, like inputs and outputs."""
    labels = {**LABELS, "task_type": f"deploy {SECRET}", "tags": (f"token={SECRET}",)}
    call = {"name": "rollout_status", "args": {"service": "api", "replicas": 1}, "id": "c1"}
    if entry in ("callback", "instrument"):
        direct = _rollout_status()
        if entry == "callback":
            direct.invoke({**call, "type": "tool_call"}, {"callbacks": [lab.tw.callback(**labels)]})
        else:
            lab.tw.instrument(direct, **labels).invoke({**call, "type": "tool_call"})
    else:
        _run_graph(lab, entry, [call], "sync", labels)

    [record] = lab.records("ops")
    assert SECRET not in record.model_dump_json()
    assert record.task_type == "deploy [REDACTED]"
