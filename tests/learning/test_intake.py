"""Observation intake: what is charged, what is ignored, seeds, forgetting and concurrent
observers (``learning/intake.py``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.learning import ReliabilityView
from toolwise.models import ToolOutcome

if TYPE_CHECKING:
    from conftest import FakeClock

MOMENT = datetime(2025, 1, 6, tzinfo=UTC)
THREADS = 8
PER_THREAD = 1_000


def test_partial_outcome_counts_as_fractional_success(view: ReliabilityView) -> None:
    """A partial with quality 0.5 adds half a success and half a failure."""
    view.observe_outcome(ToolOutcome(tool="web_search", outcome="partial", quality=0.5))
    (prior,) = view.priors()
    assert (prior.successes, prior.failures) == pytest.approx((0.5, 0.5))


def test_refused_outcomes_are_not_charged(view: ReliabilityView) -> None:
    """A human declining a confirmation says nothing about the tool."""
    view.observe_outcome(ToolOutcome(tool="db_drop", outcome="refused"))
    assert view.priors() == []
    assert view.stats()["ignored_refused"] == 1


def test_seeded_prior_acts_as_pseudo_counts(view: ReliabilityView) -> None:
    """A seed of 90 % at strength 10 adds 9 pseudo-successes and 1 pseudo-failure."""
    view.seed_prior("kubectl_deploy", 0.9, 10.0)
    prior = view.observe("kubectl_deploy", False)
    assert (prior.alpha, prior.beta) == pytest.approx((1.0 + 9.0, 1.0 + 1.0 + 1.0))


def test_the_most_specific_seed_wins(view: ReliabilityView) -> None:
    """A task-type seed overrides the tool-wide seed for that task type."""
    view.seed_prior("kubectl_deploy", 0.2, 10.0)
    view.seed_prior("kubectl_deploy", 0.9, 10.0, task_type="deploy")
    deploy = view.observe("kubectl_deploy", True, context_class="deploy", weight=0.0)
    other = view.observe("kubectl_deploy", True, context_class="search", weight=0.0)
    assert deploy.rate > 0.8
    assert other.rate < 0.3


def test_forget_drops_a_retired_tool(view: ReliabilityView) -> None:
    """forget(agent, tool) removes that tool's aggregates and keeps the others."""
    view.observe("ansible_run", False, context_class="deploy")
    view.observe("kubectl_deploy", True, context_class="deploy")
    view.forget("default", "ansible_run")
    assert [p.tool for p in view.priors()] == ["kubectl_deploy"]


def test_forget_without_tool_drops_the_agent(view: ReliabilityView) -> None:
    """forget(agent) removes every aggregate and task type of the agent."""
    view.observe("ansible_run", False, context_class="deploy")
    view.forget("default")
    assert view.priors() == []
    assert view.known_task_types("default") == []


def test_an_already_expired_outcome_is_ignored(view: ReliabilityView, clock: FakeClock) -> None:
    """An outcome whose expires_at has passed is not learnt from."""
    view.observe_outcome(
        ToolOutcome(
            tool="a",
            outcome="failure",
            timestamp=clock.now - timedelta(days=31),
            expires_at=clock.now - timedelta(days=1),
        )
    )
    assert view.priors() == []
    assert view.stats()["ignored_expired"] == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"rate": 1.2}, "rate"), ({"rate": 0.5, "strength": -1.0}, "strength")],
)
def test_bad_seed_prior_names_the_argument(
    view: ReliabilityView, kwargs: dict[str, Any], field: str
) -> None:
    """A seeded prior outside its range is rejected naming the argument."""
    with pytest.raises(InvalidArgumentError) as caught:
        view.seed_prior("kubectl_deploy", **kwargs)
    assert caught.value.field == field


def _hammer(view: ReliabilityView, barrier: threading.Barrier, n: int) -> None:
    barrier.wait()
    for i in range(PER_THREAD):
        view.observe_outcome(
            ToolOutcome(tool="search", outcome="success", timestamp=MOMENT, latency_ms=float(i))
        )
        view.observe_outcome(
            ToolOutcome(tool="scrape", agent_id="other", outcome="failure", timestamp=MOMENT)
        )
        if i % 100 == n:
            view.recommend(task_type="", tools=["search", "scrape"], seed=i)


def test_eight_threads_observing_concurrently_lose_nothing() -> None:
    """8 threads × 1,000 outcomes per key give exact counts and masses."""
    view = ReliabilityView(clock=lambda: MOMENT)
    barrier = threading.Barrier(THREADS)
    workers = [
        threading.Thread(target=_hammer, args=(view, barrier, n), name=f"observer-{n}")
        for n in range(THREADS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    (search,) = view.priors()
    (scrape,) = view.priors(agent_id="other")
    total = THREADS * PER_THREAD
    assert (search.observations, scrape.observations) == (total, total)
    assert search.successes == pytest.approx(total)
    assert scrape.failures == pytest.approx(total)
    assert view.stats()["observed"] == 2 * total
