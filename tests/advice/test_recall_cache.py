"""Recall under a burst of failures: one store query per key, and every new failure shown.

The store's answers (``recall_index=False``): the path of a brief before its recall index is
loaded, and of a store that cannot list its failures (the index: test_recall_index.py)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from toolwise import Toolwise
from toolwise.advice import CLOSE, OPEN, Advisor
from toolwise.advice.recall_cache import RecallCache
from toolwise.storage.unstored import RECENT, LocalFailures

TOOLS = ["kubectl_apply", "helm_upgrade", "argo_sync"]
DEPLOY = [HumanMessage("Deploy the payments api to production")]
BRIEFS = 8

History = Callable[..., None]


class Queries:
    """The real store's ``similar``, counted; ``hold()`` keeps queries waiting until
    ``release()`` (a slow store, so concurrent briefs overlap the first one's query)."""

    def __init__(self, tw: Toolwise, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str] = []
        self._open = threading.Event()
        self._open.set()
        real = tw.store.similar

        def similar(agent_id: str, text: str, **kwargs: Any) -> Any:
            self.texts.append(text)
            self._open.wait(timeout=60)
            return real(agent_id, text, **kwargs)

        monkeypatch.setattr(tw.store, "similar", similar)

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()


def _fail(tw: Toolwise, message: str, tool: str = "argo_sync") -> None:
    tw.record(
        tool=tool,
        outcome="failure",
        task_type="production_deploy",
        task="deploy the payments api to production",
        error_type="ImagePullBackOff",
        error_message=message,
    )


def _recalled(text: str) -> list[str]:
    lines = text.splitlines()
    if OPEN not in lines:
        return []
    return lines[lines.index(OPEN) + 1 : lines.index(CLOSE)]


def _shows(text: str, message: str) -> bool:
    return any(message in line for line in _recalled(text))


def test_concurrent_briefs_in_a_burst_of_failures_query_the_store_once(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Briefs for one query that overlap the store's answer, while the agent keeps failing,
    share that one query; each still shows the failures recorded before it."""
    deploy_history(tw)
    queries = Queries(tw, monkeypatch)
    advisor = Advisor(
        tw.runtime, recall_index=False, tools=TOOLS, top_k=BRIEFS, budget=10_000
    )  # room for all
    queries.hold()
    with ThreadPoolExecutor(BRIEFS) as pool:
        briefs = []
        for n in range(BRIEFS):
            _fail(tw, f"manifest unknown {n}")
            briefs.append(pool.submit(advisor.advise, DEPLOY))
        queries.release()
        texts = [brief.result(timeout=60).text for brief in briefs]
    assert len(queries.texts) == 1
    for n, text in enumerate(texts):
        assert _shows(text, f"manifest unknown {n}")


def test_the_async_twin_shares_the_query(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``aadvise`` from many tasks of one event loop: the same single flight."""
    deploy_history(tw)
    queries = Queries(tw, monkeypatch)
    advisor = Advisor(tw.runtime, recall_index=False, tools=TOOLS)

    async def turns() -> list[str]:
        queries.hold()
        pending = [asyncio.ensure_future(advisor.aadvise(DEPLOY)) for _ in range(BRIEFS)]
        await asyncio.sleep(0)
        queries.release()
        return [brief.text for brief in await asyncio.gather(*pending)]

    texts = asyncio.run(turns())
    assert len(queries.texts) == 1
    assert all(OPEN in text for text in texts)


def test_a_stored_failure_is_in_the_next_brief_without_asking_the_store(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure recorded after the answer was reused, and already written by the writer (so
    no longer waiting in memory), is merged into the reused answer: read-your-writes."""
    deploy_history(tw)
    queries = Queries(tw, monkeypatch)
    advisor = Advisor(tw.runtime, recall_index=False, tools=TOOLS)
    assert not _shows(advisor.advise(DEPLOY).text, "manifest unknown")
    _fail(tw, "manifest unknown")
    assert tw.flush(timeout=30)
    assert not tw.runtime.local_failures("default").unstored
    assert _shows(advisor.advise(DEPLOY).text, "manifest unknown")
    assert len(queries.texts) == 1


def test_the_reused_answer_gives_what_the_store_gives(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After new failures, the brief from the reused answer equals a fresh query's."""
    deploy_history(tw)
    reused = Advisor(tw.runtime, recall_index=False, tools=TOOLS, top_k=3)
    fresh = Advisor(tw.runtime, recall_index=False, tools=TOOLS, top_k=3, recall_ttl=0)
    reused.advise(DEPLOY)
    for n, tool in enumerate(["argo_sync", "kubectl_apply", "argo_sync"]):
        _fail(tw, f"image pull failed {n}", tool)
    assert tw.flush(timeout=30)
    assert _recalled(reused.advise(DEPLOY).text) == _recalled(fresh.advise(DEPLOY).text)


def test_a_forget_makes_the_next_brief_ask_the_store(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reused answer may hold forgotten records: after ``forget`` the store is asked."""
    deploy_history(tw, error="deadline exceeded")
    queries = Queries(tw, monkeypatch)
    advisor = Advisor(tw.runtime, recall_index=False, tools=TOOLS)
    assert _shows(advisor.advise(DEPLOY).text, "deadline exceeded")
    tw.forget(tool="helm_upgrade")
    assert not _shows(advisor.advise(DEPLOY).text, "deadline exceeded")
    assert len(queries.texts) == 2


def test_more_failures_than_memory_keeps_make_the_brief_ask_the_store(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past ``RECENT`` failures since the reused answer, the store answers again."""
    deploy_history(tw)
    queries = Queries(tw, monkeypatch)
    advisor = Advisor(tw.runtime, recall_index=False, tools=TOOLS)
    advisor.advise(DEPLOY)
    for n in range(RECENT + 1):
        _fail(tw, f"manifest unknown {n}")
    assert tw.flush(timeout=60)
    assert _shows(advisor.advise(DEPLOY).text, "manifest unknown")
    assert len(queries.texts) == 2


class Ticks:
    """A monotonic clock moved by hand (the cache's ``clock``)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _cache_for(tw: Toolwise, ticks: Ticks) -> tuple[RecallCache, Callable[[], Any], list[str]]:
    """A recall cache over the real store; ``nearest()`` asks it for the deploy failures."""
    cache = RecallCache(tw.runtime.embedding, ttl=30.0, clock=ticks)
    asked: list[str] = []
    query = "failure for production_deploy. Task: deploy the payments api to production"

    def ask() -> Any:
        asked.append(query)
        return tw.store.similar("default", query, k=8, now=tw.runtime.clock(), outcome="failure")

    def fresh() -> LocalFailures:
        return tw.runtime.local_failures("default")

    def nearest() -> Any:
        found, _ = cache.nearest(
            ("default", query, 8), fresh(), tw.runtime.clock(), ask=ask, fresh=fresh
        )
        return [hit.outcome.error_message for hit in found]

    return cache, nearest, asked


def test_an_answer_past_its_ttl_is_served_while_one_query_refreshes_it(
    tw: Toolwise, deploy_history: History, eventually: Callable[..., bool]
) -> None:
    """Between ``ttl`` and twice that, a brief does not wait for the store, yet shows the
    failure just recorded; the one background query then makes the answer current."""
    deploy_history(tw)
    ticks = Ticks()
    _cache, nearest, asked = _cache_for(tw, ticks)
    nearest()
    ticks.now += 45.0
    _fail(tw, "manifest unknown")
    assert tw.flush(timeout=30)
    assert "manifest unknown" in nearest()
    assert eventually(lambda: len(asked) == 2)
    assert "manifest unknown" in nearest()
    assert len(asked) == 2


def test_a_brief_after_a_refresh_with_no_thread_to_run_in_is_answered(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process out of threads: the stale answer's refresh cannot wait for a thread, or a
    brief for the question past ``2 * ttl`` (no budget) would wait for it for ever."""
    deploy_history(tw)
    ticks = Ticks()
    _cache, nearest, asked = _cache_for(tw, ticks)
    nearest()
    start = threading.Thread.start

    def refuse_refreshes(thread: threading.Thread) -> None:
        if thread.name == "toolwise-recall-refresh":
            raise RuntimeError("can't start new thread")
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse_refreshes)
    ticks.now += 45.0
    nearest()  # served stale; its refresh has no thread
    ticks.now += 100.0
    brief = threading.Thread(target=nearest, daemon=True)
    brief.start()
    brief.join(timeout=60)
    assert not brief.is_alive()
    assert len(asked) == 3


def test_an_answer_twice_its_ttl_old_is_asked_for_again(
    tw: Toolwise, deploy_history: History
) -> None:
    """Past ``2 * ttl`` (other processes' failures may be missing) the brief asks the store."""
    deploy_history(tw)
    ticks = Ticks()
    _cache, nearest, asked = _cache_for(tw, ticks)
    nearest()
    ticks.now += 60.0
    nearest()
    assert len(asked) == 2
