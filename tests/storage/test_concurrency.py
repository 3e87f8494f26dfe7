"""Tool calls from many threads and tasks at once: each recorded exactly once."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

from langchain_core.tools import tool

from toolwise import Toolwise
from toolwise.models import ToolOutcome

THREADS = 8
CALLS_PER_THREAD = 500
TASKS = 1_000


@tool
def lookup(n: int) -> str:
    """Look a number up."""
    return f"found {n}"


def _call_numbers(calls: list[ToolOutcome]) -> list[int]:
    return [json.loads(c.tool_input)["n"] for c in calls]


def test_parallel_threads_record_every_call_once(
    ephemeral_tw: Toolwise, all_calls: Callable[..., list[ToolOutcome]]
) -> None:
    """8 threads × 500 `invoke`s through one handler: 4,000 distinct records, no more."""
    handler = ephemeral_tw.callback(agent_id="threads")
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def worker(thread: int) -> None:
        start.wait()  # all threads hit the handler together
        try:
            for i in range(CALLS_PER_THREAD):
                n = thread * CALLS_PER_THREAD + i
                assert lookup.invoke({"n": n}, config={"callbacks": [handler]}) == f"found {n}"
        except BaseException as exc:  # surfaced below: a thread's assert would be swallowed
            failures.append(exc)

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert failures == []

    total = THREADS * CALLS_PER_THREAD
    assert ephemeral_tw.flush(timeout=120)
    calls = all_calls(ephemeral_tw, "threads")
    assert len(calls) == len({c.id for c in calls}) == total
    assert sorted(_call_numbers(calls)) == list(range(total))
    assert ephemeral_tw.counters.recorded == total


async def test_gathered_async_calls_record_every_call_once(
    ephemeral_tw: Toolwise, all_calls: Callable[..., list[ToolOutcome]]
) -> None:
    """1,000 `ainvoke`s in one `asyncio.gather`: 1,000 distinct records, no more."""
    handler = ephemeral_tw.callback(agent_id="tasks")
    results = await asyncio.gather(
        *(lookup.ainvoke({"n": n}, config={"callbacks": [handler]}) for n in range(TASKS))
    )
    assert results == [f"found {n}" for n in range(TASKS)]

    assert await asyncio.to_thread(ephemeral_tw.flush, 120)
    calls = await asyncio.to_thread(all_calls, ephemeral_tw, "tasks")
    assert len(calls) == len({c.id for c in calls}) == TASKS
    assert sorted(_call_numbers(calls)) == list(range(TASKS))
