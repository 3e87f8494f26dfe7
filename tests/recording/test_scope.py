"""One context-local scope decides which entry point records a call, and carries what it knows."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from langchain_core.tools import tool

from toolwise.recording.scope import (
    SELF_RECORDING_KEY,
    approved,
    claim,
    current,
    hand_down,
    handed_down_state,
    is_approved,
    is_claimed,
    records_itself,
)


def test_the_outermost_claim_records_and_inner_ones_stay_silent() -> None:
    with claim("deploy") as outer:
        with claim("deploy") as inner:
            assert (outer, inner) == (True, False)
        assert is_claimed("deploy")
    assert not is_claimed("deploy")


def test_nested_blocks_restore_the_scope_they_found() -> None:
    """State, claims and approvals travel together; each block undoes only its own change."""
    before = current()
    with hand_down({"toolwise": {"task_type": "deploy"}}), approved("drop_db"):
        with claim("drop_db"):
            assert is_claimed("drop_db")
            assert is_approved("drop_db")
            assert handed_down_state() == {"toolwise": {"task_type": "deploy"}}
        assert not is_claimed("drop_db")
        assert is_approved("drop_db")
    assert current() == before


def test_parallel_calls_never_see_each_others_scope() -> None:
    seen: dict[str, bool] = {}

    def other_call() -> None:
        seen["other"] = is_claimed("deploy")

    with claim("deploy"):
        thread = threading.Thread(target=other_call)
        thread.start()
        thread.join()
    assert seen == {"other": False}


def test_a_worker_started_with_a_copied_context_sees_the_callers_scope() -> None:
    """A tool timeout runs the tool in a thread with ``copy_context()``: claims follow it."""
    seen: list[bool] = []
    with claim("deploy"):
        context = contextvars.copy_context()
    thread = threading.Thread(target=lambda: seen.append(context.run(is_claimed, "deploy")))
    thread.start()
    thread.join()
    assert seen == [True]


def test_async_tasks_keep_their_own_scope() -> None:
    async def claimed_in_task(name: str) -> bool:
        with claim(name):
            await asyncio.sleep(0)
            return is_claimed("a") and is_claimed("b")

    async def both() -> list[bool]:
        return list(await asyncio.gather(claimed_in_task("a"), claimed_in_task("b")))

    assert asyncio.run(both()) == [False, False]


def test_a_tool_records_itself_when_its_metadata_says_so() -> None:
    @tool
    def deploy(service: str) -> str:
        """Deploy a service."""
        return service

    assert not records_itself(deploy)
    assert records_itself(deploy.model_copy(update={"metadata": {SELF_RECORDING_KEY: True}}))
