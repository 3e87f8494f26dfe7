"""Reads for the brief: lessons and demonstrations by similarity, within a budget, with ``k``
checked (``improve.knowledge.KnowledgeReader``, which ``Improver`` extends)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.improve import Improver

Runner = Callable[..., None]  # the run_task fixture


def _ssh_timeouts(run_task: Runner, count: int) -> None:
    for i in range(count):
        run_task(
            f"timeout-{i}",
            f"deploy shop release {i} to production",
            ["ansible_run"],
            args={"ansible_run": {"hosts": "prod-web"}},
        )


def test_a_negative_budget_names_budget_chars(make_improver: Callable[..., Improver]) -> None:
    """``lessons_for`` refuses a budget below zero, naming it, before reading anything."""
    with pytest.raises(InvalidArgumentError) as caught:
        make_improver().lessons_for("deploy", budget_chars=-1)
    assert caught.value.field == "budget_chars"


def test_lessons_for_stays_within_the_budget(
    run_task: Runner, make_improver: Callable[..., Improver]
) -> None:
    """A budget smaller than the lesson returns nothing rather than a cut sentence."""
    _ssh_timeouts(run_task, 2)
    improver = make_improver()
    improver.improve("devops")
    assert improver.lessons_for("deploy to production", budget_chars=40, agent_id="devops") == []


def test_bad_k_names_k(make_improver: Callable[..., Improver]) -> None:
    """Asking for zero examples is refused naming ``k``."""
    with pytest.raises(InvalidArgumentError) as caught:
        make_improver().examples("deploy", k=0)
    assert caught.value.field == "k"
