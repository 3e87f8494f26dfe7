"""A brief waits for the store's recall at most ``recall_budget``: past it the brief is
answered without it, the store stays healthy, and the query's answer serves the next brief.

The store's answers (``recall_index=False``): the path of a brief before its recall index is
loaded, and of a store that cannot list its failures (the index: test_recall_index.py)."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from tests.conftest import count_recall_queries

from toolwise import InvalidArgumentError, Toolwise
from toolwise.advice import AdviceOptions, Advisor
from toolwise.advice.advisor import NO_RECALL, RECALL_NEARBY, RECALL_PENDING
from toolwise.storage.protocol import RecallWithinStore

TOOLS = ["kubectl_apply", "helm_upgrade", "argo_sync"]
DEPLOY = [HumanMessage("Deploy the payments api to production")]

History = Callable[..., None]
Eventually = Callable[..., bool]


def test_a_brief_past_its_budget_goes_without_the_store_and_leaves_it_healthy(
    slow: Any, busy_tw: Toolwise, deploy_history: History
) -> None:
    """The store is busy, not failed: the brief says recall is still loading, the ranking is
    there, and the store is not marked unhealthy (its own deadline is far off)."""
    deploy_history(busy_tw)
    advisor = Advisor(busy_tw.runtime, recall_index=False, tools=TOOLS, recall_budget=0.01)
    slow.hold()
    brief = advisor.advise(DEPLOY)
    assert brief.text.endswith(RECALL_PENDING)
    assert NO_RECALL not in brief.text
    assert brief.recommended_tool == "kubectl_apply"
    assert slow.entered.is_set()  # the query is held in the store, not skipped
    assert busy_tw.store.health.healthy  # type: ignore[attr-defined]


def test_the_next_brief_after_the_query_answers_shows_the_recalled_failure(
    slow: Any,
    busy_tw: Toolwise,
    deploy_history: History,
    monkeypatch: pytest.MonkeyPatch,
    eventually: Eventually,
) -> None:
    deploy_history(busy_tw)
    asked = count_recall_queries(busy_tw, monkeypatch)
    advisor = Advisor(busy_tw.runtime, recall_index=False, tools=TOOLS, recall_budget=0.01)
    slow.hold()
    assert "deadline exceeded" not in advisor.advise(DEPLOY).text
    slow.release()
    assert eventually(lambda: "deadline exceeded" in advisor.advise(DEPLOY).text)
    assert len(asked) == 1  # the late answer was kept: no brief asked again
    assert busy_tw.store.health.healthy  # type: ignore[attr-defined]


def test_concurrent_briefs_for_one_question_wait_no_longer_than_the_budget(
    slow: Any, busy_tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Briefs that join the question's query in flight give up at their budget too (held
    until released, a query they waited for would keep them past the pool's timeout)."""
    deploy_history(busy_tw)
    asked = count_recall_queries(busy_tw, monkeypatch)
    advisor = Advisor(busy_tw.runtime, recall_index=False, tools=TOOLS, recall_budget=0.01)
    slow.hold()
    with ThreadPoolExecutor(4) as pool:
        briefs = [pool.submit(advisor.advise, DEPLOY) for _ in range(8)]
        texts = [brief.result(timeout=50) for brief in briefs]
        slow.release()
    assert all(text.text.endswith(RECALL_PENDING) for text in texts)
    assert len(asked) == 1


def test_the_async_twin_keeps_the_budget(
    slow: Any, busy_tw: Toolwise, deploy_history: History
) -> None:
    import asyncio

    deploy_history(busy_tw)
    advisor = Advisor(busy_tw.runtime, recall_index=False, tools=TOOLS, recall_budget=0.01)
    slow.hold()
    assert asyncio.run(advisor.aadvise(DEPLOY)).text.endswith(RECALL_PENDING)


class _OnlySimilar:
    """Toolwise's store as a custom store without the ``similar_within`` capability."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name == "similar_within":
            raise AttributeError(name)
        return getattr(self._store, name)


def _recall_workers() -> list[str]:
    """Threads of the budget's own pool (``toolwise-recall-N``; not the refresh thread)."""
    return [t.name for t in threading.enumerate() if re.fullmatch(r"toolwise-recall-\d+", t.name)]


def test_toolwise_s_store_keeps_the_budget_itself(
    slow: Any, busy_tw: Toolwise, deploy_history: History, eventually: Eventually
) -> None:
    """The brief hands its query straight to the store's worker and waits there: no worker
    of the brief's own in between (one thread hand-off fewer on a busy server)."""
    deploy_history(busy_tw)
    advisor = Advisor(busy_tw.runtime, recall_index=False, tools=TOOLS, recall_budget=0.01)
    slow.hold()
    assert advisor.advise(DEPLOY).text.endswith(RECALL_PENDING)
    assert _recall_workers() == []
    slow.release()
    assert eventually(lambda: "deadline exceeded" in advisor.advise(DEPLOY).text)


def test_a_store_that_cannot_keep_the_budget_is_waited_for_from_a_worker(
    slow: Any,
    busy_tw: Toolwise,
    deploy_history: History,
    monkeypatch: pytest.MonkeyPatch,
    eventually: Eventually,
) -> None:
    """A custom store with only ``similar`` (no ``similar_within``) gets the same budget:
    the query runs in a worker of the brief's own, and its answer serves the next brief."""
    deploy_history(busy_tw)
    monkeypatch.setattr(busy_tw.runtime, "_store", _OnlySimilar(busy_tw.store))
    assert not isinstance(busy_tw.runtime.store, RecallWithinStore)
    advisor = Advisor(busy_tw.runtime, recall_index=False, tools=TOOLS, recall_budget=0.01)
    slow.hold()
    assert advisor.advise(DEPLOY).text.endswith(RECALL_PENDING)
    assert _recall_workers()
    slow.release()
    assert eventually(lambda: "deadline exceeded" in advisor.advise(DEPLOY).text)
    assert busy_tw.store.health.healthy  # type: ignore[attr-defined]


def test_a_question_of_the_same_task_stands_in_while_the_answer_is_still_loading(
    slow: Any,
    busy_tw: Toolwise,
    deploy_history: History,
    monkeypatch: pytest.MonkeyPatch,
    eventually: Eventually,
) -> None:
    """Past the budget, the store's answer to another request of the same task type is
    shown (re-ranked for this one) and the brief says so; this question's own query still
    runs, once. A request of another task has no such neighbour: still loading."""
    deploy_history(busy_tw)
    advisor = Advisor(
        busy_tw.runtime,
        recall_index=False,
        tools=TOOLS,
        recall_budget=0.01,
        task_type="production_deploy",
    )
    assert eventually(lambda: "deadline exceeded" in advisor.advise(DEPLOY).text)  # stored
    asked = count_recall_queries(busy_tw, monkeypatch)
    slow.hold()
    other_app = [HumanMessage("Deploy the billing worker to production")]
    stood_in = advisor.advise(other_app).text
    assert stood_in.endswith(RECALL_NEARBY)
    assert "deadline exceeded" in stood_in
    assert asked == ["failure for production_deploy. Task: Deploy the billing worker to production"]
    migrate = Advisor(
        busy_tw.runtime,
        recall_index=False,
        tools=TOOLS,
        recall_budget=0.01,
        task_type="db_migration",
    )
    assert migrate.advise(other_app).text.endswith(RECALL_PENDING)


def test_a_neighbour_from_before_a_forget_never_stands_in(
    slow: Any, busy_tw: Toolwise, deploy_history: History, eventually: Eventually
) -> None:
    """The neighbour's answer may hold forgotten records: after a ``forget`` it is not used."""
    deploy_history(busy_tw)
    advisor = Advisor(
        busy_tw.runtime,
        recall_index=False,
        tools=TOOLS,
        recall_budget=0.01,
        task_type="production_deploy",
    )
    assert eventually(lambda: "deadline exceeded" in advisor.advise(DEPLOY).text)
    busy_tw.forget(tool="helm_upgrade")
    slow.hold()
    text = advisor.advise([HumanMessage("Deploy the billing worker to production")]).text
    assert text.endswith(RECALL_PENDING)
    assert "deadline exceeded" not in text


def test_without_a_budget_a_brief_waits_for_the_store_answer(
    slow: Any, busy_tw: Toolwise, deploy_history: History
) -> None:
    """``recall_budget=None`` (the old behaviour): the brief waits for the held query."""
    deploy_history(busy_tw)
    advisor = Advisor(busy_tw.runtime, recall_index=False, tools=TOOLS, recall_budget=None)
    slow.hold()
    with ThreadPoolExecutor(1) as pool:
        brief = pool.submit(advisor.advise, DEPLOY)
        assert slow.entered.wait(timeout=30)  # the brief's query is held in the store
        slow.release()
        text = brief.result(timeout=60).text
    assert "deadline exceeded" in text
    assert RECALL_PENDING not in text


@pytest.mark.parametrize("bad", [-0.1, math.nan, math.inf, "soon"])
def test_a_bad_recall_budget_is_rejected_naming_the_field(bad: Any) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        AdviceOptions(recall_budget=bad)
    assert raised.value.field == "recall_budget"
