"""Demonstrations: good runs kept as few-shot examples, argument shapes only, by similarity."""

from __future__ import annotations

from collections.abc import Callable

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
