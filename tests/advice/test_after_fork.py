"""A forked child's briefs (gunicorn ``--preload``, multiprocessing): answered even when a
parent thread held an advisor's lock at the fork, and never running the parent's refreshes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from langchain_core.messages import HumanMessage
from tests.conftest import InChild

from toolwise import Toolwise
from toolwise.advice import Advisor
from toolwise.advice.recall_budget import Ask
from toolwise.advice.recall_cache import RecallCache
from toolwise.storage.embeddings import HashingEmbedding
from toolwise.storage.protocol import SimilarOutcome
from toolwise.storage.unstored import LocalFailures

TOOLS = ["kubectl_apply", "helm_upgrade", "argo_sync"]
DEPLOY = [HumanMessage("Deploy the payments api to production")]
NOTHING_UNSTORED = LocalFailures(generation=0, unstored=())


@contextmanager
def _held_by_another_thread(lock: threading.Lock) -> Iterator[None]:
    """``lock`` held by a thread of this process until the block ends (as a brief or the
    refresh thread holds it, should the process fork just then)."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            done.wait(timeout=120)

    holder = threading.Thread(target=hold, name="holder", daemon=True)
    holder.start()
    assert taken.wait(timeout=30)
    try:
        yield
    finally:
        done.set()
        holder.join(timeout=30)


def test_a_forked_childs_brief_is_answered_while_a_parent_thread_held_the_recall_cache(
    tw: Toolwise, deploy_history: Callable[..., None], in_child: InChild
) -> None:
    """The parent forks while another of its threads is inside the recall cache: the
    child's first brief is answered, not hung."""
    deploy_history(tw)
    advisor = Advisor(tw.runtime, tools=TOOLS, top_k=3)
    assert advisor.advise(DEPLOY).recommended_tool == "kubectl_apply"  # recall answer kept

    def child() -> None:
        assert advisor.advise(DEPLOY).recommended_tool == "kubectl_apply"

    with _held_by_another_thread(advisor._recall._cache._lock):
        assert in_child(child) == 0
    assert advisor.advise(DEPLOY).recommended_tool == "kubectl_apply"  # the parent's goes on


def test_a_forked_childs_brief_is_answered_from_the_index_a_parent_thread_held(
    tw: Toolwise,
    deploy_history: Callable[..., None],
    in_child: InChild,
    eventually: Callable[..., bool],
) -> None:
    """The parent forks while another of its threads holds the recall index's lock: the
    child's brief is answered, not hung (the child loads its own: its epochs are new)."""
    deploy_history(tw)
    advisor = Advisor(tw.runtime, tools=TOOLS, top_k=3, recall_index=True)
    index = advisor._recall._index
    assert index is not None
    advisor.advise(DEPLOY)  # starts the load
    assert eventually(lambda: index._indexes)

    def child() -> None:
        assert advisor.advise(DEPLOY).recommended_tool == "kubectl_apply"

    with _held_by_another_thread(index._lock):
        assert in_child(child) == 0
    assert "deadline exceeded" in advisor.advise(DEPLOY).text


class Ticks:
    """A monotonic clock moved by hand (the cache's ``clock``)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_forked_child_refreshes_its_own_answers_never_the_parents(
    in_child: InChild, eventually: Callable[..., bool]
) -> None:
    """At the fork the parent's refresh thread is busy, a refresh waits behind it and another
    parent thread holds the refresher: the child's brief still gets the stale answer at once,
    and the refresh it asks for is the only one its thread runs."""
    ticks = Ticks()
    cache = RecallCache(HashingEmbedding(), ttl=30.0, clock=ticks)
    asked: list[str] = []
    store = threading.Event()  # the parent's store answers once set

    def ask(name: str) -> Ask:
        def query() -> list[SimilarOutcome]:
            asked.append(name)
            store.wait(timeout=120)
            return []

        return query

    def brief(question: str, name: str) -> None:
        key = ("agent", question, 3)
        now = datetime.now(UTC)
        cache.nearest(key, NOTHING_UNSTORED, now, ask(name), lambda: NOTHING_UNSTORED)

    store.set()
    brief("deploy", "parent deploy")
    brief("rollback", "parent rollback")
    store.clear()
    ticks.now += 45.0  # both answers stale: served while a background query refreshes them
    brief("deploy", "parent deploy refresh")
    assert eventually(lambda: "parent deploy refresh" in asked)  # the refresh thread waits
    brief("rollback", "parent rollback refresh")  # queued behind it

    def child() -> None:
        store.set()  # the child's own store answers
        brief("rollback", "child rollback refresh")
        assert eventually(lambda: "child rollback refresh" in asked)
        assert "parent rollback refresh" not in asked

    with _held_by_another_thread(cache._refresher._lock):
        assert in_child(child) == 0
    store.set()
    assert eventually(lambda: "parent rollback refresh" in asked)  # the parent's still runs
