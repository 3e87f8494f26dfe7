"""A recall query that misses its deadline still pays off: its answer, when it comes, is the
question's answer, and no brief asks the store again while it is on its way (the store's
answers: ``recall_index=False``, the path before a brief's recall index is loaded)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from tests.conftest import count_recall_queries

from toolwise import Toolwise
from toolwise.advice import Advisor
from toolwise.advice.advisor import RECALL_LATE, RECALL_NEARBY
from toolwise.advice.recall_budget import Late
from toolwise.advice.recall_cache import RecallCache
from toolwise.storage.protocol import SimilarOutcome
from toolwise.storage.unstored import LocalFailures

TOOLS = ["kubectl_apply", "helm_upgrade", "argo_sync"]
DEPLOY = [HumanMessage("Deploy the payments api to production")]
QUERY = "failure for production_deploy. Task: deploy the payments api to production"
KEY = ("default", QUERY, 8)

History = Callable[..., None]
Eventually = Callable[..., bool]


def test_a_query_past_its_deadline_is_the_answer_of_the_briefs_after_it(
    slow: Any,
    slow_tw: Toolwise,
    deploy_history: History,
    monkeypatch: pytest.MonkeyPatch,
    eventually: Eventually,
) -> None:
    """The brief that gave up goes without recall; once the held query answers, briefs show
    its failures — and the store was asked once."""
    deploy_history(slow_tw)
    asked = count_recall_queries(slow_tw, monkeypatch)
    advisor = Advisor(slow_tw.runtime, recall_index=False, tools=TOOLS)
    slow.hold()
    assert advisor.advise(DEPLOY).text.endswith(RECALL_LATE)
    slow.release()
    assert eventually(lambda: "deadline exceeded" in advisor.advise(DEPLOY).text)
    assert len(asked) == 1


class _Store:
    """``ask`` for a :class:`RecallCache`: the real store's answer, or — once ``late()`` is
    called — a query that missed its deadline, answered by ``arrive()``."""

    def __init__(self, tw: Toolwise) -> None:
        self._tw = tw
        self.asked = 0
        self._late: Future[list[SimilarOutcome]] | None = None
        self._deadline = 0.0

    def late(self, deadline: float = 0.0) -> None:
        self._late, self._deadline = Future(), deadline

    def answer(self) -> list[SimilarOutcome]:
        now = self._tw.runtime.clock()
        return self._tw.store.similar("default", QUERY, k=8, now=now, outcome="failure")

    def arrive(self, answer: list[SimilarOutcome] | None = None) -> None:
        assert self._late is not None
        late, self._late = self._late, None
        late.set_result(self.answer() if answer is None else answer)

    def fail(self, error: Exception) -> None:
        assert self._late is not None
        late, self._late = self._late, None
        late.set_exception(error)

    def __call__(self) -> list[SimilarOutcome] | Late:
        self.asked += 1
        if self._late is not None:
            return Late(self._late, self._deadline)
        return self.answer()


def _recall(tw: Toolwise, cache: RecallCache, store: _Store) -> tuple[list[str], bool]:
    def fresh() -> LocalFailures:
        return tw.runtime.local_failures("default")

    found, recalled = cache.nearest(KEY, fresh(), tw.runtime.clock(), ask=store, fresh=fresh)
    return [hit.outcome.error_message for hit in found], recalled == "recalled"


def test_a_late_answer_is_reused_without_asking_the_store(
    tw: Toolwise, deploy_history: History
) -> None:
    deploy_history(tw)
    cache, store = RecallCache(tw.runtime.embedding, ttl=30.0), _Store(tw)
    store.late()
    assert _recall(tw, cache, store) == ([], False)
    store.arrive()
    found, available = _recall(tw, cache, store)
    assert available
    assert "deadline exceeded" in found
    assert store.asked == 1


def test_briefs_during_a_late_query_do_not_ask_again(tw: Toolwise, deploy_history: History) -> None:
    """Briefs that cannot wait (a deadline of 0) go without; none asks the store."""
    deploy_history(tw)
    cache, store = RecallCache(tw.runtime.embedding, ttl=30.0), _Store(tw)
    store.late(deadline=0.0)
    _recall(tw, cache, store)
    with ThreadPoolExecutor(4) as pool:
        briefs = [pool.submit(_recall, tw, cache, store) for _ in range(8)]
        assert all(brief.result(timeout=60) == ([], False) for brief in briefs)
    assert store.asked == 1
    store.arrive()
    assert "deadline exceeded" in _recall(tw, cache, store)[0]
    assert store.asked == 1


def test_briefs_that_join_a_late_query_get_its_answer(
    tw: Toolwise, deploy_history: History
) -> None:
    deploy_history(tw)
    cache, store = RecallCache(tw.runtime.embedding, ttl=30.0), _Store(tw)
    store.late(deadline=60.0)
    _recall(tw, cache, store)
    with ThreadPoolExecutor(4) as pool:
        briefs = [pool.submit(_recall, tw, cache, store) for _ in range(4)]
        store.arrive()
        for brief in briefs:
            found, available = brief.result(timeout=60)
            assert available
            assert "deadline exceeded" in found
    assert store.asked == 1


def test_briefs_do_not_wait_for_a_late_query_while_the_store_is_down(
    tw: Toolwise, deploy_history: History
) -> None:
    """With the breaker open, a brief is told at once the store is unavailable (as today),
    even though the late query would let it wait for a minute."""
    deploy_history(tw)
    cache = RecallCache(tw.runtime.embedding, ttl=30.0, down=lambda: True)
    store = _Store(tw)
    store.late(deadline=60.0)
    assert _recall(tw, cache, store) == ([], False)
    assert _recall(tw, cache, store) == ([], False)
    assert store.asked == 1


def test_a_forget_during_a_late_query_discards_its_answer(
    tw: Toolwise, deploy_history: History
) -> None:
    deploy_history(tw, error="deadline exceeded")
    cache, store = RecallCache(tw.runtime.embedding, ttl=30.0), _Store(tw)
    store.late()
    _recall(tw, cache, store)
    before_forget = store.answer()
    tw.forget(tool="helm_upgrade")
    store.arrive(before_forget)  # it was answered before the forget reached the store
    found, available = _recall(tw, cache, store)
    assert available
    assert "deadline exceeded" not in found
    assert store.asked == 2


def test_a_late_query_that_fails_leaves_the_next_brief_to_ask(
    tw: Toolwise, deploy_history: History
) -> None:
    deploy_history(tw)
    cache, store = RecallCache(tw.runtime.embedding, ttl=30.0), _Store(tw)
    store.late()
    _recall(tw, cache, store)
    store.fail(ConnectionError("reset by peer"))
    assert "deadline exceeded" in _recall(tw, cache, store)[0]
    assert store.asked == 2


def test_a_question_of_the_same_task_stands_in_when_its_query_is_late(
    slow: Any, slow_tw: Toolwise, deploy_history: History, eventually: Eventually
) -> None:
    """Past the store's deadline (not a brief's budget), the store's answer to another
    request of the same task type stands in, as it does past a budget."""
    deploy_history(slow_tw)
    advisor = Advisor(
        slow_tw.runtime, recall_index=False, tools=TOOLS, task_type="production_deploy"
    )
    assert eventually(lambda: "deadline exceeded" in advisor.advise(DEPLOY).text)  # stored
    slow.hold()
    stood_in = advisor.advise([HumanMessage("Deploy the billing worker to production")]).text
    slow.release()
    assert stood_in.endswith(RECALL_NEARBY)
    assert "deadline exceeded" in stood_in
