"""Prompt refinement behind a gate: validated, bounded, drift-checked and reversible."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.improve import Improver

Runner = Callable[..., None]  # the run_task fixture

ORIGINAL = """You are a DevOps agent for the shop platform.
Deploy services with kubectl_deploy or helm_upgrade.
Use helm for releases that have a chart.
Never change production during a change freeze."""

TASKS = ["use helm", "check connectivity"]


def evaluate(prompt: str, task: str) -> float:
    """1.0 when the prompt tells the agent what the task needs, else 0.0."""
    return 1.0 if task in prompt.lower() else 0.0


def revised(*extra: str, drop: str = "") -> str:
    lines = [line for line in ORIGINAL.splitlines() if line != drop]
    return "<prompt>\n" + "\n".join([*lines, *extra]) + "\n</prompt>"


BETTER = revised("Before ansible_run, check connectivity to the hosts.")


@pytest.fixture
def failed_runs(run_task: Runner) -> None:
    """Runs to learn from: one release that worked, two that hit SSH timeouts."""
    run_task("ok-1", "release web", ["terraform_apply", "helm_upgrade"])
    for i in range(2):
        run_task(
            f"bad-{i}",
            f"configure prod hosts {i}",
            ["ansible_run"],
            args={"ansible_run": {"hosts": "prod-web"}},
        )


@pytest.mark.usefixtures("failed_runs")
def test_a_worse_revision_is_rejected_and_the_original_kept(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """A revision that drops the helm instruction scores lower and is not adopted."""
    improver = make_improver()
    worse = revised(drop="Use helm for releases that have a chart.")
    result = improver.refine_prompt(
        ORIGINAL, None, TASKS, scripted(worse), evaluate, agent_id="devops"
    )
    assert result.status == "rejected"
    assert result.prompt == ORIGINAL
    assert (result.baseline_score, result.candidate_score) == (0.5, 0.0)
    assert improver.prompt("devops") == ORIGINAL


@pytest.mark.usefixtures("failed_runs")
def test_a_better_revision_within_bounds_is_kept(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """A one-line addition that scores higher is adopted and becomes the prompt in force."""
    improver = make_improver()
    result = improver.refine_prompt(
        ORIGINAL, None, TASKS, scripted(BETTER), evaluate, agent_id="devops"
    )
    assert result.status == "accepted"
    assert result.changed_lines == 1
    assert "check connectivity" in result.prompt
    assert improver.prompt("devops") == result.prompt


@pytest.mark.usefixtures("failed_runs")
def test_an_accepted_revision_can_be_rolled_back(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """Rollback puts the original back in force and keeps both versions in the history."""
    improver = make_improver()
    improver.refine_prompt(ORIGINAL, None, TASKS, scripted(BETTER), evaluate, agent_id="devops")
    assert improver.rollback("devops", reason="on-call asked") == ORIGINAL
    assert improver.prompt("devops") == ORIGINAL
    assert [v.version for v in improver.prompt_history("devops")] == [0, 1]


@pytest.mark.usefixtures("failed_runs")
def test_a_revision_changing_too_many_lines_is_rejected(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """Six added lines exceed the default bound of five, whatever they would score."""
    improver = make_improver()
    extra = [f"Also check connectivity step {i}." for i in range(6)]
    result = improver.refine_prompt(
        ORIGINAL, None, TASKS, scripted(revised(*extra)), evaluate, agent_id="devops"
    )
    assert result.status == "rejected"
    assert result.changed_lines == 6
    assert result.candidate_score is None  # the gate stopped before validation


@pytest.mark.usefixtures("failed_runs")
def test_drift_beyond_the_threshold_is_rejected(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """A four-line rewrite into a different persona is within the line bound but drifts."""
    improver = make_improver()
    persona = (
        "<prompt>\nYou are a poet.\nWrite sonnets about clouds.\nUse helm metaphors.\n"
        "Check connectivity of rhymes.\n</prompt>"
    )
    result = improver.refine_prompt(
        ORIGINAL, None, TASKS, scripted(persona), evaluate, agent_id="devops"
    )
    assert result.status == "rejected"
    assert result.similarity is not None
    assert result.similarity < 0.85
    assert "drifts" in result.reason


@pytest.mark.usefixtures("failed_runs")
def test_malformed_model_output_leaves_the_prompt_unchanged(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """A reply without a <prompt> block changes nothing and is audited as a rejection."""
    improver = make_improver()
    result = improver.refine_prompt(
        ORIGINAL, None, TASKS, scripted("I think the prompt is fine!"), evaluate, agent_id="devops"
    )
    assert result.status == "malformed"
    assert result.prompt == ORIGINAL
    assert improver.prompt("devops") == ORIGINAL
    assert [e.kind for e in improver.audit("devops") if e.kind.startswith("prompt.")] == [
        "prompt.rejected"
    ]


@pytest.mark.usefixtures("failed_runs")
def test_an_erroring_validation_task_counts_as_a_failure(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """Tasks that raise under the candidate score 0 (not skipped), so it loses the gate."""
    tasks = ["use helm", "check connectivity", "change freeze"]

    def fragile(prompt: str, task: str) -> float:
        if "check connectivity" in prompt.lower() and task != "check connectivity":
            raise RuntimeError("evaluation crashed")
        return evaluate(prompt, task)

    improver = make_improver()
    result = improver.refine_prompt(
        ORIGINAL, None, tasks, scripted(BETTER), fragile, agent_id="devops"
    )
    assert result.status == "rejected"  # skipping the errors would have scored 1.0 and won
    assert result.baseline_score == pytest.approx(2 / 3)
    assert result.candidate_score == pytest.approx(1 / 3)


def test_refinement_without_validation_tasks_is_refused(
    make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """The gate cannot run without tasks: the error names ``validation_tasks``."""
    improver = make_improver()
    with pytest.raises(InvalidArgumentError) as caught:
        improver.refine_prompt(ORIGINAL, [], [], scripted(BETTER), evaluate)
    assert caught.value.field == "validation_tasks"
