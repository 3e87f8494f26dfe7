"""What the records teach (``_learners.Learners``): the view and the improver are told of
every record and of every forget, and a summary finds outages without building the view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import FakeClock

from toolwise import Toolwise

T0 = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def test_forgetting_a_tool_unlearns_it_and_is_audited(tw: Toolwise) -> None:
    """``forget`` resets the view (rebuilt from what remains) and tells the improver, which
    writes the forget into the audit trail."""
    tw.record(tool="ansible_run", outcome="failure", task_type="deploy")
    tw.record(tool="kubectl_deploy", task_type="deploy")
    assert sorted(p.tool for p in tw.priors()) == ["ansible_run", "kubectl_deploy"]
    assert tw.forget("default", tool="ansible_run") == 1
    assert [p.tool for p in tw.priors()] == ["kubectl_deploy"]
    [entry] = tw.audit("default")
    assert (entry.kind, entry.subject) == ("records.forgotten", "tool ansible_run")


def test_a_fresh_process_summary_lists_outages_like_the_learnt_view(tmp_path: Path) -> None:
    """``toolwise summary`` in a new process finds the same outage as the running agent's
    view, without building that view: outages are found from the agent's own records."""
    clock = FakeClock(T0)
    rates = {"A": 0.95, "B": 0.9, "C": 0.85}
    with Toolwise(tmp_path / "store", clock=clock, ttl=None) as agent:
        for n in range(40):
            clock.now += timedelta(hours=1)
            for offset, (tool, rate) in enumerate(rates.items()):
                ok = ((n + 10 * offset) * 37 % 100) / 100 < rate
                agent.record(tool=tool, outcome="success" if ok else "failure", environment="prod")
        clock.now += timedelta(hours=2)
        for _ in range(2):  # the outage: every tool fails, twice, within minutes
            for tool in rates:  # (one failure each is not improbable enough to call it)
                clock.now += timedelta(minutes=3)
                agent.record(tool=tool, outcome="failure", environment="prod")
        learnt = agent.infra_events("default")  # the running agent's learnt view
        assert agent.summary("default").infra_events == learnt
    with Toolwise(tmp_path / "store", clock=clock, ttl=None) as fresh:
        summary = fresh.summary("default")
        assert not fresh.runtime.feed.ready  # ... the fresh one did not build it
    assert [e.tools for e in summary.infra_events] == [e.tools for e in learnt] == [("A", "B", "C")]
