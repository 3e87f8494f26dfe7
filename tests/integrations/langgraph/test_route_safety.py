"""``route`` can't be steered into danger: 200 turns through a real LangGraph graph.

Issue 10 item 6: with Thompson sampling, ``route`` forced ``tool_choice`` onto
``delete_everything`` 74 and ``drop_database`` 70 times in 200 turns (the reliable
``kubectl_apply``, 67 % success, 56 times): a little-known tool draws optimistic samples,
and forcing the sample's top tool turned exploration into an order. Now ``route`` never
forces a tool that needs approval, and never an untried one unless the caller opts in
(``route_untried=True``); exploration happens in the brief's wording only.

Only the LLM is scripted: :class:`ObedientModel` does what a provider does with
``tool_choice`` (calls the forced tool) and otherwise follows its habit, so every forced
choice is seen where it reaches the model. Tools, graph, guard, recorder and Chroma are real.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from pydantic import Field

from toolwise import Toolwise
from toolwise.advice import Advisor
from toolwise.integrations.langgraph import (
    ToolGuard,
    ToolwiseState,
    bind_advised,
    make_preselect_node,
    with_brief,
)

TURNS = 200
TASK = "production_deploy"
GATED = {"delete_everything", "drop_database", "restart_cluster"}


class ObedientModel(BaseChatModel):
    """Calls the tool ``tool_choice`` names, else its habit; answers after a tool result.

    Every binding's ``tool_choice`` is appended to :attr:`choices` (shared by the copies
    ``bind_tools`` returns), one per model turn.
    """

    habit: str = "kubectl_apply"
    choice: str | None = None
    choices: list[str | None] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "obedient-scripted"

    def bind_tools(  # type: ignore[override]
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> ObedientModel:
        self.choices.append(tool_choice)
        return self.model_copy(update={"choice": tool_choice})

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        if isinstance(messages[-1], ToolMessage):
            reply = AIMessage("done")
        else:
            name = self.choice or self.habit
            call = {"name": name, "args": {"target": "api"}, "id": f"call-{len(self.choices)}"}
            reply = AIMessage("", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=reply)])


def _tools(ran: Counter[str]) -> list[BaseTool]:
    """The issue's set: a 67 % deploy tool, two destructive ones, a listed one, a new one."""
    luck = random.Random(67)

    @tool
    def kubectl_apply(target: str) -> str:
        """Apply the manifests of a service."""
        ran["kubectl_apply"] += 1
        if luck.random() >= 0.67:
            raise ToolException("context deadline exceeded")
        return f"applied {target}"

    @tool
    def argo_sync(target: str) -> str:
        """Sync the Argo CD application of a service."""
        ran["argo_sync"] += 1
        return f"synced {target}"

    @tool
    def delete_everything(target: str) -> str:
        """Remove every resource of a namespace."""
        ran["delete_everything"] += 1
        return f"deleted {target}"

    @tool
    def drop_database(target: str) -> str:
        """Remove a database for good."""
        ran["drop_database"] += 1
        return f"dropped {target}"

    @tool
    def restart_cluster(target: str) -> str:
        """Restart every node of the cluster."""
        ran["restart_cluster"] += 1
        return f"restarted {target}"

    for each in (kubectl_apply, argo_sync, delete_everything, drop_database, restart_cluster):
        each.handle_tool_error = True
    return [kubectl_apply, argo_sync, delete_everything, drop_database, restart_cluster]


def _history(tw: Toolwise) -> None:
    """kubectl_apply 20/30 (the issue's 67 %); ``drop_database`` *tried*, with a perfect
    little record (3/3), so Thompson often puts it first and only the approval rule keeps it
    unforced. ``delete_everything``, ``restart_cluster`` and ``argo_sync`` stay untried."""
    for n in range(30):
        tw.record(tool="kubectl_apply", task_type=TASK, outcome="success" if n < 20 else "failure")
    for _ in range(3):
        tw.record(tool="drop_database", task_type=TASK)
    assert tw.flush(timeout=30)


def _graph(tw: Toolwise, advisor: Advisor, model: ObedientModel, tools: list[BaseTool]) -> Any:
    """preselect → model → ToolNode(guard → recorder) → preselect …, with a checkpointer."""
    guard = ToolGuard(advisor, then=tw.tool_wrapper(task_type=TASK))

    def think(state: ToolwiseState, config: RunnableConfig) -> dict[str, Any]:
        llm = bind_advised(model, tools, state)
        return {"messages": [llm.invoke(with_brief(state), config)]}

    builder = StateGraph(ToolwiseState)
    builder.add_node("preselect", make_preselect_node(advisor))
    builder.add_node("agent", think)
    builder.add_node("tools", ToolNode(tools, wrap_tool_call=guard))
    builder.add_edge(START, "preselect")
    builder.add_edge("preselect", "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "preselect")
    return builder.compile(checkpointer=InMemorySaver())


def _run(tw: Toolwise, *, route_untried: bool) -> tuple[Counter[str], list[str | None], Counter]:
    """200 requests through preselect → model → ToolNode(guard → recorder) → preselect.

    Returns the tools that ran, every ``tool_choice`` the model was bound with, and the
    tools the graph paused on for approval.
    """
    ran: Counter[str] = Counter()
    tools = _tools(ran)
    model = ObedientModel()
    advisor = Advisor(
        tw.runtime,
        tools=tools,
        mode="route",
        task_type=TASK,
        seed=10,
        top_k=0,
        requires_confirmation={"restart_cluster"},
        route_untried=route_untried,
    )
    graph = _graph(tw, advisor, model, tools)

    paused: Counter[str] = Counter()
    for turn in range(TURNS):
        config: RunnableConfig = {"configurable": {"thread_id": f"turn-{turn}"}}
        result = graph.invoke({"messages": [HumanMessage("Deploy the payments api")]}, config)
        for pause in result.get("__interrupt__", ()):
            paused[pause.value["name"]] += 1
    assert tw.flush(timeout=30)
    return ran, model.choices, paused


def test_route_never_forces_a_gated_or_untried_tool_in_200_turns(tw: Toolwise) -> None:
    """By default: no forced destructive, listed or untried tool; no pause for approval;
    ``route`` still forces ``kubectl_apply`` on the turns its sample ranks it first."""
    _history(tw)
    ran, choices, paused = _run(tw, route_untried=False)
    forced = Counter(choice for choice in choices if choice)
    assert not GATED & set(forced), forced
    assert forced["argo_sync"] == 0
    assert forced["kubectl_apply"] > 0  # route still routes: the rule only removes danger
    assert not paused
    assert set(ran) == {"kubectl_apply"}  # the model's own choice when nothing is forced
    # The decision turn of every request was bound once, the answer turn once more.
    assert len(choices) == 2 * TURNS


def test_route_forces_an_untried_tool_once_the_caller_opts_in(tw: Toolwise, records: Any) -> None:
    """``route_untried=True``: the new, safe ``argo_sync`` may be forced (exploration by
    force), and every forced call of it ran and was recorded as the recommendation; the gated
    tools, tried or not, are still never forced."""
    _history(tw)
    ran, choices, paused = _run(tw, route_untried=True)
    forced = Counter(choice for choice in choices if choice)
    assert not GATED & set(forced), forced
    assert forced["argo_sync"] > 0
    assert ran["argo_sync"] == forced["argo_sync"]
    assert not paused
    assert not GATED & set(ran)
    argo = records(tool="argo_sync")
    assert len(argo) == forced["argo_sync"]
    assert all(r.recommended_tool == "argo_sync" for r in argo)


@pytest.mark.parametrize("route_untried", [False, True])
def test_a_gated_tool_the_model_picks_itself_still_asks(tw: Toolwise, route_untried: bool) -> None:
    """Not forcing is not forbidding: a destructive call the model makes on its own goes to
    the human as before (the guard), whatever ``route_untried`` says."""
    _history(tw)
    tools = _tools(Counter())
    advisor = Advisor(
        tw.runtime, tools=tools, mode="route", task_type=TASK, route_untried=route_untried
    )
    model = ObedientModel(habit="drop_database")
    graph = _graph(tw, advisor, model, tools)
    for turn in range(20):
        start = len(model.choices)
        config: RunnableConfig = {"configurable": {"thread_id": f"t{turn}"}}
        result = graph.invoke({"messages": [HumanMessage("Drop the payments database")]}, config)
        if model.choices[start] is None:  # left free, the model followed its own pick
            assert [p.value["name"] for p in result["__interrupt__"]] == ["drop_database"]
            assert model.choices[start + 1 :] == []  # paused before the tool ran
            return
    pytest.fail("route forced a tool on every one of 20 turns")


@pytest.mark.parametrize(
    ("record", "options"),
    [
        ("drop_database", {}),  # top of the ranking, destructive by name
        ("restart_cluster", {"requires_confirmation": {"restart_cluster"}}),  # listed
        (None, {}),  # no record at all: every tool untried
    ],
)
def test_the_middleware_routes_the_same_way(
    tw: Toolwise, record: str | None, options: dict[str, Any]
) -> None:
    """``create_agent`` with ``tw.middleware(mode="route")``: a greedy ranking with a gated or
    untried tool on top forces nothing, and the model's own choice runs."""
    if record is not None:
        for _ in range(10):
            tw.record(tool=record, task_type=TASK)
        for n in range(10):
            tw.record(
                tool="kubectl_apply", task_type=TASK, outcome="success" if n < 5 else "failure"
            )
        assert tw.flush(timeout=30)
    ran: Counter[str] = Counter()
    model = ObedientModel()
    middleware = tw.middleware(mode="route", strategy="greedy", task_type=TASK, **options)
    agent = create_agent(model, _tools(ran), middleware=[middleware])
    agent.invoke({"messages": [HumanMessage("Deploy the payments api")]})
    assert model.choices == [None, None]
    assert ran == Counter({"kubectl_apply": 1})
