"""Recall from the in-process index: loaded once per (agent, task type), a brief never waits
on the store's queries again, and the index follows new failures, forgets and other writers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from tests.conftest import count_recall_queries

from toolwise import Toolwise
from toolwise.advice import Advisor
from toolwise.advice.advisor import RECALL_PENDING
from toolwise.advice.recall_index import RecallIndex
from toolwise.models import ToolOutcome
from toolwise.storage.protocol import SimilarOutcome

TOOLS = ["kubectl_apply", "helm_upgrade", "argo_sync"]
DEPLOY = [HumanMessage("Deploy the payments api to production")]
QUERY = "failure for production_deploy. Task: deploy the payments api"

History = Callable[..., None]
Eventually = Callable[..., bool]


def _fail(tw: Toolwise, message: str, **labels: Any) -> ToolOutcome:
    fields: dict[str, Any] = {"task_type": "production_deploy", **labels}
    return tw.record(
        tool="argo_sync",
        outcome="failure",
        task="deploy the payments api to production",
        error_type="ImagePullBackOff",
        error_message=message,
        **fields,
    )


def _from_index(advisor: Advisor, shown: str) -> Callable[[], bool]:
    """True once a brief shows ``shown`` and is not waiting for the store's answer."""

    def check() -> bool:
        text = advisor.advise(DEPLOY).text
        return shown in text and not text.endswith(RECALL_PENDING)

    return check


def _advisor_with_index(tw: Toolwise, slow: Any, eventually: Eventually, **options: Any) -> Advisor:
    """An advisor whose index has loaded the deploy history while the store's queries are
    held (the first brief started the load)."""
    advisor = Advisor(tw.runtime, recall_index=True, tools=TOOLS, recall_budget=0.01, **options)
    slow.hold()
    advisor.advise(DEPLOY)
    assert eventually(_from_index(advisor, "deadline exceeded"))
    return advisor


def test_once_loaded_a_brief_is_recalled_while_the_store_s_queries_are_held(
    slow: Any,
    busy_tw: Toolwise,
    deploy_history: History,
    monkeypatch: pytest.MonkeyPatch,
    eventually: Eventually,
) -> None:
    """The first brief waits for the store's answer at most its budget (still loading); the
    index loads meanwhile, and the next briefs show the failures without a store query."""
    deploy_history(busy_tw)
    asked = count_recall_queries(busy_tw, monkeypatch)
    advisor = Advisor(busy_tw.runtime, recall_index=True, tools=TOOLS, recall_budget=0.01)
    slow.hold()
    assert advisor.advise(DEPLOY).text.endswith(RECALL_PENDING)
    assert eventually(_from_index(advisor, "deadline exceeded"))
    assert len(asked) == 1  # the first brief's; none since
    assert busy_tw.store.health.healthy  # type: ignore[attr-defined]


def test_a_brief_never_waits_for_the_index_s_load(
    tw: Toolwise, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the load is stuck in the store, every brief is answered the store's way, with
    the failures, and only one load is asked for."""
    deploy_history(tw)
    loads: list[str | None] = []
    entered, free = threading.Event(), threading.Event()
    real = tw.store.newest_failures  # type: ignore[attr-defined]

    def stuck(agent_id: str, **kwargs: Any) -> Any:
        loads.append(kwargs.get("task_type"))
        entered.set()
        free.wait(timeout=60)
        return real(agent_id, **kwargs)

    monkeypatch.setattr(tw.store, "newest_failures", stuck)
    advisor = Advisor(tw.runtime, recall_index=True, tools=TOOLS)
    try:
        assert "deadline exceeded" in advisor.advise(DEPLOY).text
        assert entered.wait(timeout=30)
        for _ in range(3):
            assert "deadline exceeded" in advisor.advise(DEPLOY).text
        assert loads == ["production_deploy"]  # the matched task type's, once
    finally:
        free.set()


def test_a_new_failure_is_in_the_next_brief(
    slow: Any, busy_tw: Toolwise, deploy_history: History, eventually: Eventually
) -> None:
    """Read-your-writes from the index: recorded (not yet stored, then stored), shown."""
    deploy_history(busy_tw)
    advisor = _advisor_with_index(busy_tw, slow, eventually)
    _fail(busy_tw, "manifest unknown")
    assert "manifest unknown" in advisor.advise(DEPLOY).text
    assert busy_tw.flush(timeout=30)
    text = advisor.advise(DEPLOY).text
    assert "manifest unknown" in text
    assert not text.endswith(RECALL_PENDING)


def test_a_forget_removes_its_failures_from_the_next_briefs(
    slow: Any, busy_tw: Toolwise, deploy_history: History, eventually: Eventually
) -> None:
    """The brief right after ``forget`` does not show them, nor do the briefs from the
    index loaded again."""
    deploy_history(busy_tw)
    advisor = _advisor_with_index(busy_tw, slow, eventually)
    _fail(busy_tw, "manifest unknown")
    assert busy_tw.forget(tool="helm_upgrade") > 0
    assert "deadline exceeded" not in advisor.advise(DEPLOY).text
    assert eventually(_from_index(advisor, "manifest unknown"))  # reloaded, still held
    assert "deadline exceeded" not in advisor.advise(DEPLOY).text


def test_a_failure_another_client_wrote_to_the_store_appears_after_a_refresh(
    slow: Any, busy_tw: Toolwise, deploy_history: History, eventually: Eventually
) -> None:
    """A failure this process never saw (written straight to the store, as another process
    would) reaches the briefs once the index is loaded again (every ``recall_ttl``)."""
    deploy_history(busy_tw)
    advisor = _advisor_with_index(busy_tw, slow, eventually, recall_ttl=0.2)
    elsewhere = ToolOutcome(
        tool="argo_sync",
        outcome="failure",
        task_type="production_deploy",
        task="deploy the payments api to production",
        error_type="ImagePullBackOff",
        error_message="written by another process",
    )
    busy_tw.store.write([elsewhere])
    assert eventually(_from_index(advisor, "written by another process"))


def test_the_cores_of_one_runtime_share_one_index(
    slow: Any, busy_tw: Toolwise, deploy_history: History, eventually: Eventually
) -> None:
    """A core with other options (a server keeps one per option set) is answered from the
    index the first core loaded: its first brief does not wait for the store."""
    deploy_history(busy_tw)
    _advisor_with_index(busy_tw, slow, eventually)
    other = Advisor(busy_tw.runtime, recall_index=True, tools=TOOLS, recall_budget=0.01, top_k=3)
    text = other.advise(DEPLOY).text
    assert "deadline exceeded" in text
    assert not text.endswith(RECALL_PENDING)


def test_an_agent_never_sees_another_agent_s_failures(tw: Toolwise, eventually: Eventually) -> None:
    _fail(tw, "a's own failure", agent_id="a")
    _fail(tw, "b's private failure", agent_id="b")
    assert tw.flush(timeout=30)
    advisor = Advisor(tw.runtime, recall_index=True, agent_id="a", tools=TOOLS)
    assert eventually(_from_index(advisor, "a's own failure"))
    assert "b's private failure" not in advisor.advise(DEPLOY).text


def _nearest(index: RecallIndex, tw: Toolwise, key: tuple[str, str | None]) -> Any:
    """The index's answer for ``key`` (``None`` until loaded)."""
    local = tw.runtime.local_failures(key[0])
    now = datetime.now(UTC)
    return index.nearest(
        key, QUERY, 10, local, now, fresh=lambda: tw.runtime.local_failures(key[0]), refresh=60.0
    )


def _loaded(
    index: RecallIndex, tw: Toolwise, key: tuple[str, str | None], eventually: Eventually
) -> list[SimilarOutcome]:
    found: list[list[SimilarOutcome]] = []

    def check() -> bool:
        answer = _nearest(index, tw, key)
        if answer is not None:
            found.append(answer)
        return answer is not None

    assert eventually(check)
    return found[-1]


def test_an_index_holds_its_task_type_only(tw: Toolwise, eventually: Eventually) -> None:
    _fail(tw, "deploy failed")
    _fail(tw, "migration failed", task_type="database_migration")
    assert tw.flush(timeout=30)
    index = RecallIndex(tw.store, tw.runtime.embedding)  # type: ignore[arg-type]
    deploys = _loaded(index, tw, ("default", "production_deploy"), eventually)
    assert [hit.outcome.error_message for hit in deploys] == ["deploy failed"]
    every = _loaded(index, tw, ("default", None), eventually)
    assert {hit.outcome.error_message for hit in every} == {"deploy failed", "migration failed"}


def test_an_index_keeps_its_capacity_of_newest_failures(
    tw: Toolwise, eventually: Eventually
) -> None:
    for n in range(5):
        _fail(tw, f"failure {n}")
    assert tw.flush(timeout=30)
    index = RecallIndex(tw.store, tw.runtime.embedding, capacity=3)  # type: ignore[arg-type]
    key = ("default", "production_deploy")
    loaded = _loaded(index, tw, key, eventually)
    assert {hit.outcome.error_message for hit in loaded} == {"failure 2", "failure 3", "failure 4"}
    _fail(tw, "failure 5")
    current = {hit.outcome.error_message for hit in _nearest(index, tw, key)}
    assert current == {"failure 3", "failure 4", "failure 5"}


def test_past_its_count_of_indexes_the_least_recently_used_goes(
    tw: Toolwise, eventually: Eventually
) -> None:
    _fail(tw, "deploy failed")
    assert tw.flush(timeout=30)
    index = RecallIndex(tw.store, tw.runtime.embedding, indexes=1)  # type: ignore[arg-type]
    _loaded(index, tw, ("default", "production_deploy"), eventually)
    _loaded(index, tw, ("default", None), eventually)
    assert _nearest(index, tw, ("default", "production_deploy")) is None  # loaded again


def test_briefs_at_once_embed_each_new_failure_once(tw: Toolwise, eventually: Eventually) -> None:
    """The briefs in flight after a burst of failures do not each bring the index up to
    date: one does, the others find it done."""
    _fail(tw, "deploy failed")
    assert tw.flush(timeout=30)
    embedded: list[str] = []
    lock = threading.Lock()

    def counting(texts: Sequence[str]) -> Any:
        with lock:
            embedded.extend(texts)
        return tw.runtime.embedding(texts)

    index = RecallIndex(tw.store, counting)  # type: ignore[arg-type]
    key = ("default", "production_deploy")
    _loaded(index, tw, key, eventually)
    for n in range(20):
        _fail(tw, f"burst failure {n}")
    embedded.clear()
    start = threading.Barrier(8)
    answers: list[Any] = []

    def brief() -> None:
        start.wait()
        answers.append(_nearest(index, tw, key))

    threads = [threading.Thread(target=brief) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(len(answer) == 10 for answer in answers)  # each saw the burst
    assert len(embedded) == len(set(embedded)) == 20
