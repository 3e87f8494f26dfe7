"""The improvement loop: one bounded pass, triggered on demand or after N failures, and an
audit trail in which every change appears."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from toolwise import Toolwise
from toolwise.errors import InvalidArgumentError
from toolwise.improve import ImproveConfig, Improver, MemoryKnowledgeStore, format_audit
from toolwise.improve.sandbox import default_sandbox
from toolwise.models import ToolOutcome

Runner = Callable[..., None]  # the run_task fixture
RELEASE = ["terraform_apply", "helm_upgrade", "kubectl_deploy"]
PROMPT = """You are a DevOps agent for the shop platform.
Deploy services with kubectl_deploy or helm_upgrade.
Use helm for releases that have a chart.
Never change production during a change freeze."""


def _timeouts(run_task: Runner, count: int) -> None:
    for i in range(count):
        run_task(
            f"t{i}", f"deploy shop {i}", ["ansible_run"], args={"ansible_run": {"hosts": "prod"}}
        )


def _failure(agent_id: str = "devops") -> ToolOutcome:
    return ToolOutcome(agent_id=agent_id, tool="ansible_run", outcome="failure")


@pytest.mark.skipif(
    not default_sandbox().support.available, reason="proposing a composite needs the OS sandbox"
)
def test_every_change_appears_in_the_audit_trail(
    tw: Toolwise,
    run_task: Runner,
    make_improver: Callable[..., Improver],
    scripted: Callable[..., Any],
    clock: Any,
) -> None:
    """Lessons, demonstrations, composites and prompt revisions are all audited with reasons."""
    _timeouts(run_task, 3)
    for i in range(3):
        run_task(f"r{i}", f"release web {i}", RELEASE)
    model = scripted(
        "Check SSH reachability before ansible_run.",
        f"<prompt>\n{PROMPT}\nCheck SSH before ansible_run.\n</prompt>",
    )
    improver = make_improver(chat_model=model)
    improver.configure_refinement(
        "devops", prompt=PROMPT, validation_tasks=["deploy"], evaluate=lambda p, t: 1.0
    )
    [report] = improver.improve("devops")
    composite = improver.composites("devops")[0].name
    for _ in range(10):  # the composite's own record earns its promotion
        tw.record(agent_id="devops", tool=composite, timestamp=clock.advance())
    improver.review_composites("devops")
    improver.rollback("devops", reason="reviewed by a human")
    kinds = {e.kind for e in improver.audit("devops", limit=100)}
    assert kinds >= {
        "lesson.added",
        "demonstration.added",
        "composite.proposed",
        "composite.promoted",
        "prompt.revised",
        "prompt.rolled_back",
    }
    assert report.refinement is not None
    assert report.refinement.accepted
    assert all(e.reason for e in improver.audit("devops", limit=100))


def test_format_audit_shows_before_and_after(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """The CLI rendering names the change, its reason, and what it changed to."""
    _timeouts(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    text = format_audit(improver.audit("devops"))
    assert "lesson.added" in text
    assert "after:  ansible_run failed with SSHTimeout" in text


def test_audit_since_leaves_out_older_changes(
    run_task: Runner, make_improver: Callable[..., Improver], clock: Any
) -> None:
    """``since`` returns only the changes made from that moment on."""
    _timeouts(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    later = clock.advance(timedelta(hours=1))
    run_task("r0", "release web", RELEASE)
    improver.improve("devops")
    kinds = [e.kind for e in improver.audit("devops", since=later)]
    assert kinds == ["demonstration.added"]


def test_notify_runs_a_pass_in_the_background_after_n_failures(
    tw: Toolwise, run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """The third failure reported starts a background pass that learns the lesson."""
    _timeouts(run_task, 3)
    improver = make_improver(background=True, improve_after_failures=3)
    for _ in range(3):
        improver.notify(_failure())
    assert improver.close(timeout=30.0)
    assert len(improver.all_lessons("devops")) == 1


def test_prompt_is_not_refined_unless_configured(
    run_task: Runner, make_improver: Callable[..., Improver], scripted: Callable[..., Any]
) -> None:
    """A pass with a chat model but no refinement plan leaves prompts alone."""
    _timeouts(run_task, 2)
    improver = make_improver(chat_model=scripted("Check SSH before ansible_run."))
    [report] = improver.improve("devops")
    assert report.refinement is None
    assert improver.prompt_history("devops") == []


def test_a_pass_reads_at_most_max_records(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """With max_records=2 a pass scans two records, the newest."""
    _timeouts(run_task, 5)
    improver = make_improver(max_records=2)
    [report] = improver.improve("devops")
    assert report.records_scanned == 2
    assert improver.all_lessons("devops")[0].support == 2


def test_forgetting_a_tool_drops_what_was_learnt_from_it(
    tw: Toolwise, run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """``tw.forget(tool=...)`` drops the tool's lessons too, and both steps are audited."""
    _timeouts(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    tw.forget("devops", tool="ansible_run")
    assert improver.all_lessons("devops") == []
    kinds = {e.kind for e in improver.audit("devops")}
    assert {"lesson.dropped", "records.forgotten"} <= kinds


def test_lessons_survive_a_new_improver_on_the_same_store(
    tw: Toolwise, run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """Lessons live in Chroma, so a fresh Improver (e.g. after a restart) still finds them."""
    _timeouts(run_task, 2)
    make_improver().improve("devops")
    fresh = Improver(tw.store, embedding=tw.runtime.embedding)
    assert len(fresh.all_lessons("devops")) == 1


def test_a_custom_knowledge_store_is_used(tw: Toolwise, run_task: Runner) -> None:
    """``store=`` keeps lessons where the caller says (here: in memory)."""
    store = MemoryKnowledgeStore()
    _timeouts(run_task, 2)
    improver = Improver(
        tw.store, embedding=tw.runtime.embedding, store=store, clock=tw.clock, flush=tw.flush
    )
    improver.improve("devops")
    assert len(store.load("lessons", "devops")) == 1


def test_bad_config_names_the_field() -> None:
    """A config value out of range fails when built, naming the field."""
    with pytest.raises(InvalidArgumentError) as caught:
        ImproveConfig(max_changed_lines=0)
    assert caught.value.field == "max_changed_lines"
