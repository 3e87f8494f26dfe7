"""Incremental passes: a pass reads only the records after the agent's watermark (kept in the
knowledge store), so repeating it changes nothing and new records are read once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tests.conftest import FakeClock
from tests.improve.conftest import RELEASE, Runner, releases

from toolwise import Toolwise
from toolwise.improve import Improver


def _timeouts(run_task: Runner, count: int, first: int = 0) -> None:
    for i in range(first, first + count):
        run_task(
            f"t{i}", f"deploy shop {i}", ["ansible_run"], args={"ansible_run": {"hosts": "prod"}}
        )


def test_a_second_pass_with_no_new_records_changes_nothing(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Lessons and demonstrations learnt once; the repeat reads nothing and audits nothing."""
    _timeouts(run_task, 3)
    releases(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    written = len(improver.audit("devops", limit=1_000))
    [again] = improver.improve("devops")
    assert again.records_scanned == 0
    assert len(improver.audit("devops", limit=1_000)) == written


def test_a_pass_after_new_records_reads_only_those(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """After three new timeouts the pass scans three records and the support grows by three."""
    _timeouts(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    _timeouts(run_task, 3, first=2)
    [report] = improver.improve("devops")
    assert (report.records_scanned, report.failures_scanned) == (3, 3)
    assert improver.all_lessons("devops")[0].support == 5


def test_a_new_improver_continues_from_the_watermark(
    tw: Toolwise, run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """The watermark lives in the knowledge store: after a restart nothing is read twice."""
    _timeouts(run_task, 2)
    make_improver().improve("devops")
    [report] = make_improver().improve("devops")
    assert report.records_scanned == 0


def test_a_record_stored_late_within_the_margin_is_read_once(
    tw: Toolwise, run_task: Runner, make_improver: Callable[..., Improver], clock: FakeClock
) -> None:
    """A failure stamped before the watermark but stored after the pass is still learnt."""
    _timeouts(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    tw.record(
        agent_id="devops",
        tool="ansible_run",
        outcome="failure",
        error_type="SSHTimeout",
        task_type="production_deploy",
        environment="production",
        timestamp=clock.now - timedelta(minutes=5),
    )
    [late] = improver.improve("devops")
    [again] = improver.improve("devops")
    assert (late.records_scanned, again.records_scanned) == (1, 0)
    assert improver.all_lessons("devops")[0].support == 3


def test_a_run_continuing_after_a_pass_is_judged_whole(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Two calls, a pass, the third call of the same session: the demonstration has all three."""
    improver = make_improver()
    run_task("r1", "release web to production", RELEASE[:2])
    improver.improve("devops")
    run_task("r1", "release web to production", RELEASE[2:])
    [report] = improver.improve("devops")
    assert report.records_scanned == 1
    assert [s.tool for s in improver.examples("release web", k=1, agent_id="devops")[0].steps] == (
        RELEASE
    )


def test_sequences_counted_across_passes_become_a_composite(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Three release runs, each followed by a pass: the third pass proposes the composite."""
    improver = make_improver()
    proposed = []
    for i in range(3):
        run_task(f"release-{i}", f"release web build {i} to production", RELEASE)
        proposed.append(improver.improve("devops")[0].composites_proposed)
    assert proposed == [0, 0, 1]
