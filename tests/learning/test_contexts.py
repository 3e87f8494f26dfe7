"""Context keys: environments apart or pooled, and time buckets."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from toolwise.learning import LearningConfig, ReliabilityView

if TYPE_CHECKING:
    from conftest import FakeClock


def test_environments_are_kept_apart(view: ReliabilityView) -> None:
    """Failures in staging leave the production estimate untouched."""
    for _ in range(10):
        view.observe("ansible_run", True, context_class="deploy", environment="production")
        view.observe("ansible_run", False, context_class="deploy", environment="staging")
    (prod,) = view.priors(environment="production")
    (staging,) = view.priors(environment="staging")
    assert prod.rate > 0.9
    assert staging.rate < 0.1


def test_a_new_environment_does_not_borrow_from_another(view: ReliabilityView) -> None:
    """A tool's record in staging is not its prior in production."""
    for _ in range(20):
        view.observe("ansible_run", False, context_class="deploy", environment="staging")
    (top,) = view.recommend(
        task_type="deploy", tools=["ansible_run"], environment="production", strategy="greedy"
    )
    assert top.rate == pytest.approx(0.5)


def test_shared_environments_pool_evidence(clock: FakeClock) -> None:
    """With share_environments, staging and production learn together."""
    view = ReliabilityView(LearningConfig(share_environments=True), clock=clock)
    view.observe("ansible_run", True, context_class="deploy", environment="production")
    view.observe("ansible_run", False, context_class="deploy", environment="staging")
    (pooled,) = view.priors(environment="staging")
    assert pooled.observations == 2
    assert pooled.environment == ""


def _friday_freeze(view: ReliabilityView, start: datetime, weeks: int) -> None:
    """terraform fails on Friday afternoons and works otherwise; kubectl is steady at 85 %."""
    rng = random.Random(7)
    for day in range(weeks * 7):
        for hour in range(9, 18):
            moment = start + timedelta(days=day, hours=hour)
            frozen = moment.weekday() == 4 and hour >= 12
            terraform = rng.random() < (0.05 if frozen else 0.97)
            kubectl = rng.random() < 0.85
            view.observe("terraform_apply", terraform, context_class="deploy", timestamp=moment)
            view.observe("kubectl_deploy", kubectl, context_class="deploy", timestamp=moment)


def test_time_buckets_learn_the_friday_change_freeze() -> None:
    """With weekday × daypart buckets, Friday afternoon and Tuesday morning rank differently."""
    start = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
    end = start + timedelta(weeks=6)
    view = ReliabilityView(LearningConfig(time_buckets="weekday_daypart"), clock=lambda: end)
    _friday_freeze(view, start, weeks=6)
    tools = ["terraform_apply", "kubectl_deploy"]
    friday = datetime(2025, 2, 21, 15, tzinfo=UTC)
    tuesday = datetime(2025, 2, 18, 10, tzinfo=UTC)
    on_friday = view.recommend(task_type="deploy", tools=tools, strategy="greedy", now=friday)
    on_tuesday = view.recommend(task_type="deploy", tools=tools, strategy="greedy", now=tuesday)
    assert on_friday[0].tool == "kubectl_deploy"
    assert on_tuesday[0].tool == "terraform_apply"


def test_time_bucket_priors_are_listed_by_label() -> None:
    """priors(time_bucket=...) shows what a bucket has learnt."""
    start = datetime(2025, 1, 6, tzinfo=UTC)
    view = ReliabilityView(
        LearningConfig(time_buckets="weekday_daypart"), clock=lambda: start + timedelta(weeks=6)
    )
    _friday_freeze(view, start, weeks=6)
    (frozen,) = view.priors(tool="terraform_apply", time_bucket="fri-afternoon")
    (plain,) = view.priors(tool="terraform_apply")
    assert frozen.rate < 0.3
    assert plain.rate > 0.7
    assert frozen.time_bucket == "fri-afternoon"


def test_time_buckets_read_the_configured_time_zone() -> None:
    """A bucket is read in local time: 23:00 UTC on Thursday is Friday morning in Tokyo."""
    moment = datetime(2025, 1, 9, 23, tzinfo=UTC)
    view = ReliabilityView(
        LearningConfig(time_buckets="weekday_daypart", time_zone="Asia/Tokyo"),
        clock=lambda: moment,
    )
    view.observe("a", True, timestamp=moment)
    assert [p.time_bucket for p in view.priors(time_bucket=None)] == ["", "fri-morning"]
