"""The public API as a user writes it: type-checked by ``mypy`` (tox ``type``), never run.

If a signature changes in a way that breaks callers, this file stops type-checking. Each way of
adopting toolwise appears once, in its shortest form; the ``type: ignore`` lines prove that a
misspelt option fails in the type checker (strict mypy reports an unused ignore otherwise).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, assert_type

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent

import toolwise
from toolwise import (
    AdviceOptions,
    Advisor,
    Brief,
    InvalidArgumentError,
    LearningConfig,
    Recommendation,
    Runtime,
    ToolOutcome,
    ToolPrior,
    ToolwiseError,
    UsageSummary,
)
from toolwise.integrations.langchain import ToolwiseCallbackHandler, ToolwiseMiddleware
from toolwise.integrations.langgraph import (
    ToolCallRecorder,
    ToolGuard,
    ToolwiseReactState,
    ToolwiseState,
    advised_model,
    with_brief,
)
from toolwise.recording import FieldRule, JudgeRules, LLMJudge
from toolwise.recording.judge import declare_judge
from toolwise.storage import WriterCounters


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return service


# -- the adoption styles, shortest form -------------------------------------------------------


def with_a_callback(tw: toolwise.Toolwise) -> None:
    handler = tw.callback(agent_id="devops", task_type="deploy")
    assert_type(handler, ToolwiseCallbackHandler)
    deploy.invoke({"service": "api"}, config={"callbacks": [handler]})


def with_an_instrumented_tool(tw: toolwise.Toolwise) -> BaseTool:
    return tw.instrument(deploy, timeout=30, retries=2, cost_estimate=0.01, agent_id="devops")


def with_a_tool_node_wrapper(tw: toolwise.Toolwise) -> ToolNode:
    wrapper = tw.tool_wrapper(agent_id="devops")
    assert_type(wrapper, ToolCallRecorder)
    return ToolNode([deploy], wrap_tool_call=wrapper, awrap_tool_call=wrapper.awrap)


def with_create_agent_middleware(tw: toolwise.Toolwise, model: BaseChatModel) -> Any:
    middleware = tw.middleware(agent_id="devops", mode="filter", top_k=3)
    assert_type(middleware, ToolwiseMiddleware)
    tw.middleware(advice=AdviceOptions(mode="route", strategy="greedy"))
    tw.middleware(top_kk=3)  # type: ignore[call-arg]
    return create_agent(model, [deploy], middleware=[middleware])


def with_a_preselect_node(tw: toolwise.Toolwise, model: BaseChatModel) -> Any:
    def agent(state: ToolwiseState) -> dict[str, Any]:
        return {"messages": [model.invoke(with_brief(state))]}

    builder = StateGraph(ToolwiseState)
    builder.add_node("preselect", tw.preselect_node(tools=[deploy], agent_id="devops"))
    builder.add_node("agent", agent)
    builder.add_edge(START, "preselect")
    builder.add_edge("preselect", "agent")
    tw.preselect_node(tool=[deploy])  # type: ignore[call-arg]
    return builder.compile()


def with_a_pre_model_hook(tw: toolwise.Toolwise, model: BaseChatModel) -> Any:
    hook = tw.pre_model_hook(tools=[deploy], mode="filter")
    assert_type(hook, Runnable[Any, Any])
    guard = tw.tool_guard(agent_id="devops", mode="filter")
    assert_type(guard, ToolGuard)
    return create_react_agent(
        advised_model(model, [deploy]),
        ToolNode([deploy], wrap_tool_call=guard, awrap_tool_call=guard.awrap),
        pre_model_hook=hook,
        state_schema=ToolwiseReactState,
    )


def without_a_framework(tw: toolwise.Toolwise) -> None:
    outcome = tw.record(tool="deploy", outcome="failure", latency_ms=45_000.0)
    assert_type(outcome, ToolOutcome)
    assert_type(tw.observe("deploy", True, task_type="release"), ToolPrior)
    ranked = tw.recommend("release", ["deploy", deploy], agent_id="devops")
    assert_type(ranked, list[Recommendation])


# -- the runtime and the advisor, for hosts other than Toolwise -----------------------------


def on_a_runtime(runtime: Runtime) -> None:
    assert_type(runtime.record(tool="deploy", latency_ms=12.0), ToolOutcome)
    batch = runtime.record_many([{"tool": "deploy"}, ToolOutcome(tool="rollback")])
    assert_type(batch, list[ToolOutcome])
    assert_type(runtime.calls.list_calls("devops", limit=10), list[ToolOutcome])
    advisor = Advisor(runtime, agent_id="devops", tools=["deploy"], top_k=3)
    assert_type(advisor.advise(), Brief)
    Advisor(runtime, top_kk=3)  # type: ignore[call-arg]
    assert_type(toolwise.Toolwise(runtime=runtime).runtime, Runtime)


# -- lifecycle and reads ----------------------------------------------------------------------


def recording(tw: toolwise.Toolwise) -> None:
    tw.persist()
    assert_type(tw.flush(timeout=5.0), bool)
    assert_type(tw.counters, WriterCounters)
    assert_type(tw.counters.queued, int)


def reading(tw: toolwise.Toolwise) -> None:
    calls = tw.list_calls("devops", tool="deploy", success_only=True, limit=10, offset=0)
    assert_type(calls, list[ToolOutcome])
    assert_type(tw.get_call("id"), ToolOutcome | None)
    assert_type(tw.summary("devops"), UsageSummary)
    assert_type(tw.priors(agent_id="devops", task_type="release"), list[ToolPrior])


async def reading_async(tw: toolwise.Toolwise) -> None:
    assert_type(await tw.alist_calls("devops", tool="deploy", limit=10), list[ToolOutcome])
    assert_type(await tw.asummary("devops"), UsageSummary)
    assert_type(await tw.arecommend("deploy", ["deploy"], agent_id="devops"), list[Recommendation])
    assert_type(await tw.aflush(timeout=5.0), bool)
    await tw.apersist()
    async with toolwise.Toolwise(".toolwise") as scoped:
        assert_type(await scoped.apriors(agent_id="devops"), list[ToolPrior])


def configuring() -> toolwise.Toolwise:
    try:
        return toolwise.Toolwise(
            ".toolwise",
            ttl=timedelta(days=30),
            durability="immediate",
            fsync="always",
            learning=LearningConfig(half_life=timedelta(days=7), time_buckets="auto"),
        )
    except InvalidArgumentError as exc:
        assert_type(exc.field, str)
        raise
    except ToolwiseError:
        raise


def judging(model: BaseChatModel) -> toolwise.Toolwise:
    tw = toolwise.Toolwise(".toolwise", quality_judge=LLMJudge(model, tools=["search"]))
    not_found = JudgeRules(fields=(FieldRule("status", equals=404, outcome="partial"),))
    tw.callback(judge={"fetch": not_found, "*": lambda output: None})
    assert_type(tw.counters.judge_fallbacks, int)
    return tw


def declaring(find: BaseTool) -> BaseTool:
    return assert_type(declare_judge(find, JudgeRules(empty="partial")), BaseTool)


def misspelt_setting() -> None:
    toolwise.Toolwise(".toolwise", ttl_days=30)  # type: ignore[call-arg]


assert_type(toolwise.__version__, str)
