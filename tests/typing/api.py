"""The public API as a user writes it: type-checked by ``mypy`` (tox ``type``), never run.

If a signature changes in a way that breaks callers, this file stops type-checking.
"""

from __future__ import annotations

from datetime import timedelta
from typing import assert_type

from langchain_core.tools import BaseTool, tool

import toolwise
from toolwise import (
    InvalidArgumentError,
    LearningConfig,
    Recommendation,
    ToolOutcome,
    ToolPrior,
    ToolwiseCallbackHandler,
    ToolwiseError,
    ToolwiseMiddleware,
    UsageSummary,
    WriterCounters,
)


@tool
def deploy(service: str) -> str:
    """Deploy a service."""
    return service


def recording(tw: toolwise.Toolwise) -> None:
    handler = tw.callback(agent_id="devops", task_type="deploy", environment="production")
    assert_type(handler, ToolwiseCallbackHandler)
    deploy.invoke({"service": "api"}, config={"callbacks": [handler]})
    safe = tw.instrument(deploy, timeout=30, retries=2, cost_estimate=0.01)
    assert_type(safe.name, str)
    assert isinstance(safe, BaseTool)
    middleware = tw.middleware(agent_id="devops", mode="advise")
    assert_type(middleware, ToolwiseMiddleware)
    outcome = tw.record(tool="deploy", outcome="failure", latency_ms=45_000.0)
    assert_type(outcome, ToolOutcome)
    tw.persist()
    assert_type(tw.flush(timeout=5.0), bool)
    assert_type(tw.counters, WriterCounters)
    assert_type(tw.counters.queued, int)


def reading(tw: toolwise.Toolwise) -> None:
    calls = tw.list_calls("devops", tool="deploy", success_only=True, limit=10, offset=0)
    assert_type(calls, list[ToolOutcome])
    assert_type(tw.get_call("id"), ToolOutcome | None)
    assert_type(tw.summary("devops"), UsageSummary)
    ranked = tw.recommend("deploy", ["deploy", deploy], agent_id="devops", objective="balanced")
    assert_type(ranked, list[Recommendation])
    assert_type(tw.priors(agent_id="devops"), list[ToolPrior])


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
