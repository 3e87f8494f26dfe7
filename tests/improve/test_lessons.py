"""Failure lessons: clustered, merged, curated, retrieved by task, written by a model or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from toolwise import Toolwise
from toolwise.improve import Improver

Runner = Callable[..., None]  # the run_task fixture


def _ssh_timeouts(run_task: Runner, count: int, *, start: int = 0) -> None:
    for i in range(start, start + count):
        run_task(
            f"timeout-{i}",
            f"deploy shop release {i} to production",
            ["ansible_run"],
            args={"ansible_run": {"hosts": "prod-web"}},
        )


def test_repeated_ssh_timeouts_become_one_lesson(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Five SSH timeouts of ansible_run produce a single lesson supported by all five."""
    _ssh_timeouts(run_task, 5)
    improver = make_improver()
    improver.improve("devops")
    lessons = improver.all_lessons("devops")
    assert len(lessons) == 1
    assert lessons[0].support == 5
    assert "ansible_run failed with SSHTimeout" in lessons[0].text


def test_new_timeouts_merge_into_the_existing_lesson(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Timeouts seen in a later pass raise the support of the same lesson, not add another."""
    improver = make_improver()
    _ssh_timeouts(run_task, 3)
    improver.improve("devops")
    _ssh_timeouts(run_task, 2, start=3)
    improver.improve("devops")
    lessons = improver.all_lessons("devops")
    assert [lesson.support for lesson in lessons] == [5]
    assert "5× since" in lessons[0].text


def test_failures_already_learnt_are_not_counted_again(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """A second pass over the same records leaves the lesson's support unchanged."""
    _ssh_timeouts(run_task, 4)
    improver = make_improver()
    improver.improve("devops")
    report = improver.improve("devops")[0]
    assert report.failures_scanned == 0
    assert improver.all_lessons("devops")[0].support == 4


def test_merged_lesson_is_retrieved_for_a_deploy_task(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """The SSH lesson is what ``lessons_for`` returns for a production deploy task."""
    _ssh_timeouts(run_task, 5)
    run_task(
        "db-1",
        "migrate the orders database schema",
        ["terraform_apply"],
        task_type="db_migration",
        args={"terraform_apply": {"workspace": "prod-db"}},
    )
    improver = make_improver()
    improver.improve("devops")
    found = improver.lessons_for("deploy the web app to production", k=1, agent_id="devops")
    assert len(found) == 1
    assert "SSHTimeout" in found[0]


def test_curation_keeps_at_most_max_lessons(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """With max_lessons=1, the better-supported lesson stays and the other is dropped."""
    _ssh_timeouts(run_task, 3)
    run_task(
        "tf-1",
        "create the staging network",
        ["kubectl_deploy"],
        task_type="network_setup",
        args={"kubectl_deploy": {"replicas": "many"}},  # invalid: a validation failure
    )
    improver = make_improver(max_lessons=1)
    report = improver.improve("devops")[0]
    assert report.lessons_added == 2
    assert report.lessons_dropped == 1
    assert [lesson.tool for lesson in improver.all_lessons("devops")] == ["ansible_run"]
    [dropped] = [e for e in improver.audit("devops") if e.kind == "lesson.dropped"]
    assert "kubectl_deploy" in dropped.before


def test_chat_model_writes_the_lesson(
    run_task: Runner,
    make_improver: Callable[..., Improver],
    scripted: Callable[..., object],
) -> None:
    """With a chat model configured, its one-sentence answer becomes the lesson."""
    _ssh_timeouts(run_task, 3)
    sentence = "Check SSH reachability of production hosts before running ansible_run."
    improver = make_improver(chat_model=scripted(sentence))
    improver.improve("devops")
    lessons = improver.all_lessons("devops")
    assert [(lesson.text, lesson.source) for lesson in lessons] == [(sentence, "model")]


def test_malformed_lesson_from_the_model_changes_nothing(
    run_task: Runner,
    make_improver: Callable[..., Improver],
    scripted: Callable[..., object],
) -> None:
    """A rambling multi-line answer is ignored: no lesson is stored, none is audited."""
    _ssh_timeouts(run_task, 3)
    improver = make_improver(chat_model=scripted("Well,\n- maybe SSH\n- maybe DNS\n"))
    report = improver.improve("devops")[0]
    assert report.lessons_rejected == 1
    assert improver.all_lessons("devops") == []
    assert not [e for e in improver.audit("devops") if e.kind.startswith("lesson.")]


def test_similar_failures_in_another_environment_merge_into_one_lesson(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """SSH timeouts in production and production-eu are one rule, merged by similarity."""
    _ssh_timeouts(run_task, 3)
    run_task(
        "eu-1",
        "deploy shop release 9 to production",
        ["ansible_run"],
        environment="production-eu",
        args={"ansible_run": {"hosts": "prod-web"}},
    )
    improver = make_improver()
    report = improver.improve("devops")[0]
    assert report.lessons_merged == 1
    [lesson] = improver.all_lessons("devops")
    assert lesson.support == 4
    assert "4× since" in lesson.text
    assert " in production" not in lesson.text  # generalised: it happened in both
    assert "lesson.merged" in {e.kind for e in improver.audit("devops")}


def test_another_tool_failing_alike_keeps_its_own_lesson(
    run_task: Runner, make_improver: Callable[..., Improver], tw: Toolwise, clock: Any
) -> None:
    """A different tool with the same SSH timeout is not merged away: each rule names its tool."""
    _ssh_timeouts(run_task, 3)
    improver = make_improver()
    improver.improve("devops")
    for i in range(2):
        tw.record(
            agent_id="devops",
            tool="terraform_apply",
            outcome="failure",
            error_type="SSHTimeout",
            error_message="ssh to prod-web-3 timed out after 30s",
            task=f"deploy shop release {i} to production",
            task_type="production_deploy",
            environment="production",
            timestamp=clock.advance(),
        )
    improver.improve("devops")
    assert sorted(lesson.tool for lesson in improver.all_lessons("devops")) == [
        "ansible_run",
        "terraform_apply",
    ]


def test_the_models_invalid_arguments_become_a_lesson_of_their_own(
    tw: Toolwise, clock: Any, make_improver: Callable[..., Improver]
) -> None:
    """A pass learns from the model's argument mistakes too, and says they were the model's
    (issue 14 item 6): not a lesson that the tool fails."""
    for i in range(3):
        tw.record(
            agent_id="devops",
            tool="kubectl_deploy",
            outcome="invalid_arguments",
            error_type="ValidationError",
            error_message="replicas: Input should be a valid integer",
            task_type="production_deploy",
            timestamp=clock.advance(),
            session_id=f"s{i}",
        )
    improver = make_improver()
    [report] = improver.improve("devops")
    [lesson] = improver.all_lessons("devops")
    assert report.failures_scanned == 3
    assert lesson.text.startswith("the model called kubectl_deploy with invalid arguments")
