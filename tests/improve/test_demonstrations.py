"""Demonstrations: good runs kept as few-shot examples, argument shapes only, by similarity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolwise.improve import Improver

Runner = Callable[..., None]  # the run_task fixture

RELEASE = ["terraform_apply", "helm_upgrade", "kubectl_deploy"]


def test_successful_run_is_kept_with_argument_shapes_only(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """A demonstration lists the tools and their argument types, never the values."""
    run_task(
        "r1",
        "release checkout to production",
        RELEASE,
        args={"kubectl_deploy": {"service": "checkout-7f3a"}},
    )
    improver = make_improver()
    improver.improve("devops")
    [demo] = improver.demonstrations("devops")
    assert [s.tool for s in demo.steps] == RELEASE
    assert demo.steps[2].args_shape == {"service": "str", "namespace": "str", "replicas": "int"}
    assert "checkout-7f3a" not in demo.model_dump_json()


def test_examples_returns_the_most_similar_run(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """For a release task the release run is returned first, not the database migration."""
    run_task("r1", "release the web frontend to production", RELEASE)
    run_task(
        "m1",
        "migrate the orders database schema",
        ["terraform_apply"],
        task_type="db_migration",
    )
    improver = make_improver()
    improver.improve("devops")
    [best] = improver.examples("release the web frontend", k=1, agent_id="devops")
    assert best.task == "release the web frontend to production"


def test_runs_scoring_below_the_threshold_are_not_kept(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """A run the caller scored 0.5 is not a demonstration, however its calls went."""
    run_task("r1", "release web to production", RELEASE, run_score=0.5)
    improver = make_improver()
    improver.improve("devops")
    assert improver.demonstrations("devops") == []


def test_failed_runs_are_not_kept(run_task: Runner, make_improver: Callable[..., Improver]) -> None:
    """A run that ended in a failure never becomes a demonstration."""
    run_task(
        "f1",
        "configure production hosts",
        ["terraform_apply", "ansible_run"],
        args={"ansible_run": {"hosts": "prod-web"}},
    )
    improver = make_improver()
    improver.improve("devops")
    assert improver.demonstrations("devops") == []


def test_a_better_run_of_the_same_task_replaces_it_with_one_audit_line(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Scored 0.85, then 0.95: one demonstration, scored 0.95, and one ``replaced`` entry."""
    improver = make_improver()
    run_task("r1", "release web to production", RELEASE, run_score=0.85)
    improver.improve("devops")
    run_task("r2", "release web to production", RELEASE, run_score=0.95)
    improver.improve("devops")
    [demo] = improver.demonstrations("devops")
    entries = [e for e in improver.audit("devops") if e.kind.startswith("demonstration")]
    assert demo.score == 0.95
    assert [e.kind for e in entries] == ["demonstration.replaced", "demonstration.added"]


def test_an_equally_good_run_changes_nothing(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """A second perfect run of a task already shown is not churned in: no audit entry."""
    improver = make_improver()
    run_task("r1", "release web build 1 to production", RELEASE)
    improver.improve("devops")
    run_task("r2", "release web build 2 to production", RELEASE)
    [report] = improver.improve("devops")
    assert (report.demonstrations_added, report.demonstrations_replaced) == (0, 0)
    assert len(improver.audit("devops")) == 1


def test_in_a_full_library_a_better_run_replaces_the_weakest(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """With room for one, a better run of another task takes its place: one audit line."""
    improver = make_improver(max_demonstrations=1)
    run_task("r1", "release web to production", RELEASE, run_score=0.85)
    improver.improve("devops")
    run_task("m1", "migrate the orders schema", ["terraform_apply"], run_score=0.9)
    [report] = improver.improve("devops")
    [demo] = improver.demonstrations("devops")
    [latest, _] = improver.audit("devops")
    assert demo.task == "migrate the orders schema"
    assert (report.demonstrations_replaced, report.demonstrations_dropped) == (1, 0)
    assert latest.kind == "demonstration.replaced"
    assert "release web" in latest.before


def test_in_a_full_library_a_weaker_run_changes_nothing(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """With room for one, a run scoring lower than the kept one is not kept."""
    improver = make_improver(max_demonstrations=1)
    run_task("r1", "release web to production", RELEASE, run_score=0.95)
    improver.improve("devops")
    run_task("m1", "migrate the orders schema", ["terraform_apply"], run_score=0.9)
    improver.improve("devops")
    [demo] = improver.demonstrations("devops")
    assert demo.task == "release web to production"
    assert len(improver.audit("devops")) == 1


def test_the_models_invalid_arguments_are_left_out_of_a_demonstration(
    tw: Any, clock: Any, run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """A run where the model first called a tool with bad arguments, then got it right, is
    shown with the right call only: the mistake is not an example to follow."""
    tw.record(
        agent_id="devops",
        tool="terraform_apply",
        outcome="invalid_arguments",
        error_type="ValidationError",
        task="release checkout to production",
        task_type="production_deploy",
        environment="production",
        session_id="r1",
        tool_input='{"workspace": 3}',
        timestamp=clock.advance(),
    )
    run_task("r1", "release checkout to production", RELEASE, run_score=1.0)  # judged good
    improver = make_improver()
    improver.improve("devops")
    [demo] = improver.demonstrations("devops")
    assert [s.tool for s in demo.steps] == RELEASE
