"""Pre-selection in real graphs: a hand-built StateGraph, create_react_agent and create_agent.

Only the LLM is fake: :class:`RecordingModel` plays back a script and keeps every message list
and tool binding it was given, so the tests see exactly what the model saw.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent, tools_condition
from langgraph.types import Command
from pydantic import Field

from toolwise import InvalidArgumentError, ToolOutcome, Toolwise
from toolwise.advice import Advisor
from toolwise.advice.models import tool_name
from toolwise.integrations.langgraph import (
    ToolGuard,
    ToolwiseReactState,
    ToolwiseState,
    advised_model,
    bind_advised,
    make_pre_model_hook,
    make_preselect_node,
    with_brief,
)

Records = Callable[..., list[ToolOutcome]]
REQUEST = "Deploy the payments api to production"
SYSTEM = "You are the ops assistant."


class RecordingModel(GenericFakeChatModel):
    """Plays back scripted replies; remembers the messages and the tools it was given."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound: list[tuple[list[str], Any]] = Field(default_factory=list)

    def bind_tools(  # type: ignore[override]
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> RecordingModel:
        self.bound.append(([tool_name(t) for t in tools], tool_choice))
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def _model(*calls: str) -> RecordingModel:
    """A model that calls each named tool in turn (one per turn), then answers ``done``."""
    replies = [
        AIMessage("", tool_calls=[{"name": name, "args": {"target": "api"}, "id": f"call{n}"}])
        for n, name in enumerate(calls)
    ]
    return RecordingModel(messages=iter([*replies, AIMessage("done")]))


@pytest.fixture
def ran() -> list[str]:
    """Names of the tools that actually ran, in order."""
    return []


@pytest.fixture
def tools(ran: list[str]) -> list[BaseTool]:
    """A reliable deploy tool, an unreliable one, and a destructive one."""

    @tool
    def kubectl_apply(target: str) -> str:
        """Apply the manifests of a service."""
        ran.append("kubectl_apply")
        return f"applied {target}"

    @tool
    def helm_upgrade(target: str) -> str:
        """Upgrade the Helm release of a service."""
        ran.append("helm_upgrade")
        return f"upgraded {target}"

    @tool
    def drop_database(target: str) -> str:
        """Remove a database for good."""
        ran.append("drop_database")
        return f"dropped {target}"

    return [kubectl_apply, helm_upgrade, drop_database]


@pytest.fixture
def history(tw: Toolwise) -> Toolwise:
    """kubectl_apply 20/20, helm_upgrade 2/20 (timing out), both for production deploys."""
    for n in range(20):
        tw.record(tool="kubectl_apply", task_type="production_deploy", latency_ms=400.0)
        tw.record(
            tool="helm_upgrade",
            task_type="production_deploy",
            outcome="success" if n < 2 else "failure",
            error_type="" if n < 2 else "TimeoutError",
            error_message="" if n < 2 else "context deadline exceeded",
        )
    assert tw.flush(timeout=30)
    return tw


def _state_graph(
    tw: Toolwise,
    model: RecordingModel,
    tools: list[BaseTool],
    advisor: Advisor,
    checkpointer: Any = None,
) -> Any:
    """preselect -> model -> ToolNode(guard + recorder) -> preselect …, as users build it."""

    def think(state: ToolwiseState, config: RunnableConfig) -> dict[str, Any]:
        llm = bind_advised(model, tools, state)
        return {"messages": [llm.invoke(with_brief(state), config)]}

    async def athink(state: ToolwiseState, config: RunnableConfig) -> dict[str, Any]:
        llm = bind_advised(model, tools, state)
        return {"messages": [await llm.ainvoke(with_brief(state), config)]}

    guard = ToolGuard(advisor, then=tw.tool_wrapper())
    builder = StateGraph(ToolwiseState)
    builder.add_node("preselect", make_preselect_node(advisor))
    builder.add_node("agent", RunnableLambda(think, afunc=athink))
    builder.add_node("tools", ToolNode(tools, wrap_tool_call=guard, awrap_tool_call=guard.awrap))
    builder.add_edge(START, "preselect")
    builder.add_edge("preselect", "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "preselect")
    return builder.compile(checkpointer=checkpointer)


def _decisions(graph: Any, inputs: Any, config: RunnableConfig | None = None) -> list[str]:
    """Every decision id the run wrote to state, in order."""
    ids: list[str] = []
    for values in graph.stream(inputs, config, stream_mode="values"):
        found = (values.get("toolwise") or {}).get("decision_id")
        if found and found not in ids:
            ids.append(found)
    return ids


def _inputs() -> dict[str, Any]:
    return {"messages": [HumanMessage(REQUEST)]}


def _thread(name: str) -> RunnableConfig:
    return {"configurable": {"thread_id": name}}


# -- a hand-built StateGraph -------------------------------------------------------------------


def test_the_node_puts_the_brief_in_front_of_the_model(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """The model's first message is a system message carrying the ranked brief."""
    model = _model("kubectl_apply")
    _state_graph(history, model, tools, Advisor(history.runtime, tools=tools)).invoke(_inputs())
    first = model.seen[0][0]
    assert isinstance(first, SystemMessage)
    assert first.text.startswith('[toolwise] Past tool outcomes for task "production_deploy"')
    assert "kubectl_apply: 95%" in first.text


def test_the_node_keeps_the_brief_out_of_the_history(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """Stored messages hold no brief; the decision lives under the ``toolwise`` key."""
    graph = _state_graph(
        history, _model("kubectl_apply"), tools, Advisor(history.runtime, tools=tools)
    )
    final = graph.invoke(_inputs())
    assert [m.type for m in final["messages"]] == ["human", "ai", "tool", "ai"]
    assert not any("[toolwise]" in m.text for m in final["messages"])
    assert final["toolwise"]["brief"].startswith("[toolwise]")


def test_the_node_merges_the_brief_into_an_existing_system_message(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """With a system prompt in the thread, the model still gets a single system message."""
    model = _model("kubectl_apply")
    graph = _state_graph(history, model, tools, Advisor(history.runtime, tools=tools))
    graph.invoke({"messages": [SystemMessage(SYSTEM), HumanMessage(REQUEST)]})
    assert [m.type for m in model.seen[0]] == ["system", "human"]
    assert model.seen[0][0].text.startswith(SYSTEM + "\n\n[toolwise]")


def test_a_node_without_tools_is_refused_when_built(tw: Toolwise) -> None:
    """The node cannot see what the model binds, so it must be given the tools."""
    with pytest.raises(InvalidArgumentError, match="tools"):
        tw.preselect_node()


def test_the_node_links_the_decision_to_the_records(
    history: Toolwise, tools: list[BaseTool], records: Records
) -> None:
    """The tool call's record carries the decision id and the recommended tool."""
    graph = _state_graph(
        history,
        _model("kubectl_apply"),
        tools,
        Advisor(history.runtime, tools=tools, strategy="greedy"),
    )
    first_decision = _decisions(graph, _inputs())[0]
    [record] = _advised(records())
    assert record.decision_id == first_decision
    assert record.recommended_tool == "kubectl_apply"


def test_the_records_carry_the_decisions_propensity_for_offline_evaluation(
    history: Toolwise, tools: list[BaseTool], records: Records
) -> None:
    """Thompson's probability of ranking the called tool first goes with its record, so
    ``toolwise evaluate`` can weigh the agent's own decisions (no hand labelling)."""
    graph = _state_graph(
        history, _model("helm_upgrade"), tools, Advisor(history.runtime, tools=tools)
    )
    graph.invoke(_inputs())
    [record] = _advised(records())
    assert record.tool == "helm_upgrade"  # the model went against the advice
    logged = record.metadata["propensity"]
    assert 0.0 <= logged < 0.5  # 2/20 against 20/20: Thompson (almost) never puts it first
    assert record.metadata["decision_mode"] == "advise"


def test_a_propensity_written_into_state_by_hand_is_checked(
    history: Toolwise, tools: list[BaseTool], records: Records
) -> None:
    """State is user-writable: only probabilities for the state's own decision are recorded."""
    from toolwise.recording.context import CallContext, RecordingDefaults

    state = {"toolwise": {"decision_id": "d1", "propensities": {"a": 2.0, "b": 0.5, "c": "x"}}}
    ctx = CallContext.resolve(RecordingDefaults(), {}, state)
    assert ctx.logged_propensity("b") == {"propensity": 0.5, "decision_mode": ""}
    assert ctx.logged_propensity("a") == {}  # 2.0 is no probability
    assert ctx.logged_propensity("c") == {}
    other = CallContext.resolve(RecordingDefaults(), {"toolwise_decision_id": "d2"}, state)
    assert other.logged_propensity("b") == {}


def _advised(found: list[ToolOutcome]) -> list[ToolOutcome]:
    return [o for o in found if o.decision_id]


def test_adherence_is_reported_from_the_linked_records(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """Following the advice shows up in ``tw.summary().advice``."""
    graph = _state_graph(
        history,
        _model("kubectl_apply"),
        tools,
        Advisor(history.runtime, tools=tools, strategy="greedy"),
    )
    graph.invoke(_inputs())
    advice = history.summary().advice
    assert advice["adherence"] == 1.0
    assert advice["followed_calls"] == 1.0


def test_filter_unbinds_the_hidden_tool_and_refuses_it(
    history: Toolwise, tools: list[BaseTool], ran: list[str], records: Records
) -> None:
    """The model is not offered the hidden tool, and naming it anyway does not run it."""
    model = _model("helm_upgrade")
    advisor = Advisor(history.runtime, tools=tools, mode="filter")
    final = _state_graph(history, model, tools, advisor).invoke(_inputs())
    assert model.bound[0][0] == ["kubectl_apply", "drop_database"]
    refusal = final["messages"][2]
    assert (refusal.status, "not available" in refusal.text) == ("error", True)
    assert "helm_upgrade" not in ran
    assert [(r.outcome, r.error_type) for r in _advised(records())] == [("refused", "HiddenTool")]


def test_a_destructive_call_pauses_and_runs_once_approved(
    tw: Toolwise, tools: list[BaseTool], ran: list[str], records: Records
) -> None:
    """``drop_database`` waits for a human; approving runs it and records a success."""
    graph = _state_graph(
        tw, _model("drop_database"), tools, Advisor(tw.runtime, tools=tools), InMemorySaver()
    )
    paused = graph.invoke(_inputs(), _thread("approve"))
    [pending] = paused["__interrupt__"]
    assert (pending.value["type"], pending.value["name"]) == ("tool_approval", "drop_database")
    assert ran == []
    graph.invoke(Command(resume={"type": "approve"}), _thread("approve"))
    assert ran == ["drop_database"]
    assert [r.outcome for r in records()] == ["success"]


def test_a_refused_call_is_recorded_as_refused_not_failed(
    tw: Toolwise, tools: list[BaseTool], ran: list[str], records: Records
) -> None:
    """Refusing does not run the tool, tells the model why, and records ``refused``."""
    graph = _state_graph(
        tw, _model("drop_database"), tools, Advisor(tw.runtime, tools=tools), InMemorySaver()
    )
    paused = graph.invoke(_inputs(), _thread("refuse"))
    final = graph.invoke(
        Command(resume={"type": "reject", "message": "not in prod"}), _thread("refuse")
    )
    assert ran == []
    assert "refused" in final["messages"][2].text
    assert "not in prod" in final["messages"][2].text
    [record] = records()
    assert (record.outcome, record.error_type) == ("refused", "HumanRefusal")
    assert record.decision_id == paused["toolwise"]["decision_id"]


async def test_the_node_works_under_ainvoke(history: Toolwise, tools: list[BaseTool]) -> None:
    """The async path briefs the model the same way."""
    model = _model("kubectl_apply")
    graph = _state_graph(history, model, tools, Advisor(history.runtime, tools=tools))
    final = await graph.ainvoke(_inputs())
    assert final["messages"][-1].text == "done"
    assert model.seen[0][0].text.startswith("[toolwise]")


async def test_an_async_refusal_resumes_with_a_checkpointer(
    tw: Toolwise, tools: list[BaseTool], ran: list[str], records: Records
) -> None:
    """Pause and resume work on the async path too."""
    graph = _state_graph(
        tw, _model("drop_database"), tools, Advisor(tw.runtime, tools=tools), InMemorySaver()
    )
    paused = await graph.ainvoke(_inputs(), _thread("async"))
    assert paused["__interrupt__"]
    await graph.ainvoke(Command(resume=False), _thread("async"))
    assert ran == []
    assert [r.outcome for r in records()] == ["refused"]


# -- create_react_agent -------------------------------------------------------------------------


def test_the_pre_model_hook_briefs_without_touching_history(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """``llm_input_messages`` carries the brief; the stored messages do not."""
    model = _model("kubectl_apply")
    agent = create_react_agent(
        model,
        ToolNode(tools, wrap_tool_call=history.tool_wrapper()),
        prompt=SYSTEM,
        pre_model_hook=history.pre_model_hook(tools=tools),
        state_schema=ToolwiseReactState,
    )
    final = agent.invoke(_inputs())
    texts = [m.text for m in model.seen[0] if isinstance(m, SystemMessage)]
    assert texts[0] == SYSTEM
    assert texts[1].startswith("[toolwise]")
    assert not any(isinstance(m, SystemMessage) for m in final["messages"])


def test_the_pre_model_hook_links_the_decision_to_the_records(
    history: Toolwise, tools: list[BaseTool], records: Records
) -> None:
    """With ``ToolwiseReactState`` the ToolNode's records carry the decision id."""
    agent = create_react_agent(
        _model("kubectl_apply"),
        ToolNode(tools, wrap_tool_call=history.tool_wrapper()),
        pre_model_hook=history.pre_model_hook(tools=tools),
        state_schema=ToolwiseReactState,
    )
    first_decision = _decisions(agent, _inputs())[0]
    [record] = _advised(records())
    assert record.decision_id == first_decision


async def test_the_pre_model_hook_streams_asynchronously(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """``astream`` runs the hook's async twin and the brief still reaches the model."""
    model = _model("kubectl_apply")
    agent = create_react_agent(
        model,
        ToolNode(tools),
        pre_model_hook=history.pre_model_hook(tools=tools),
        state_schema=ToolwiseReactState,
    )
    chunks = [chunk async for chunk in agent.astream(_inputs(), stream_mode="updates")]
    assert any("pre_model_hook" in chunk for chunk in chunks)
    assert model.seen[0][0].text.startswith("[toolwise]")


def test_route_forces_the_tool_through_the_dynamic_model(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """``advised_model`` binds ``tool_choice`` to the routed tool on the decision turn only."""
    model = _model("kubectl_apply")
    advisor = Advisor(history.runtime, tools=tools, mode="route", strategy="greedy")
    agent = create_react_agent(
        advised_model(model, tools),
        ToolNode(tools, wrap_tool_call=ToolGuard(advisor)),
        pre_model_hook=make_pre_model_hook(advisor),
        state_schema=ToolwiseReactState,
    )
    agent.invoke(_inputs())
    assert [choice for _, choice in model.bound] == ["kubectl_apply", None]


# -- create_agent with middleware ---------------------------------------------------------------


def _agent(tw: Toolwise, model: RecordingModel, tools: list[BaseTool], **options: Any) -> Any:
    checkpointer = options.pop("checkpointer", None)
    return create_agent(
        model,
        tools,
        system_prompt=SYSTEM,
        middleware=[tw.middleware(**options)],
        checkpointer=checkpointer,
    )


def test_the_middleware_appends_the_brief_to_the_system_prompt(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """The model sees one system message: the agent's prompt, then the brief."""
    model = _model("kubectl_apply")
    final = _agent(history, model, tools).invoke(_inputs())
    system = model.seen[0][0]
    assert system.text.startswith(SYSTEM + "\n\n[toolwise]")
    assert [m.type for m in model.seen[0]] == ["system", "human"]
    assert not any("[toolwise]" in m.text for m in final["messages"])


def test_the_middleware_links_the_decision_to_the_records(
    history: Toolwise, tools: list[BaseTool], records: Records
) -> None:
    """The recording middleware reads the decision the model call wrote to state."""
    agent = _agent(history, _model("kubectl_apply"), tools, strategy="greedy")
    first_decision = _decisions(agent, _inputs())[0]
    [record] = _advised(records())
    assert (record.decision_id, record.recommended_tool) == (first_decision, "kubectl_apply")


def test_the_middleware_filter_hides_and_refuses(
    history: Toolwise, tools: list[BaseTool], ran: list[str], records: Records
) -> None:
    """The hidden tool is not bound, and a call naming it is refused, not run."""
    model = _model("helm_upgrade")
    final = _agent(history, model, tools, mode="filter").invoke(_inputs())
    assert "helm_upgrade" not in model.bound[0][0]
    assert final["messages"][2].status == "error"
    assert "helm_upgrade" not in ran
    assert [r.outcome for r in _advised(records())] == ["refused"]


def test_the_middleware_route_forces_only_the_first_choice(
    history: Toolwise, tools: list[BaseTool]
) -> None:
    """``tool_choice`` names the routed tool, then is left free after the tool result."""
    model = _model("kubectl_apply")
    _agent(history, model, tools, mode="route", strategy="greedy").invoke(_inputs())
    assert [choice for _, choice in model.bound] == ["kubectl_apply", None]


def test_the_middleware_asks_before_a_destructive_call(
    tw: Toolwise, tools: list[BaseTool], ran: list[str]
) -> None:
    """In ``create_agent`` too, a destructive call waits for approval and then runs."""
    agent = _agent(tw, _model("drop_database"), tools, checkpointer=InMemorySaver())
    paused = agent.invoke(_inputs(), _thread("mw"))
    assert paused["__interrupt__"][0].value["name"] == "drop_database"
    agent.invoke(Command(resume=True), _thread("mw"))
    assert ran == ["drop_database"]


async def test_the_middleware_streams_asynchronously(
    history: Toolwise, tools: list[BaseTool], records: Records
) -> None:
    """``astream`` runs the async hooks: the brief is shown and the record is linked."""
    model = _model("kubectl_apply")
    agent = _agent(history, model, tools)
    decisions: list[str] = []
    async for values in agent.astream(_inputs(), stream_mode="values"):
        found = (values.get("toolwise") or {}).get("decision_id")
        if found and found not in decisions:
            decisions.append(found)
    assert model.seen[0][0].text.startswith(SYSTEM + "\n\n[toolwise]")
    [record] = _advised(records())
    assert record.decision_id == decisions[0]
