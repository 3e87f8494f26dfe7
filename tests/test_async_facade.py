"""The facade's async twins: the same calls, awaited, never blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from langchain_core.tools import tool

from toolwise import Toolwise
from toolwise.storage.clients import ephemeral_client


@tool
async def deploy(service: str) -> str:
    """Deploy a service."""
    if service == "broken":
        raise RuntimeError("ssh timeout")
    return f"deployed {service}"


async def _call(tw: Toolwise, service: str) -> None:
    config = {"callbacks": [tw.callback(agent_id="ops", task_type="deploy")]}
    with contextlib.suppress(RuntimeError):  # the tool's own failure, recorded
        await deploy.ainvoke({"service": service}, config=config)


async def test_async_twins_read_what_was_recorded(tw: Toolwise) -> None:
    """alist_calls, asummary, apriors, arecommend and aforget behave like their sync twins."""
    for service in ("api", "web", "broken"):
        await _call(tw, service)
    assert await tw.aflush(timeout=30)
    calls = await tw.alist_calls("ops", limit=10)
    assert sorted(c.outcome for c in calls) == ["failure", "success", "success"]
    summary = await tw.asummary("ops")
    assert summary.total_calls == 3
    [prior] = await tw.apriors("deploy", "deploy", agent_id="ops")
    assert prior.observations == 3
    [ranked] = await tw.arecommend("deploy", ["deploy"], agent_id="ops")
    assert ranked.tool == "deploy"
    assert await tw.aget_call(calls[0].id, agent_id="ops") == calls[0]
    assert await tw.aforget("ops", tool="deploy") == 3
    assert await tw.alist_calls("ops") == []


async def test_the_event_loop_keeps_running_while_a_flush_waits(tw: Toolwise) -> None:
    """aflush runs in a worker thread: other coroutines make progress meanwhile."""
    for i in range(200):
        await _call(tw, f"svc-{i}")
    ticks = 0
    flushing = asyncio.ensure_future(tw.aflush(timeout=30))
    while not flushing.done():
        ticks += 1
        await asyncio.sleep(0)
    assert await flushing
    assert ticks > 0


async def test_async_with_closes_and_stores_everything(tmp_path: Path, prefix: str) -> None:
    """``async with Toolwise(...)`` closes on exit; what was recorded is stored."""
    client = ephemeral_client()
    async with Toolwise(client=client, spool_dir=tmp_path / "spool", prefix=prefix) as tw:
        await _call(tw, "api")
        await tw.apersist()
    assert tw.counters.pending == 0
    with Toolwise(client=client, spool_dir=tmp_path / "spool2", prefix=prefix) as again:
        assert [c.tool_output for c in again.list_calls("ops")] == ["deployed api"]
