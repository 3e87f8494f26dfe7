"""Another process's ``forget`` reaches this one's learnt view within the tail's lag: its
tail reads the tombstone and relearns the view from what remains (``learning/tailing.py``,
``learning/feed.py``, ``storage/tombstones.py``).

Each test polls with a generous timeout for what the tail thread does "soon"; none asserts
how fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from tests.conftest import Peers
from tests.learning.test_snapshot import _answers, _assert_same

from toolwise import Toolwise

TOOLS = ["kubectl_apply", "helm_upgrade"]
QUIET = 3_600.0  # a tail that never looks by itself: the test looks with ``feed.refresh()``

pytestmark = pytest.mark.server


def _observations(tw: Toolwise, tool: str, agent_id: str = "default") -> float:
    priors = tw.priors(tool=tool, task_type="deploy", agent_id=agent_id)
    return sum(p.observations for p in priors)


def _history(tw: Toolwise, runs: int = 4) -> None:
    """A reliable and a failing deploy tool, for the default agent and for ``support``."""
    for _ in range(runs):
        for agent in ("default", "support"):
            tw.record(agent_id=agent, tool="kubectl_apply", outcome="success", task_type="deploy")
            tw.record(agent_id=agent, tool="helm_upgrade", outcome="failure", task_type="deploy")
    assert tw.flush(timeout=30)


def test_a_peer_forget_leaves_this_process_view_and_no_other_agent(
    peer: Peers, eventually: Callable[..., bool]
) -> None:
    """A forgets a tool's records; B, running, stops counting them; ``support`` keeps its."""
    a, b = peer("a"), peer("b")
    b.recommend(task_type="deploy", tools=TOOLS)  # B's view is built: now it tails
    _history(a)
    assert eventually(lambda: _observations(b, "helm_upgrade") == 4)
    assert a.forget(tool="helm_upgrade") == 4
    assert eventually(lambda: _observations(b, "helm_upgrade") == 0)
    assert _observations(b, "kubectl_apply") == 4
    assert _observations(b, "helm_upgrade", "support") == 4
    assert b.summary("support").total_calls == 8


def test_a_peer_forget_of_ids_leaves_rates_lists_and_summaries(
    peer: Peers, eventually: Callable[..., bool]
) -> None:
    a, b = peer("a"), peer("b")
    b.recommend(task_type="deploy", tools=TOOLS)
    _history(a, runs=2)
    failures = [o.id for o in b.list_calls(tool="helm_upgrade")]
    assert eventually(lambda: _observations(b, "helm_upgrade") == 2)
    assert a.forget(ids=failures[:1]) == 1
    assert eventually(lambda: _observations(b, "helm_upgrade") == 1)
    assert [o.id for o in b.list_calls(tool="helm_upgrade")] == failures[1:]
    assert b.summary("default").total_calls == 3


def test_after_a_peer_forget_the_view_equals_a_rebuild(
    peer: Peers, eventually: Callable[..., bool]
) -> None:
    """The relearnt view answers as ``toolwise rebuild`` does from the records left."""
    a, b = peer("a"), peer("b")
    b.recommend(task_type="deploy", tools=TOOLS)
    _history(a)
    a.record(tool="helm_upgrade", outcome="success", task_type="rollback")
    assert a.flush(timeout=30)
    assert eventually(lambda: _observations(b, "helm_upgrade") == 4)
    a.forget(tool="kubectl_apply")
    assert eventually(lambda: _observations(b, "kubectl_apply") == 0)
    relearnt = _answers(b)
    b.runtime.feed.rebuild()
    _assert_same(relearnt, _answers(b))


def test_a_peer_that_did_not_look_reads_the_forget_from_its_watermark(
    peer: Peers,
) -> None:
    """B's tail did not look while A forgot (twice): its next look unlearns both."""
    a, b = peer("a"), peer("b", refresh_interval=QUIET)
    _history(a)
    b.recommend(task_type="deploy", tools=TOOLS)
    assert _observations(b, "helm_upgrade") == 4
    a.forget(tool="helm_upgrade")
    a.forget(tool="kubectl_apply")
    assert _observations(b, "helm_upgrade") == 4  # nothing is learnt between looks
    b.runtime.feed.refresh()
    assert _observations(b, "helm_upgrade") == 0
    assert _observations(b, "kubectl_apply") == 0
    assert _observations(b, "kubectl_apply", "support") == 4


def test_a_forget_is_applied_once(peer: Peers, caplog: pytest.LogCaptureFixture) -> None:
    """Looks overlap; a tombstone met again does not relearn the view again."""
    a, b = peer("a"), peer("b", refresh_interval=QUIET)
    _history(a)
    b.recommend(task_type="deploy", tools=TOOLS)
    a.forget(tool="helm_upgrade")
    with caplog.at_level(logging.INFO, logger="toolwise.learning"):
        for _ in range(4):
            b.runtime.feed.refresh()
    assert sum("relearning the view" in r.getMessage() for r in caplog.records) == 1


def test_a_peer_closed_at_the_forget_starts_without_the_records(peer: Peers) -> None:
    """B's snapshot at close held the records; A's forget drops it, so B's restart does not."""
    a, b = peer("a"), peer("b")
    _history(b)
    b.recommend(task_type="deploy", tools=TOOLS)
    b.close()
    assert a.forget(tool="helm_upgrade") == 4
    again = peer("b-again")
    assert _observations(again, "helm_upgrade") == 0
    assert _observations(again, "kubectl_apply") == 4


def test_a_snapshot_taken_after_relearning_a_forget_plus_replay_equals_a_rebuild(
    peer: Peers,
) -> None:
    """B relearns A's forget and snapshots; C starts from that snapshot, replays what came
    after, and answers as a rebuild from the records left."""
    a, b = peer("a"), peer("b", refresh_interval=QUIET)
    _history(a)
    b.recommend(task_type="deploy", tools=TOOLS)
    a.forget(tool="helm_upgrade")
    b.runtime.feed.refresh()
    assert b.runtime.feed.write_snapshot() is not None
    a.record(tool="helm_upgrade", outcome="success", task_type="deploy")
    assert a.flush(timeout=30)
    c = peer("c")
    c.runtime.view()
    assert c.runtime.feed.restored is not None
    from_snapshot = _answers(c)
    assert _observations(c, "helm_upgrade") == 1
    c.runtime.feed.rebuild()
    _assert_same(from_snapshot, _answers(c))
