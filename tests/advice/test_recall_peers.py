"""Two processes on one ``chroma run`` server: another process's failure reaches this one's
briefs once the tail has read it, merged into the reused answer without a store query."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.advice.test_recall_cache import DEPLOY, TOOLS, Queries, _fail, _recalled, _shows
from tests.conftest import Peers

from toolwise import Toolwise
from toolwise.advice import Advisor
from toolwise.models import ToolOutcome

History = Callable[..., None]
QUIET = 3_600.0  # a tail that never looks by itself: the test looks with ``feed.refresh()``

pytestmark = pytest.mark.server


def _peer_fails(tw: Toolwise, message: str) -> ToolOutcome:
    record = tw.record(
        tool="argo_sync",
        outcome="failure",
        task_type="production_deploy",
        task="deploy the payments api to production",
        error_type="ImagePullBackOff",
        error_message=message,
    )
    assert tw.flush(timeout=30)
    return record


def _seen(tw: Toolwise, record: ToolOutcome) -> bool:
    return any(o.id == record.id for o in tw.runtime.local_failures(record.agent_id).recent)


def test_a_peer_failure_reaches_the_next_brief_without_a_store_query(
    peer: Peers,
    deploy_history: History,
    monkeypatch: pytest.MonkeyPatch,
    eventually: Callable[..., bool],
) -> None:
    """B fails; once A's tail has read it, A's reused answer shows it beside A's own."""
    a, b = peer("a"), peer("b")
    deploy_history(a)
    queries = Queries(a, monkeypatch)
    advisor = Advisor(a.runtime, tools=TOOLS)
    assert not _shows(advisor.advise(DEPLOY).text, "manifest unknown")  # A now tails
    record = _peer_fails(b, "manifest unknown in b")
    assert eventually(lambda: _seen(a, record))
    _fail(a, "manifest unknown in a")
    text = advisor.advise(DEPLOY).text
    assert _shows(text, "manifest unknown in b")
    assert _shows(text, "manifest unknown in a")
    assert len(queries.texts) == 1


def test_a_peer_failure_in_the_store_answer_and_in_memory_is_shown_once(
    peer: Peers, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store answered with B's failure before A's tail read it: merged, it is not doubled."""
    a, b = peer("a", refresh_interval=QUIET), peer("b")
    deploy_history(a)
    a.recommend(task_type="production_deploy", tools=TOOLS)  # the view is built: A tails
    record = _peer_fails(b, "manifest unknown in b")
    queries = Queries(a, monkeypatch)
    advisor = Advisor(a.runtime, tools=TOOLS)
    assert _shows(advisor.advise(DEPLOY).text, "manifest unknown in b")
    assert a.runtime.feed.refresh() >= 1
    assert _seen(a, record)
    text = advisor.advise(DEPLOY).text
    assert sum("manifest unknown in b" in line for line in _recalled(text)) == 1
    assert len(queries.texts) == 1


def test_the_answer_with_peer_failures_gives_what_the_store_gives(
    peer: Peers, deploy_history: History
) -> None:
    """After B's failures are tailed, A's reused brief equals a fresh query's."""
    a, b = peer("a", refresh_interval=QUIET), peer("b")
    deploy_history(a)
    reused = Advisor(a.runtime, tools=TOOLS, top_k=3)
    fresh = Advisor(a.runtime, tools=TOOLS, top_k=3, recall_ttl=0)
    reused.advise(DEPLOY)
    for n in range(3):
        _peer_fails(b, f"image pull failed {n}")
    assert a.runtime.feed.refresh() >= 3
    assert _recalled(reused.advise(DEPLOY).text) == _recalled(fresh.advise(DEPLOY).text)


def test_a_failure_forgotten_in_the_peer_before_the_tail_read_it_never_shows(
    peer: Peers, deploy_history: History
) -> None:
    """B forgets its failure before A looks: A's tail cannot read it, so no brief shows it."""
    a, b = peer("a", refresh_interval=QUIET), peer("b")
    deploy_history(a)
    advisor = Advisor(a.runtime, tools=TOOLS)
    advisor.advise(DEPLOY)
    record = _peer_fails(b, "manifest unknown in b")
    assert b.forget(ids=[record.id]) == 1
    a.runtime.feed.refresh()
    assert not _seen(a, record)
    assert not _shows(advisor.advise(DEPLOY).text, "manifest unknown in b")


def test_a_failure_a_peer_forgets_leaves_the_next_briefs(
    peer: Peers, deploy_history: History, eventually: Callable[..., bool]
) -> None:
    """A's failure is in B's brief; A forgets it; after the tail's lag B's briefs do not show
    it (its reused answer is asked again), nor does B remember it; A's other failure stays."""
    a, b = peer("a"), peer("b")
    deploy_history(b)
    advisor = Advisor(b.runtime, tools=TOOLS)
    advisor.advise(DEPLOY)  # B now tails, and reuses this answer
    kept = _peer_fails(a, "image pull failed in a")
    leaked = _peer_fails(a, "manifest unknown: leaked in a")
    assert eventually(lambda: _seen(b, leaked))
    assert _shows(advisor.advise(DEPLOY).text, "leaked in a")
    assert a.forget(ids=[leaked.id]) == 1
    assert eventually(lambda: not _seen(b, leaked))
    text = advisor.advise(DEPLOY).text
    assert not _shows(text, "leaked in a")
    assert _shows(text, "image pull failed in a")
    assert _seen(b, kept)


def test_a_peer_forget_of_a_tool_leaves_the_failures_this_process_recalls(
    peer: Peers, deploy_history: History, eventually: Callable[..., bool]
) -> None:
    """A forgets a tool B's brief recalled failures of, B's own among them: all go."""
    a, b = peer("a"), peer("b")
    deploy_history(b)
    advisor = Advisor(b.runtime, tools=TOOLS)
    advisor.advise(DEPLOY)
    _fail(b, "manifest unknown in b")
    assert b.flush(timeout=30)
    record = _peer_fails(a, "manifest unknown in a")
    assert eventually(lambda: _seen(b, record))
    assert _shows(advisor.advise(DEPLOY).text, "manifest unknown in b")
    a.forget(tool="argo_sync")
    assert eventually(lambda: not _seen(b, record))
    text = advisor.advise(DEPLOY).text
    assert not _shows(text, "manifest unknown in a")
    assert not _shows(text, "manifest unknown in b")


def test_a_peer_failure_stored_while_a_forget_is_relearnt_still_reaches_recall(
    peer: Peers, deploy_history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure stored after B's look read the records, but before B relearnt its view for
    a forget, is read by the rebuild (so never by a look): B's recall is told of it all the
    same."""
    a, b = peer("a"), peer("b", refresh_interval=QUIET)
    deploy_history(b)
    Advisor(b.runtime, tools=TOOLS).advise(DEPLOY)  # the view is built: B tails
    leaked = _peer_fails(a, "manifest unknown: leaked in a")
    b.runtime.feed.refresh()
    a.forget(ids=[leaked.id])
    real, late = b.store.tombstones, []

    def tombstones(since: float) -> object:
        if not late:  # between this look's read of the records and the rebuild
            late.append(_peer_fails(a, "image pull failed while b relearnt"))
        return real(since)

    monkeypatch.setattr(b.store, "tombstones", tombstones)
    b.runtime.feed.refresh()
    assert _seen(b, late[0])
    assert not _seen(b, leaked)
